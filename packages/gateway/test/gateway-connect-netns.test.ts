/**
 * `bulwark connect` to a device behind a gateway (decision 0042, "Through a gateway"), across
 * network namespaces: the hub in this process on the host side of a veth pair (its relay tapped),
 * `bulwark gateway` in the site namespace with its LAN on a second veth pair, and a real
 * `bulwark agent` in a device namespace that has the LAN only — no route to the hub. The agent
 * dials its relay leg at the gateway's LAN server; the gateway forwards it to the hub with its own
 * certificate; `bulwark connect --listen` on the host echoes data through a `tcp:PORT` target on
 * the device, and a marker sent through the tunnel never appears in what the gateway forwarded to
 * the hub (the hub's tap sees exactly those bytes, out of the gateway's uplink TLS) nor in what the
 * hub relay copied. Needs root and iproute2; under CI=true their absence fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverCert, setupOrg, startTestHub, tempDir, waitFor, type TestHub } from './helpers.js';
import { exited, netnsSkip, siteNetns } from './site-netns.js';

const skip = netnsSkip();
const site = siteNetns('bc', 81);
const BIN = fileURLToPath(new URL('../../../cli/bin/bulwark.js', import.meta.url));
const MARKER = 'PLAINTEXT-MARKER-GW-41c7';
/** The device namespace and the LAN between it and the site namespace. */
const TAG = site.ns.slice(0, -1);
const devNs = `${TAG}d`;
const lan = `10.82.${randomInt(1, 250)}`;
const gwLan = `${lan}.1`;

/** Node with `args` in the device namespace, its output collected. */
const children = new Set<ChildProcess>();
function inDevice(args: string[]) {
  const c = spawn('ip', ['netns', 'exec', devNs, process.execPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(c);
  const out = { text: '' };
  c.stdout.on('data', (b: Buffer) => (out.text += b.toString()));
  c.stderr.on('data', (b: Buffer) => (out.text += b.toString()));
  return { c, out };
}

describe(
  'bulwark connect to a device behind a gateway, in network namespaces',
  { skip, timeout: 120_000 },
  () => {
    let t: TestHub;
    let s: Awaited<ReturnType<typeof setupOrg>>;
    let dir: string;
    /** What the hub relay copied; the device side of it is what the gateway forwarded. */
    const relayed = { device: [] as Buffer[], operator: [] as Buffer[] };

    before(async () => {
      site.up();
      site.ip('netns', 'add', devNs);
      site.ip('link', 'add', `${TAG}l`, 'type', 'veth', 'peer', 'name', `${TAG}m`);
      site.ip('link', 'set', `${TAG}l`, 'netns', site.ns);
      site.ip('link', 'set', `${TAG}m`, 'netns', devNs);
      site.inSite('ip', 'addr', 'add', `${gwLan}/24`, 'dev', `${TAG}l`);
      site.inSite('ip', 'link', 'set', `${TAG}l`, 'up');
      const inDev = (...a: string[]) => site.ip('netns', 'exec', devNs, ...a);
      inDev('ip', 'addr', 'add', `${lan}.2/24`, 'dev', `${TAG}m`);
      inDev('ip', 'link', 'set', `${TAG}m`, 'up');
      inDev('ip', 'link', 'set', 'lo', 'up');
      t = await startTestHub(site.hubAddr, {
        relayTap: (to, chunk) => {
          const kept = relayed[to];
          if (kept.length < 10_000) kept.push(Buffer.from(chunk));
        },
      });
      s = await setupOrg(t);
      dir = tempDir();
    });
    after(async () => {
      const live = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
      const gone = live.map((c) => once(c, 'exit'));
      for (const c of live) c.kill('SIGKILL');
      await Promise.all(gone);
      try {
        site.ip('netns', 'del', devNs);
      } catch {
        /* already gone */
      }
      await site.down();
      await t?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('echoes through a tcp target; neither the gateway nor the hub sees the plaintext', async () => {
      const gwDevice = await s.api.devices.create({
        name: 'gw-connect',
        type: 'gateway',
        locationId: s.siteId,
      });
      const gwToken = (await s.api.devices.createEnrollmentToken(gwDevice.id, {})).token;
      const tls = serverCert(dir, [gwLan]);
      const gwConfig = join(dir, 'gateway.json');
      writeFileSync(
        gwConfig,
        JSON.stringify({
          hubUrl: t.url,
          mqttUrl: `mqtts://${site.hubAddr}:${t.mqttPort}`,
          caFile: t.caFile,
          stateDir: join(dir, 'gw-state'),
          enrollment: { token: gwToken },
          connection: { backoffMinMs: 100, backoffMaxMs: 1000 },
          gateway: {
            broker: { host: gwLan, port: 0, certFile: tls.certFile, keyFile: tls.keyFile },
            cache: { enabled: true, host: gwLan, port: 0 },
            inventory: { enabled: false },
            syncIntervalSeconds: 1,
          },
        }),
      );
      const gw = site.start([BIN, 'gateway', '--config', gwConfig, '--no-watchdog']);
      const brokerRe = /gateway broker listening on [^:]+:(\d+)/;
      const cacheRe = /firmware cache listening on [^:]+:(\d+)/;
      await waitFor(
        () => brokerRe.test(gw.out.text) && cacheRe.test(gw.out.text),
        'the gateway',
        30_000,
      );
      const brokerPort = Number(brokerRe.exec(gw.out.text)![1]);
      const lanPort = Number(cacheRe.exec(gw.out.text)![1]);

      // The device's side: an echo server on its loopback, and no route to the hub.
      const echo = inDevice([
        '-e',
        "require('net').createServer((s) => { s.on('error', () => s.destroy()); s.pipe(s); })" +
          ".listen(0, '127.0.0.1', function () { console.log('echo ' + this.address().port); });",
      ]);
      await waitFor(() => /echo \d+/.test(echo.out.text), 'the echo server', 10_000);
      const echoPort = Number(/echo (\d+)/.exec(echo.out.text)![1]);
      const hubPort = new URL(t.url).port;
      const probe = inDevice([
        '-e',
        `require('net').connect(${hubPort}, '${site.hubAddr}').on('connect', () => process.exit(0))` +
          `.on('error', (e) => { console.log(e.code); process.exit(3); });`,
      ]);
      assert.equal(await exited(probe.c, 10_000), 3, `the hub is unreachable: ${probe.out.text}`);

      const device = await s.api.devices.create({
        name: 'behind',
        type: 'sensor',
        locationId: s.siteId,
      });
      const token = (await s.api.devices.createEnrollmentToken(device.id, {})).token;
      const caFile = join(dir, 'agent-ca.pem');
      writeFileSync(caFile, `${t.ca}\n${tls.pem}`);
      const agentConfig = join(dir, 'agent.json');
      writeFileSync(
        agentConfig,
        JSON.stringify({
          hubUrl: t.url,
          mqttUrl: `mqtts://${gwLan}:${brokerPort}`,
          caFile,
          stateDir: join(dir, 'agent-state'),
          enrollment: { token },
          connection: { backoffMinMs: 100, backoffMaxMs: 500 },
          remoteAccess: {
            tcpPorts: [echoPort],
            relay: { url: `https://${gwLan}:${lanPort}`, caFile: tls.certFile },
          },
        }),
      );
      const online = async () => (await s.api.devices.presence(device.id)).online;
      // Enrollment needs the hub: once from the site namespace, then the agent moves behind the LAN.
      const enrolling = site.start([BIN, 'agent', '--config', agentConfig, '--no-watchdog']);
      await waitFor(online, 'the device enrolled and online through the gateway', 30_000);
      const gone = once(enrolling.c, 'exit');
      enrolling.c.kill('SIGKILL');
      await gone;
      await waitFor(async () => !(await online()), 'offline', 15_000);
      const agent = inDevice([BIN, 'agent', '--config', agentConfig, '--no-watchdog']);
      const plane = t.hub.services.gatewayUplink.plane!;
      await waitFor(
        () =>
          plane
            .held(gwDevice.id)
            .some((p) => p.deviceId === device.id && p.open && p.takes.includes('tunnel')),
        `the agent behind the gateway takes tunnel offers\n${agent.out.text}`,
        20_000,
      );

      const { key } = await s.owner.apiKeys.create({
        name: 'connect',
        permissions: ['devices:read', 'devices:manage'],
      });
      const cli = spawn(
        process.execPath,
        [BIN, 'connect', device.id, '--port', String(echoPort), '--listen', '0'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, BULWARK_HUB: t.url, BULWARK_CA: t.caFile, BULWARK_API_KEY: key },
        },
      );
      children.add(cli);
      let cliOut = '';
      cli.stdout.on('data', (b: Buffer) => (cliOut += b.toString()));
      cli.stderr.on('data', (b: Buffer) => (cliOut += b.toString()));
      await waitFor(() => /listening on 127\.0\.0\.1:\d+/.test(cliOut), 'bulwark connect', 15_000);
      const localPort = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(cliOut)![1]);
      const payload = Buffer.from(`${MARKER}\n`.repeat(2000));
      const c = tcpConnect(localPort, '127.0.0.1');
      const got: Buffer[] = [];
      let n = 0;
      c.on('data', (b: Buffer) => {
        got.push(b);
        n += b.length;
      });
      c.write(payload);
      await waitFor(
        () => n >= payload.length,
        `the echo\n${cliOut}\n${gw.out.text}\n${agent.out.text}`,
        20_000,
      );
      assert.equal(Buffer.concat(got).toString(), payload.toString());
      c.destroy();
      await waitFor(() => /closed/.test(cliOut), 'the tunnel closed', 10_000);

      const fromGateway = Buffer.concat(relayed.operator);
      const toGateway = Buffer.concat(relayed.device);
      assert.ok(fromGateway.length > payload.length, 'the gateway forwarded the session');
      assert.ok(toGateway.length > payload.length, 'the hub relayed the session to the gateway');
      assert.equal(fromGateway.indexOf(MARKER), -1, 'no marker in what the gateway forwarded');
      assert.equal(toGateway.indexOf(MARKER), -1, 'no marker in what the hub relay copied');
      // The hub knows the leg came through the gateway.
      const opened = (
        await s.owner.call('listAudit', { query: { action: 'tunnel.opened', limit: 10 } })
      ).items;
      assert.equal(opened[0]?.detail?.['via'], gwDevice.id);

      // Revoking the ticket closes the tunnel end to end: the hub closes the gateway's leg, the
      // gateway the device's, and the device its side (its report comes back through the gateway).
      const audit = async (action: string) =>
        (await s.owner.call('listAudit', { query: { action, limit: 20 } })).items;
      const c2 = tcpConnect(localPort, '127.0.0.1');
      let echoed = '';
      c2.on('data', (b: Buffer) => (echoed += b.toString()));
      c2.write('ping\n');
      await waitFor(() => echoed === 'ping\n', 'the second tunnel echoes', 20_000);
      const second = (await audit('tunnel.opened')).find((e) => e.id !== opened[0]?.id);
      const jti = second?.detail?.['jti'] as string;
      const closed = once(c2, 'close');
      const t0 = Date.now();
      await s.api.tickets.revoke(device.id, jti);
      await closed;
      const closedMs = Date.now() - t0;
      assert.ok(closedMs < 5_000, `closed in ${closedMs} ms`);
      await waitFor(
        async () => (await audit('local_session.closed')).some((e) => e.detail?.['jti'] === jti),
        'the device reports its side closed',
        15_000,
      );
      process.stdout.write(`# revoked ticket: operator connection closed in ${closedMs} ms\n`);
    });
  },
);
