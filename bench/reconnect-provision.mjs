// Provisioning for bench/reconnect.mjs, on the hub's data dir while the hub is stopped — the
// local-operator path (`bulwark admin` acts on a data dir the same way), because ten thousand
// enrollments over HTTPS take longer than the measurement itself. Each device still gets its own
// P-256 key (made here) and a certificate from the organization's CA through the real enrollment
// (one-time token + CSR → PkiService.enroll), and publish rights on one channel.
import { generateDeviceKeyAndCsr } from '../packages/sdk/dist/src/index.js';
import { loadConfig } from '../packages/hub/dist/src/config.js';
import { openLocal } from '../packages/hub/dist/src/commands/local-context.js';

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
 * `count` devices on the data dir `dataDir` (hub stopped). Returns { channelId, devices:
 * [{clientId, key, cert}], chain, hubCa, ms }; `cert` is the device certificate and its issuing
 * CA, as the agent presents them.
 */
export async function provisionLocal({ dataDir, count, prefix = 'rc', onProgress }) {
  const t0 = Date.now();
  const local = await openLocal(loadConfig(['--data-dir', dataDir], {}));
  try {
    const s = local.services;
    const [org] = await local.storage.organizations.list(1);
    if (!org) throw new Error('no organization in the data dir (create-owner first)');
    const channel = await s.messaging.createChannel(org.id, { name: `${prefix}-reconnect` });
    let chain = [];
    let hubCa = '';
    let done = 0;
    const devices = await pool(count, 8, async (i) => {
      const d = await s.devices.create(org.id, {
        name: `${prefix}-${String(i).padStart(5, '0')}`,
        type: 'bench',
      });
      await s.messaging.connect(org.id, channel.id, {
        clientType: 'device',
        clientId: d.id,
        publish: true,
        subscribe: false,
      });
      const { token } = await s.pki.createEnrollmentToken(org.id, d.id, null);
      const k = await generateDeviceKeyAndCsr();
      const e = await s.pki.enroll(token, k.csrPem);
      chain = e.chain;
      hubCa = e.hubCa;
      if (++done % 1000 === 0) onProgress?.(done);
      return { clientId: d.id, key: k.keyPem, cert: e.cert.certPem + e.chain[0] };
    });
    return { channelId: channel.id, devices, chain, hubCa, ms: Date.now() - t0 };
  } finally {
    await local.close();
  }
}
