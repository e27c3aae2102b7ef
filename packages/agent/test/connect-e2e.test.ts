/**
 * Remote access end to end (decision 0042): a real hub in this process (its relay tapped), a real
 * `bulwark agent` process with no listening port, `bulwark connect` as a process, all on loopback.
 * The device dials the relay out to the hub; TLS between the CLI and the device runs inside the
 * relayed stream, so the hub sees ciphertext only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { BulwarkClient } from '@bulwark/sdk';
import { BIN, spawnAgent, spawnLines, writeConfig, type AgentProcess } from './process-helpers.js';
import {
  cleanup,
  PASSWORD,
  provisionDevice,
  setupOwner,
  startTestHub,
  tempDir,
  waitFor,
  type TestHub,
} from './helpers.js';
import { dialLeg, Lines, tlsInside } from './tunnel-client.js';
import { openSerial, type SerialLink } from '../src/local/index.js';

const MARKER = 'PLAINTEXT-MARKER-7f3a9c';
// A socat pty pair stands in for the serial peripheral; under CI a missing socat is a failure.
const noSocat =
  spawnSync('socat', ['-V']).error !== undefined && process.env['CI'] !== 'true'
    ? 'socat is not installed'
    : false;

describe('bulwark connect: remote access through the hub relay', () => {
  let t: TestHub;
  let api: BulwarkClient;
  let owner: BulwarkClient;
  let apiKey: string;
  let foreign: BulwarkClient;
  let foreignToken: string;
  let deviceId: string;
  let agent: AgentProcess;
  let echo: Server;
  let echoPort: number;
  let dir: string;
  let socat: ChildProcess | undefined;
  /** Every byte the relay copied, both ways. */
  const relayed: Buffer[] = [];
  let relayedBytes = 0;

  const env = () => ({ BULWARK_HUB: t.url, BULWARK_CA: t.caFile, BULWARK_API_KEY: apiKey });
  // The test hub's clock stands still; tickets must be issued at the real time.
  const now = () => (t.clock.t = Date.now());
  const audit = async (action: string) =>
    (await owner.call('listAudit', { query: { action, limit: 100 } })).items;

  const openTunnel = async (target: string, body: Record<string, unknown> = {}) => {
    now();
    let last: unknown;
    for (let i = 0; i < 50; i++) {
      try {
        return await api.call('openTunnel', {
          params: { id: deviceId },
          body: { target, ...body },
        });
      } catch (err) {
        // Until the agent has subscribed to its tunnel offers.
        if ((err as { code?: string }).code !== 'device_not_connected') throw err;
        last = err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw last;
  };

  /** A tunnel opened with its own ticket: the operator leg, TLS inside, banner read. */
  const operatorLeg = async (target: string, body: Record<string, unknown> = {}) => {
    const tun = await openTunnel(target, body);
    const raw = await dialLeg({
      url: t.url,
      path: tun.relayPath,
      secret: tun.secret,
      ca: t.ca,
      bearer: apiKey,
    });
    const { tls, fingerprint } = await tlsInside(raw);
    assert.ok(tun.pins.includes(fingerprint), 'the device presents a pinned certificate');
    const lines = new Lines(tls);
    const banner = await lines.line();
    return { tun, tls, lines, banner };
  };

  before(async () => {
    t = await startTestHub([], {
      relayTap: (_to, chunk) => {
        // Bounded: the tests move a few MB at most; past 64 MB stop keeping copies.
        if (relayedBytes < 64 * 1024 * 1024) relayed.push(Buffer.from(chunk));
        relayedBytes += chunk.length;
      },
    });
    const s = await setupOwner(t);
    api = s.api;
    apiKey = s.apiKey;
    const tokens = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    owner = t.client(tokens.accessToken);
    const org2 = await owner.orgs.create({ name: 'Other Co' });
    foreignToken = (
      await t.client().auth.login({
        email: 'owner@example.com',
        password: PASSWORD,
        organizationId: org2.id,
      })
    ).accessToken;
    foreign = t.client(foreignToken);

    echo = createServer((c) => {
      c.on('error', () => c.destroy());
      c.pipe(c);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    echoPort = (echo.address() as { port: number }).port;

    const channelId = (await api.call('createChannel', { body: { name: 'ra' } })).id;
    const p = await provisionDevice(api, 'ra-1', channelId);
    deviceId = p.deviceId;
    dir = tempDir('bulwark-connect-');
    if (!noSocat) {
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
      let log = '';
      socat.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      for (let i = 0; i < 200 && !/starting data transfer loop/.test(log); i++)
        await new Promise((r) => setTimeout(r, 25));
      assert.ok(existsSync(join(dir, 'A')) && existsSync(join(dir, 'B')), log);
    }
    const file = writeConfig(join(dir, 'agent.json'), {
      hubUrl: t.url,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      caFile: t.caFile,
      stateDir: join(dir, 'state'),
      enrollment: { token: p.token },
      connection: { backoffMinMs: 50, backoffMaxMs: 500 },
      // No LAN port: the only way in is the tunnel the device dials itself.
      localPort: { enabled: false, ...(noSocat ? {} : { serialDevice: join(dir, 'A') }) },
      remoteAccess: { tcpPorts: [echoPort] },
    });
    agent = spawnAgent(file);
    await agent.waitLine(/connected to mqtts/, 30_000);
    await waitFor(
      async () => (await api.call('getPresence', { params: { id: deviceId } })).online,
      'presence',
      20_000,
    );
  });

  after(async () => {
    await agent?.kill9();
    socat?.kill('SIGTERM');
    echo?.close();
    await t?.close();
    cleanup(dir);
  });

  it('bulwark connect --listen: bytes echo through the tunnel; the hub relays no plaintext', async () => {
    const cli = spawnLines(
      [BIN, 'connect', deviceId, '--port', String(echoPort), '--listen', '0'],
      { env: env() },
    );
    const payload = Buffer.from(`${MARKER}\n`.repeat(2000));
    try {
      const port = await cli.waitFor((l) => /listening on 127\.0\.0\.1:(\d+)/.exec(l)?.[1], 20_000);
      now();
      const c: Socket = tcpConnect(Number(port), '127.0.0.1');
      const got: Buffer[] = [];
      let n = 0;
      c.on('data', (b: Buffer) => {
        got.push(b);
        n += b.length;
      });
      c.write(payload);
      await waitFor(() => n >= payload.length, 'the echo', 20_000);
      assert.equal(Buffer.concat(got).toString(), payload.toString());
      c.destroy();
      await cli.waitFor((l) => (/closed/.test(l) ? true : undefined), 10_000);
    } finally {
      await cli.kill9();
    }
    const all = Buffer.concat(relayed);
    assert.ok(all.length > 2000 * MARKER.length, 'the relay carried the session');
    assert.equal(all.indexOf(MARKER), -1, 'no plaintext marker in the bytes the hub relayed');
    await waitFor(async () => (await audit('tunnel.closed')).length > 0, 'audit closed');
    const opened = await audit('tunnel.opened');
    assert.ok(opened.length >= 1);
    const closed = (await audit('tunnel.closed'))[0]!;
    const detail = closed.detail as Record<string, unknown>;
    assert.equal(detail['target'], `tcp:${echoPort}`);
    assert.ok((detail['bytesToDevice'] as number) > payload.length);
    assert.ok((detail['bytesToOperator'] as number) > payload.length);
    // The device reported its side of the session to the hub (its audit trail as the device).
    await waitFor(
      async () =>
        (await audit('local_session.closed')).some(
          (e) => (e.detail as Record<string, unknown>)['target'] === `tcp:${echoPort}`,
        ),
      'the device reports its session',
      15_000,
    );
  });

  it('bulwark connect without --listen: the tunnel is stdin/stdout, and it exits when done', async () => {
    now();
    const cli = spawn(process.execPath, [BIN, 'connect', deviceId, '--port', String(echoPort)], {
      env: { ...process.env, ...env() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => cli.once('exit', (c) => r(c)));
    let out = '';
    let err = '';
    cli.stdout.on('data', (b: Buffer) => (out += b.toString()));
    cli.stderr.on('data', (b: Buffer) => (err += b.toString()));
    try {
      await waitFor(() => /OK ticket accepted/.test(err), 'the device accepts the ticket', 20_000);
      cli.stdin.write('through stdin\n');
      await waitFor(() => out.includes('through stdin\n'), 'the echo on stdout', 10_000);
      cli.stdin.end();
      const code = await Promise.race([
        exited,
        new Promise<string>((r) => setTimeout(() => r('still running'), 10_000)),
      ]);
      assert.equal(code, 0, err);
    } finally {
      cli.kill('SIGKILL');
    }
  });

  it('the local management protocol through the tunnel', async () => {
    const { tls, lines, banner, tun } = await operatorLeg('local', { perm: 'read' });
    assert.match(banner, /^BULWARK-LOCAL 1 device=/);
    tls.write(`ticket ${tun.ticket}\r\n`);
    assert.match(await lines.line(), /^OK ticket accepted perm=read/);
    tls.write('list\r\n');
    assert.match(await lines.line(), /^OK \{/);
    tls.destroy();
  });

  it('the serial pass-through as a raw tunnel', { skip: noSocat }, async () => {
    const peripheral: SerialLink = await openSerial(join(dir, 'B'));
    let received = '';
    peripheral.input.on('data', (d: Buffer) => (received += d.toString()));
    try {
      const { tls, lines, banner, tun } = await operatorLeg('serial');
      assert.match(banner, /^BULWARK-TUNNEL 1 device=\S+ target=serial$/);
      tls.write(`ticket ${tun.ticket}\r\n`);
      assert.match(await lines.line(), /^OK ticket accepted perm=operate target=serial/);
      tls.write('AT+GMR\r');
      await waitFor(() => received.includes('AT+GMR\r'), 'bytes at the peripheral');
      peripheral.output.write('v1.2.3\r\n');
      assert.equal(await lines.line(), 'v1.2.3');
      tls.destroy();
    } finally {
      peripheral.close();
    }
  });

  it('a certificate that is not pinned is refused before anything is sent', async () => {
    const cli = spawnLines(
      [BIN, 'connect', deviceId, '--port', String(echoPort), '--pin', 'ab'.repeat(32)],
      { env: env() },
    );
    now();
    const code = await cli.exited;
    assert.equal(code, 1, cli.lines.join('\n'));
    assert.ok(
      cli.lines.some((l) => /pin_mismatch/.test(l)),
      cli.lines.join('\n'),
    );
  });

  it('a used ticket and an expired ticket are refused inside the tunnel', async () => {
    const first = await operatorLeg('local');
    first.tls.write(`ticket ${first.tun.ticket}\r\n`);
    assert.match(await first.lines.line(), /^OK ticket accepted/);
    first.tls.destroy();

    const second = await operatorLeg('local');
    second.tls.write(`ticket ${first.tun.ticket}\r\n`);
    assert.match(await second.lines.line(), /^ERR ticket_reused/);
    second.tls.destroy();

    // A ticket issued ten minutes ago (the hub's clock set back), long expired.
    t.clock.t = Date.now() - 10 * 60_000;
    const old = await api.call('issueTicket', {
      params: { id: deviceId },
      body: { perm: 'read', ttlSeconds: 60 },
    });
    const third = await operatorLeg('local');
    third.tls.write(`ticket ${old.ticket}\r\n`);
    assert.match(await third.lines.line(), /^ERR ticket_expired/);
    third.tls.destroy();

    // A ticket for the local port does not open a TCP port.
    const fourth = await operatorLeg(`tcp:${echoPort}`);
    const lan = await api.call('issueTicket', {
      params: { id: deviceId },
      body: { perm: 'operate' },
    });
    fourth.tls.write(`ticket ${lan.ticket}\r\n`);
    assert.match(await fourth.lines.line(), /^ERR ticket_wrong_target/);
    fourth.tls.destroy();
  });

  it('revoking the ticket closes the tunnel', async () => {
    const { tls, lines, tun } = await operatorLeg(`tcp:${echoPort}`);
    tls.write(`ticket ${tun.ticket}\r\n`);
    assert.match(await lines.line(), /^OK ticket accepted/);
    const closedAt = new Promise<number>((r) => tls.once('close', () => r(Date.now())));
    const t0 = Date.now();
    await api.call('revokeTicket', { params: { id: deviceId, jti: tun.jti }, body: {} });
    assert.ok((await closedAt) - t0 < 3000, 'closed promptly');
    await waitFor(
      async () =>
        (await audit('tunnel.closed')).some(
          (e) =>
            (e.detail as Record<string, unknown>)['session'] === tun.sessionId &&
            (e.detail as Record<string, unknown>)['reason'] === 'ticket_revoked',
        ),
      'audited as revoked',
    );
  });

  it('the byte limit closes the tunnel at the hub', async () => {
    const { tls, lines, tun } = await operatorLeg(`tcp:${echoPort}`, { maxBytes: 64 * 1024 });
    tls.write(`ticket ${tun.ticket}\r\n`);
    assert.match(await lines.line(), /^OK ticket accepted/);
    const closed = new Promise<void>((r) => tls.once('close', () => r()));
    tls.on('error', () => undefined);
    for (let i = 0; i < 16 && !tls.destroyed; i++) tls.write(Buffer.alloc(16 * 1024, 1));
    await closed;
    await waitFor(
      async () =>
        (await audit('tunnel.closed')).some(
          (e) =>
            (e.detail as Record<string, unknown>)['session'] === tun.sessionId &&
            (e.detail as Record<string, unknown>)['reason'] === 'max_bytes',
        ),
      'audited as max_bytes',
    );
  });

  it("another organization cannot open the device's tunnel nor join one", async () => {
    now();
    await assert.rejects(
      foreign.call('openTunnel', { params: { id: deviceId }, body: { target: 'local' } }),
      (err: { code?: string }) => err.code === 'not_found',
    );
    const tun = await openTunnel('local');
    // The other organization's principal, with the right secret, on the right path: refused.
    await assert.rejects(
      dialLeg({
        url: t.url,
        path: tun.relayPath,
        secret: tun.secret,
        ca: t.ca,
        bearer: foreignToken,
      }),
      (err: { code?: string }) => err.code === 'relay_refused',
    );
    // A wrong secret from the right principal: refused too; three of them drop the session.
    for (let i = 0; i < 3; i++)
      await assert.rejects(
        dialLeg({
          url: t.url,
          path: tun.relayPath,
          secret: 'x'.repeat(43),
          ca: t.ca,
          bearer: apiKey,
        }),
        (err: { code?: string }) => err.code === 'relay_refused',
      );
    await assert.rejects(
      dialLeg({ url: t.url, path: tun.relayPath, secret: tun.secret, ca: t.ca, bearer: apiKey }),
      (err: { code?: string }) => err.code === 'relay_refused',
    );
  });

  it('a device leg needs the device certificate', async () => {
    const tun = await openTunnel('local');
    // No bearer and no client certificate.
    await assert.rejects(
      dialLeg({ url: t.url, path: tun.relayPath, secret: tun.secret, ca: t.ca }),
      (err: { code?: string }) => err.code === 'unauthenticated',
    );
  });

  // Last: it quarantines the device.
  it('quarantining the device closes its open tunnel', async () => {
    const { tls, lines, tun } = await operatorLeg(`tcp:${echoPort}`);
    tls.write(`ticket ${tun.ticket}\r\n`);
    assert.match(await lines.line(), /^OK ticket accepted/);
    const closedAt = new Promise<number>((r) => tls.once('close', () => r(Date.now())));
    const t0 = Date.now();
    await api.call('updateDevice', { params: { id: deviceId }, body: { state: 'quarantined' } });
    assert.ok((await closedAt) - t0 < 5000, 'closed within the watch interval');
    await waitFor(
      async () =>
        (await audit('tunnel.closed')).some(
          (e) =>
            (e.detail as Record<string, unknown>)['session'] === tun.sessionId &&
            ['device_state', 'device_closed'].includes(
              (e.detail as Record<string, unknown>)['reason'] as string,
            ),
        ),
      'audited',
    );
    now();
    await assert.rejects(
      api.call('openTunnel', { params: { id: deviceId }, body: { target: 'local' } }),
      (err: { code?: string }) => err.code === 'conflict',
    );
  });
});
