/**
 * CoAP over DTLS against real clients: libcoap's coap-client-openssl (OpenSSL's DTLS 1.2, PSK) and
 * Eclipse Wakaama's lwm2mclient-dtls (tinydtls, TLS_PSK_WITH_AES_128_CCM_8). Under CI a missing
 * tool fails; locally it is a skip with the reason.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BulwarkError } from '@bulwark/protocol';
import { startCoapsServer, type CoapClient } from '../../src/coap/index.js';
import { CHANNEL, FakeHooks, IN_CI, path, until } from './helpers.js';
import { handshake } from '../dtls/raw-client.js';
import { CON, decode, encode } from './wire.js';

const run = promisify(execFile);

/** A UDP port free right now (Wakaama's client binds 56830 unless told; tests run in parallel). */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return port;
}
const BIN = 'coap-client-openssl';
const present = spawnSync(BIN, ['-h']).error === undefined;
const skip = present || IN_CI ? false : `${BIN} not installed (apt-get install libcoap3-bin)`;
// `../shared` beside the repository root (dist/test/coap → repository root is five levels up).
const WAKAAMA = fileURLToPath(
  new URL('../../../../../../shared/tools/lwm2m/lwm2mclient-dtls', import.meta.url),
);
const skipWakaama = existsSync(WAKAAMA) || IN_CI ? false : `${WAKAAMA} not present`;

const KEY = 'k3y-0123456789ab'; // 16 ASCII bytes: coap-client's -k takes the key as text
const WAKAAMA_KEY = '000102030405060708090a0b0c0d0e0f';

/** Fake hooks with PSK identities: `dev-psk` (KEY), `wk` (Wakaama's key); `quarantined` is refused. */
class PskHooks extends FakeHooks {
  readonly pskCalls: { identity: string; ref: string }[] = [];
  quarantined = new Set<string>();

  async authenticatePsk(identity: string, ref: string): Promise<CoapClient | undefined> {
    this.pskCalls.push({ identity, ref });
    if (this.quarantined.has(identity)) {
      throw new BulwarkError('device_quarantined', 'the device is quarantined');
    }
    return { type: 'device', id: `dev-${identity}`, orgId: 'org-1' };
  }
}

async function start() {
  const hooks = new PskHooks();
  const keys = new Map([
    ['dev-psk', Buffer.from(KEY)],
    ['quarantined-one', Buffer.from(KEY)],
    ['wk', Buffer.from(WAKAAMA_KEY, 'hex')],
  ]);
  const server = await startCoapsServer({
    port: 0,
    host: '127.0.0.1',
    hooks,
    maxPayloadBytes: 8192,
    psk: async (identity) => {
      const key = keys.get(identity);
      return key === undefined ? undefined : { key, ref: `ref-${identity}` };
    },
  });
  return { server, hooks };
}

/** Runs coap-client-openssl and returns what it logged. */
async function coap(args: string[]): Promise<string> {
  const r = await run(BIN, ['-v', '6', ...args], { timeout: 20_000 });
  return `${r.stdout}\n${r.stderr}`;
}

const codes = (out: string): string[] =>
  [...out.matchAll(/v:1 t:(?:ACK|CON|NON) c:(\d\.\d\d)/g)]
    .map((m) => m[1]!)
    .filter((c) => c !== '0.00');

describe(`${BIN} against CoAP over DTLS (PSK)`, { skip }, () => {
  const senml = '[{"bn":"dev-1/","n":"temp","u":"Cel","v":21.5}]';
  const post = (port: number, identity: string, key: string, query = ''): string[] => [
    '-m',
    'post',
    '-t',
    '110',
    '-B',
    '5',
    '-u',
    identity,
    '-k',
    key,
    '-e',
    senml,
    `coaps://127.0.0.1:${port}/channels/${CHANNEL}/messages/room${query}`,
  ];

  it('posts SenML over DTLS-PSK: 2.04, into ingest as the identity’s device', async () => {
    assert.ok(present, `${BIN} must be installed in CI`);
    const { server, hooks } = await start();
    try {
      const out = await coap(post(server.port, 'dev-psk', KEY));
      assert.deepEqual(codes(out), ['2.04'], out);
      const m = hooks.ingested.at(-1);
      assert.equal(m?.client.id, 'dev-dev-psk');
      assert.equal(Buffer.from(m?.m.payload ?? []).toString(), senml);
      assert.equal(m?.m.contentType, 'application/senml+json');
      assert.deepEqual(hooks.pskCalls.at(-1), { identity: 'dev-psk', ref: 'ref-dev-psk' });
      assert.equal(server.dtlsStats().handshakesCompleted, 1);
    } finally {
      await server.close();
    }
  });

  it('an auth query is not a credential over DTLS: the identity decides, the query is ignored', async () => {
    assert.ok(present, `${BIN} must be installed in CI`);
    const { server, hooks } = await start();
    try {
      const out = await coap(post(server.port, 'dev-psk', KEY, '?auth=dev-9:s3cret'));
      assert.deepEqual(codes(out), ['2.04'], out);
      assert.equal(hooks.authCalls.length, 0, 'the device-key hook is never asked');
      assert.equal(hooks.ingested.at(-1)?.client.id, 'dev-dev-psk');
    } finally {
      await server.close();
    }
  });

  it('a wrong key and an unknown identity get no CoAP exchange at all', async () => {
    assert.ok(present, `${BIN} must be installed in CI`);
    const { server, hooks } = await start();
    try {
      const wrong = await coap(post(server.port, 'dev-psk', 'not-the-right-key'));
      assert.deepEqual(codes(wrong), [], wrong);
      const unknown = await coap(post(server.port, 'nobody', KEY));
      assert.deepEqual(codes(unknown), [], unknown);
      assert.equal(hooks.ingested.length, 0);
      assert.equal(hooks.pskCalls.length, 0);
      assert.equal(server.dtlsStats().handshakesFailed, 2);
      assert.equal(server.dtlsStats().sessions, 0);
    } finally {
      await server.close();
    }
  });

  it('a quarantined device completes the handshake but its request is refused (4.03)', async () => {
    assert.ok(present, `${BIN} must be installed in CI`);
    const { server, hooks } = await start();
    hooks.quarantined.add('quarantined-one');
    try {
      const out = await coap(post(server.port, 'quarantined-one', KEY));
      assert.deepEqual(codes(out), ['4.03'], out);
      assert.equal(hooks.ingested.length, 0);
    } finally {
      await server.close();
    }
  });
});

describe(
  'Wakaama lwm2mclient-dtls (tinydtls) against CoAP over DTLS',
  { skip: skipWakaama },
  () => {
    it('completes a DTLS-PSK handshake (AES-128-CCM-8) and its first CoAP request reaches the stack', async () => {
      assert.ok(existsSync(WAKAAMA), `${WAKAAMA} must be present in CI`);
      const { server, hooks } = await start();
      // Its stdin stays open (with stdin at EOF it spins); its registration is a POST /rd.
      const child = spawn(
        WAKAAMA,
        [
          '-4',
          '-h',
          '127.0.0.1',
          '-p',
          String(server.port),
          '-n',
          'ep-1',
          '-i',
          'wk',
          '-s',
          WAKAAMA_KEY,
          '-l',
          String(await freePort()),
        ],
        { stdio: ['pipe', 'ignore', 'ignore'] },
      );
      try {
        // Its POST /rd is a path this adapter does not serve (LwM2M is another slice): the CoAP
        // engine answers it 4.04 after the DTLS layer decrypted it.
        await until(() => server.stats().requests > 0, 15_000, 'the first request over DTLS');
        assert.equal(server.dtlsStats().handshakesCompleted, 1);
        assert.ok(server.stats().refused >= 1);
        void hooks;
      } finally {
        child.kill('SIGKILL');
        await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
        await server.close();
      }
    });
  },
);

describe('CoAP engine over DTLS (raw client)', () => {
  it('a repeated Confirmable POST is answered from the cache and ingested once (RFC 7252 §4.5)', async () => {
    const { server, hooks } = await start();
    const c = await handshake(server.port, 'dev-psk', Buffer.from(KEY));
    try {
      const req = encode({
        type: CON,
        code: '0.02',
        mid: 0x1234,
        token: Buffer.from([1, 2]),
        options: path(CHANNEL, ['dup'], null),
        payload: Buffer.from('[{"n":"d","v":1}]'),
      });
      c.send(req);
      const first = decode((await c.recv())!);
      c.send(req); // the same message again, in a new record (as a retransmission is)
      const second = decode((await c.recv())!);
      assert.equal(first.code, '2.04');
      assert.equal(second.code, '2.04');
      assert.equal(second.mid, 0x1234);
      assert.equal(hooks.ingested.length, 1);
    } finally {
      c.close();
      await server.close();
    }
  });
});
