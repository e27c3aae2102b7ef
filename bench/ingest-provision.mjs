// Provisioning for bench/ingest.mjs through the hub's own API, as an operator and devices would:
// one persisted channel, `count` publisher devices connected to it with publish rights and one
// subscriber device with subscribe rights, each enrolled with its own key (P-256, generated here)
// and a certificate from the organization's CA. Writes the identities to a file for the load child.
import { writeFileSync } from 'node:fs';
import { createClient, generateDeviceKeyAndCsr } from '../packages/sdk/dist/src/index.js';
import { httpsFetch } from '../packages/agent/dist/src/runtime/https-fetch.js';

/** Runs `fn` over 0..n-1 with at most `width` in flight. */
async function pool(n, width, fn) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, width) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/**
 * `locationId` places every device there (e.g. a gateway's site).
 * Returns { channelId, publishers: [{clientId, cert, key}], subscriber, chain (org CA PEMs),
 * hubCa, ms }; `file` receives the publishers as JSON.
 */
export async function provision({ url, ca, apiKey, count, file, prefix = 'bench', locationId }) {
  const t0 = Date.now();
  const api = createClient({ baseUrl: url, token: apiKey, fetch: httpsFetch({ ca }) });
  const channel = await api.call('createChannel', { body: { name: `${prefix}-ingest` } });
  let chain = [];
  let hubCa = '';
  const one = async (i, rights) => {
    const d = await api.devices.create({
      name: `${prefix}-${String(i).padStart(5, '0')}`,
      type: 'bench',
      ...(locationId ? { locationId } : {}),
    });
    await api.call('connectClient', {
      params: { id: channel.id },
      body: { clientType: 'device', clientId: d.id, ...rights },
    });
    const { token } = await api.devices.createEnrollmentToken(d.id, {});
    const k = await generateDeviceKeyAndCsr();
    const issued = await api.enroll({ token, csr: k.csrPem });
    chain = issued.chain;
    hubCa = issued.hubCa;
    // The device presents its certificate and the issuing CA, as the agent does.
    return { clientId: d.id, cert: issued.certificate + issued.chain[0], key: k.keyPem };
  };
  const publishers = await pool(count, 16, (i) => one(i, { publish: true, subscribe: false }));
  const subscriber = await one(count, { publish: false, subscribe: true });
  writeFileSync(file, JSON.stringify(publishers), { mode: 0o600 });
  return { channelId: channel.id, publishers, subscriber, chain, hubCa, ms: Date.now() - t0 };
}
