/**
 * The local port driven by the tools a person on site uses: `openssl s_client` for a session, and
 * a `socat` pty pair standing in for the serial peripheral of `passthrough`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { LocalPortServer, openSerial, type SerialLink } from '../src/local/index.js';
import {
  LineClient,
  TestHost,
  enrollDevice,
  startTestHub,
  type EnrolledDevice,
  type TestHub,
} from './local-port-helpers.js';

/** Is a tool on PATH? Checked once before any server runs (nothing to block yet). */
const has = (tool: string, arg: string) =>
  spawnSync(tool, [arg], { stdio: 'ignore' }).error === undefined;
const need = (tool: string, arg: string): string | false => {
  if (has(tool, arg)) return false;
  if (process.env['CI'] === 'true') throw new Error(`${tool} is required under CI`);
  return `${tool} is not installed`;
};
const noOpenssl = need('openssl', 'version');
const noSocat = need('socat', '-V');

/** Runs a child to completion, collecting its output, bounded in time. */
function collect(
  child: ChildProcess,
  ms: number,
): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${ms} ms; stdout: ${out}\nstderr: ${err}`));
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('local management port with openssl s_client and a socat pty pair', () => {
  let t: TestHub;
  let device: EnrolledDevice;
  let host: TestHost;
  let server: LocalPortServer;
  let dir: string;
  let socat: ChildProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-localport-'));
    t = await startTestHub();
    device = await enrollDevice(t.owner, t.anon, 'tools-1');
    host = new TestHost(device);
    server = new LocalPortServer({
      host,
      port: 0,
      bindAddress: '127.0.0.1',
      serialDevice: join(dir, 'A'),
    });
    await server.start();
  });
  after(async () => {
    socat?.kill('SIGTERM');
    await server.stop();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'a session driven by openssl s_client: TLS 1.2+, ticket, get, set, list, quit',
    { skip: noOpenssl },
    async () => {
      const { ticket } = await t.owner.tickets.issue(device.id, { perm: 'operate' });
      const caFile = join(dir, 'org-ca.pem');
      writeFileSync(caFile, device.chain.join(''));
      const child = spawn(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${server.port}`,
          '-CAfile',
          caFile,
          '-quiet',
          '-tls1_2',
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      const done = collect(child, 20_000);
      // Type as a person would, one line after the other, waiting for each reply.
      let seen = '';
      child.stdout?.on('data', (d: Buffer) => (seen += d.toString()));
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 200 && !re.test(seen); i++) await new Promise((r) => setTimeout(r, 25));
        assert.match(seen, re);
      };
      await waitFor(/BULWARK-LOCAL 1/);
      child.stdin?.write(`ticket ${ticket}\n`);
      await waitFor(/OK ticket accepted/);
      child.stdin?.write('get logging.level\nset network.hostname "site-7"\nlist network\nquit\n');
      const { out, err } = await done;
      const lines = out.split(/\r?\n/).filter((l) => l !== '');
      assert.match(lines[0] ?? '', new RegExp(`^BULWARK-LOCAL 1 device=${device.id} `));
      assert.match(lines[1] ?? '', /^OK ticket accepted perm=operate/);
      assert.deepEqual(lines.slice(2), [
        'OK "info"',
        'OK network.hostname = "site-7"',
        'OK {"network.hostname":"site-7"}',
        'OK bye',
      ]);
      assert.equal(host.params.get('network.hostname'), 'site-7');
      assert.doesNotMatch(err, /handshake failure|alert/i);
    },
  );

  it(
    'TLS policy: only ECDHE + AEAD suites on 1.2 (CBC and CCM8 refused), 1.3 as is, no renegotiation — also after a credential reload',
    { skip: noOpenssl },
    async () => {
      const sClient = async (args: string[], input = 'Q\n', holdMs = 0) => {
        const child = spawn(
          'openssl',
          ['s_client', '-connect', `127.0.0.1:${server.port}`, ...args],
          {
            stdio: ['pipe', 'pipe', 'pipe'],
          },
        );
        child.stdin?.on('error', () => undefined);
        const done = collect(child, 15_000);
        child.stdin?.write(input);
        setTimeout(() => child.stdin?.end(), holdMs);
        const { out, err } = await done;
        return out + err;
      };
      const check = async (when: string) => {
        for (const weak of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES128-CCM8', 'AES128-SHA']) {
          const out = await sClient(['-tls1_2', '-cipher', weak]);
          assert.match(out, /Cipher is \(NONE\)/, `${when} ${weak}: ${out.slice(-300)}`);
        }
        const gcm = await sClient(['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
        assert.match(gcm, /Cipher is ECDHE-ECDSA-AES128-GCM-SHA256/, when);
        assert.match(await sClient(['-tls1_3']), /TLSv1\.3, Cipher is TLS_AES_/, when);
        const reneg = await sClient(['-tls1_2'], 'R\n', 1000);
        assert.match(reneg, /RENEGOTIATING/, when);
        assert.match(reneg, /no renegotiation/, `${when}: ${reneg.slice(-400)}`);
      };
      await check('at start');
      server.reloadCredentials(); // what a certificate renewal does
      await check('after reloadCredentials');
    },
  );

  it('refuses plain TCP: no banner, nothing read', async () => {
    const sock = netConnect({ host: '127.0.0.1', port: server.port });
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.write('ticket x\nget logging.level\n');
    await new Promise<void>((resolve) => sock.on('close', () => resolve()));
    assert.doesNotMatch(got, /BULWARK|OK/);
  });

  it('refuses TLS 1.1', { skip: noOpenssl }, async () => {
    const child = spawn(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${server.port}`, '-tls1_1', '-quiet'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child.stdin?.end();
    const { out } = await collect(child, 10_000);
    assert.doesNotMatch(out, /BULWARK-LOCAL/);
  });

  it(
    'passthrough forwards bytes to the serial peripheral and its reply back, until "~."',
    { skip: noSocat },
    async () => {
      socat = spawn(
        'socat',
        [
          '-d',
          '-d',
          `pty,raw,echo=0,link=${join(dir, 'A')}`,
          `pty,raw,echo=0,link=${join(dir, 'B')}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let socatLog = '';
      socat.stderr?.on('data', (d: Buffer) => (socatLog += d.toString()));
      for (let i = 0; i < 200 && !/starting data transfer loop/.test(socatLog); i++)
        await new Promise((r) => setTimeout(r, 25));
      assert.ok(existsSync(join(dir, 'A')) && existsSync(join(dir, 'B')), socatLog);

      // The peripheral: the far end of the pty pair.
      const peripheral: SerialLink = await openSerial(join(dir, 'B'));
      let received = Buffer.alloc(0);
      peripheral.input.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
      try {
        const c = await LineClient.connect(server.port, device);
        assert.match(await c.line(), /^BULWARK-LOCAL 1/);
        const { ticket } = await t.owner.tickets.issue(device.id, { perm: 'operate' });
        assert.match(await c.ask(`ticket ${ticket}`), /^OK ticket accepted/);
        assert.equal(
          await c.ask('passthrough'),
          `OK passthrough to ${join(dir, 'A')}; send a line "~." to end it`,
        );

        const payload = Buffer.from([0x41, 0x54, 0x0d, 0x00, 0xff, 0x7e, 0x2e, 0x21, 0x0a]); // AT\r \0 \xff ~.! \n
        c.socket.write(payload);
        for (let i = 0; i < 200 && received.length < payload.length; i++)
          await new Promise((r) => setTimeout(r, 25));
        assert.deepEqual(
          received,
          payload,
          'the bytes arrive unchanged (a "~." inside a line is data)',
        );

        peripheral.output.write(Buffer.from('OK\r\n\x01\x02'));
        assert.deepEqual(await c.bytes(6), Buffer.from('OK\r\n\x01\x02'));

        c.send('~.');
        assert.match(await c.line(), /^OK passthrough ended \(client\): 9 bytes sent, 6 received$/);
        assert.equal(await c.ask('get logging.level'), 'OK "info"', 'back in command mode');
        assert.equal(received.length, payload.length, 'the escape line is not forwarded');
        c.close();
        const ended = host.events.find((e) => e.detail['action'] === 'passthrough_ended');
        assert.equal(ended?.detail['toSerial'], 9);
        assert.equal(ended?.detail['fromSerial'], 6);
      } finally {
        peripheral.close();
      }
    },
  );

  it('passthrough without a configured or present serial device is refused cleanly', async () => {
    const h = new TestHost(device);
    const s = new LocalPortServer({ host: h, port: 0, bindAddress: '127.0.0.1' });
    await s.start();
    const missing = new LocalPortServer({
      host: h,
      port: 0,
      bindAddress: '127.0.0.1',
      serialDevice: join(dir, 'no-such-tty'),
    });
    await missing.start();
    try {
      for (const [srv, re] of [
        [s, /^ERR passthrough_unavailable /],
        [missing, /^ERR passthrough_failed .*ENOENT/],
      ] as const) {
        const c = await LineClient.connect(srv.port, device);
        await c.line();
        const { ticket } = await t.owner.tickets.issue(device.id, { perm: 'operate' });
        assert.match(await c.ask(`ticket ${ticket}`), /^OK/);
        assert.match(await c.ask('passthrough'), re);
        assert.equal(await c.ask('get logging.level'), 'OK "info"');
        c.close();
      }
    } finally {
      await s.stop();
      await missing.stop();
    }
  });
});
