/**
 * The device edge as one rule (issue 11): every way in × every device state × every credential
 * kind, against a real hub. What each cell must do is written once, in core's policy:
 *
 * | device state        | admitted | channel data | management plane / updates |
 * |---------------------|----------|--------------|----------------------------|
 * | provisioned (key)   | yes      | yes          | yes                        |
 * | active              | yes      | yes          | yes                        |
 * | quarantined         | yes      | refused      | yes                        |
 * | decommissioned      | no       | —            | —                          |
 * | credential revoked  | no       | —            | —                          |
 *
 * and applications (API keys) are admitted on MQTT/TLS and WebSocket while their key is live.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, connectWs, publish } from './mqtt-helpers.js';

type State = 'provisioned' | 'active' | 'quarantined' | 'decommissioned' | 'revoked';
type Credential = 'certificate' | 'device_key';
type Transport = 'mqtt-tls' | 'mqtt-ws' | 'http' | 'ddi' | 'coap';
interface Dev {
  id: string;
  key: string;
  keyId: string;
  cert: string;
  keyPem: string;
  serial: string;
}
/** What one cell saw: admitted, and whether channel data and the device's own plane worked. */
interface Seen {
  admitted: boolean;
  channels?: boolean;
  plane?: boolean;
  /** The refusal as the transport spelled it (reason code, status + problem code, CoAP code). */
  refusal?: string;
}

const STATES: State[] = ['provisioned', 'active', 'quarantined', 'decommissioned', 'revoked'];
const CREDENTIALS: Credential[] = ['certificate', 'device_key'];
const TRANSPORTS: Transport[] = ['mqtt-tls', 'mqtt-ws', 'http', 'ddi', 'coap'];
const run = promisify(execFile);

/** The one expectation: the policy table above. */
function expected(state: State, transport: Transport): Omit<Seen, 'refusal'> {
  if (state === 'decommissioned' || state === 'revoked') return { admitted: false };
  const channels = state === 'active' || state === 'provisioned';
  // DDI is the updates plane only; CoAP and HTTP ingest carry channel data only.
  if (transport === 'ddi') return { admitted: true, plane: true };
  if (transport === 'http' || transport === 'coap') return { admitted: true, channels };
  return { admitted: true, channels, plane: true };
}

describe('the device edge: every transport × device state × credential kind', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  const devs = new Map<string, Dev>();

  const basic = (d: Dev) => `Basic ${Buffer.from(`${d.id}:${d.key}`).toString('base64')}`;

  async function makeDevice(name: string, state: State): Promise<Dev> {
    const d = await s.api.devices.create({ name, type: 'sensor' });
    const { key, deviceKey } = await s.api.devices.createKey(d.id);
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: true,
    });
    // A provisioned device has not enrolled (enrolling makes it active): it holds a key only.
    const dev: Dev = { id: d.id, key, keyId: deviceKey.id, cert: '', keyPem: '', serial: '' };
    if (state !== 'provisioned') {
      const { token } = await s.api.devices.createEnrollmentToken(d.id, {});
      const k = await generateDeviceKeyAndCsr();
      const enrolled = await t.client().enroll({ token, csr: k.csrPem });
      Object.assign(dev, { cert: enrolled.certificate, keyPem: k.keyPem, serial: enrolled.serial });
    }
    if (state === 'quarantined') await s.api.devices.update(d.id, { state: 'quarantined' });
    if (state === 'decommissioned') await s.api.devices.decommission(d.id);
    if (state === 'revoked') {
      await s.api.devices.revokeCertificate(d.id, dev.serial);
      await s.api.devices.revokeKey(d.id, dev.keyId);
    }
    return dev;
  }

  async function viaMqtt(d: Dev, c: Credential, ws: boolean): Promise<Seen> {
    const opts =
      c === 'certificate'
        ? { cert: d.cert, key: d.keyPem, clientId: d.id }
        : { username: d.id, password: d.key, clientId: d.id };
    let client;
    try {
      client = await (ws ? connectWs(t, opts) : connectTls(t, opts));
    } catch (err) {
      const code = (err as { code?: number }).code;
      return { admitted: false, refusal: code === undefined ? 'closed' : `0x${code.toString(16)}` };
    }
    try {
      const data = await publish(client, `channels/${channelId}/messages/m`, '1');
      const plane = await publish(
        client,
        `$devices/${d.id}/events`,
        JSON.stringify([{ kind: 'probe', severity: 'info', at: new Date().toISOString() }]),
        { contentType: 'application/json' },
      );
      return { admitted: true, channels: data === 0, plane: plane === 0 };
    } finally {
      client.end(true);
    }
  }

  async function viaHttp(d: Dev, c: Credential): Promise<Seen> {
    const res = await t.fetchWith(
      c === 'certificate' ? { cert: d.cert, key: d.keyPem } : undefined,
    )(`${t.url}/api/v1/channels/${channelId}/messages/m`, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        ...(c === 'device_key' ? { authorization: basic(d) } : {}),
      },
      body: 'x',
    });
    const body = (await res.json()) as { code?: string };
    if (res.status === 202) return { admitted: true, channels: true };
    if (body.code === 'device_quarantined') return { admitted: true, channels: false };
    return { admitted: false, refusal: `${res.status} ${body.code}` };
  }

  async function viaDdi(d: Dev, c: Credential): Promise<Seen> {
    const res = await t.fetchWith(
      c === 'certificate' ? { cert: d.cert, key: d.keyPem } : undefined,
    )(`${t.url}/${s.orgId}/controller/v1/${d.id}`, {
      headers: c === 'device_key' ? { authorization: `TargetToken ${d.key}` } : {},
    });
    const body = (await res.json()) as { code?: string };
    if (res.status === 200) return { admitted: true, plane: true };
    return { admitted: false, refusal: `${res.status} ${body.code}` };
  }

  async function viaCoap(d: Dev): Promise<Seen> {
    const url = `coap://127.0.0.1:${t.hub.info.coapPort}/channels/${channelId}/messages/m?auth=${d.id}:${d.key}`;
    // libcoap prints nothing for 2.04 and the code ("4.03 Forbidden") for a refusal.
    const r = await run('coap-client-notls', ['-m', 'post', '-e', 'x', url]).catch(
      (e: { stdout?: string; stderr?: string }) => ({
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }),
    );
    const code = /\b([45]\.\d\d)\b/.exec(`${r.stdout}\n${r.stderr}`)?.[1];
    if (code === undefined) return { admitted: true, channels: true };
    if (code === '4.03') return { admitted: true, channels: false, refusal: code };
    return { admitted: false, refusal: code };
  }

  before(async () => {
    // The matrix refuses some forty credentials from loopback on purpose: lift the flood throttle.
    t = await startTestHub(['--coap-port', '0', '--edge-failures-per-source', '1000']);
    s = await setupOwner(t);
    channelId = (await s.api.channels.create({ name: 'matrix' })).id;
    for (const state of STATES) {
      for (const c of CREDENTIALS) {
        for (const tr of TRANSPORTS) {
          devs.set(`${tr}/${state}/${c}`, await makeDevice(`m-${tr}-${state}-${c}`, state));
        }
      }
    }
  });
  after(() => t.close());

  for (const tr of TRANSPORTS) {
    for (const state of STATES) {
      for (const c of CREDENTIALS) {
        if (tr === 'coap' && c === 'certificate') continue; // CoAP carries device keys (DTLS: issue 17)
        if (state === 'provisioned' && c === 'certificate') continue; // it has none yet
        const want = expected(state, tr);
        const says = want.admitted
          ? `admitted; channel data ${want.channels === undefined ? 'n/a' : want.channels ? 'open' : 'refused'}; own plane ${want.plane === undefined ? 'n/a' : 'open'}`
          : 'refused';
        it(`${tr} × ${state} × ${c}: ${says}`, async () => {
          const d = devs.get(`${tr}/${state}/${c}`)!;
          const seen =
            tr === 'mqtt-tls' || tr === 'mqtt-ws'
              ? await viaMqtt(d, c, tr === 'mqtt-ws')
              : tr === 'http'
                ? await viaHttp(d, c)
                : tr === 'ddi'
                  ? await viaDdi(d, c)
                  : await viaCoap(d);
          const { refusal, ...got } = seen;
          assert.deepEqual(got, want, `refusal: ${refusal ?? '-'}`);
        });
      }
    }
  }

  describe('applications (API keys) on MQTT', () => {
    const keys: Record<'live' | 'revoked' | 'expired', string> = {
      live: '',
      revoked: '',
      expired: '',
    };
    before(async () => {
      for (const k of ['live', 'revoked', 'expired'] as const) {
        const r = await s.api.apiKeys.create({
          name: `app-${k}`,
          permissions: ['devices:read'],
          ...(k === 'expired' ? { expiresInDays: 1 } : {}),
        });
        keys[k] = r.key;
        await s.api.channels.connect(channelId, {
          clientType: 'api_key',
          clientId: r.apiKey.id,
          publish: true,
          subscribe: true,
        });
        if (k === 'revoked') await s.api.apiKeys.revoke(r.apiKey.id);
      }
    });
    for (const ws of [false, true]) {
      const via = ws ? 'mqtt-ws' : 'mqtt-tls';
      it(`${via} × live key: admitted, channel data open, no device plane`, async () => {
        const c = await (ws ? connectWs : connectTls)(t, {
          username: 'app',
          password: keys.live,
          clientId: `app-${via}`,
        });
        try {
          assert.equal(await publish(c, `channels/${channelId}/messages/a`, '1'), 0);
          assert.equal(
            await publish(c, `$devices/${[...devs.values()][0]!.id}/events`, '[]'),
            0x87,
          );
        } finally {
          c.end(true);
        }
      });
      it(`${via} × revoked key, expired key: refused with 0x86`, async () => {
        const saved = t.clock.t;
        t.clock.t += 2 * 86_400_000;
        try {
          for (const k of [keys.revoked, keys.expired]) {
            await assert.rejects(
              (ws ? connectWs : connectTls)(t, {
                username: 'app',
                password: k,
                clientId: `x-${via}`,
              }),
              (e: { code?: number }) => e.code === 0x86,
            );
          }
        } finally {
          t.clock.t = saved;
        }
      });
    }
  });
});
