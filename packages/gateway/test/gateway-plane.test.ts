/**
 * The device plane through the gateway (decision 0040, amendment "device plane"): a real hub, a
 * real gateway and an unmodified agent as the site device, connected to the gateway's local broker
 * only. Its desired twin and commands come through the gateway; its reports go up the durable
 * uplink as its own; a result produced while the hub is down lands once when it is back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import {
  Agent,
  DirFiles,
  LocalPortServer,
  SyntheticSystem,
  parseAgentConfig,
} from '@bulwark/agent';
import {
  connectDevice,
  enrollDevice,
  setupOrg,
  startGateway,
  startTestHub,
  tempDir,
  waitFor,
  type RunningGateway,
  type TestHub,
} from './helpers.js';

/** Opens the device's local management port, presents a ticket, returns the answer line. */
function presentTicket(port: number, ticket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // The port presents the device's own certificate (named for the device, not a host).
    const sock = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    let buf = '';
    let banner = false;
    const timer = setTimeout(() => reject(new Error('no answer from the local port')), 5_000);
    sock.on('error', reject);
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (!banner) {
          banner = true;
          sock.write(`ticket ${ticket}\r\n`);
          continue;
        }
        clearTimeout(timer);
        sock.destroy();
        resolve(line);
      }
    });
  });
}

describe('gateway device plane: an unmodified agent behind the gateway', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let g: RunningGateway;
  let agent: Agent;
  let id: string;
  let release: () => void = () => undefined;
  let slowStarted = false;
  const marks: number[] = [];
  let reopen: () => Promise<void>;

  before(async () => {
    t = await startTestHub();
    s = await setupOrg(t);
    g = await startGateway(t, s.api, s.siteId);
    const d = await s.api.devices.create({
      name: 'agent-behind-gateway',
      type: 'sensor',
      locationId: s.siteId,
    });
    const { token } = await s.api.devices.createEnrollmentToken(d.id, {});
    const dir = tempDir('bulwark-gw-agent-');
    // The agent trusts the hub (enrollment over HTTPS) and the gateway's broker (MQTT).
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, `${t.ca}\n${g.brokerCa}`);
    const open = async () => {
      const a = new Agent({
        config: parseAgentConfig({
          hubUrl: t.url,
          mqttUrl: `mqtts://127.0.0.1:${g.port}`,
          caFile,
          stateDir: join(dir, 'state'),
          enrollment: { token },
          connection: { backoffMinMs: 50, backoffMaxMs: 300 },
        }),
        files: await DirFiles.open(join(dir, 'state')),
        system: new SyntheticSystem(),
      });
      a.commands.register('slow', {
        run: () => {
          slowStarted = true;
          return new Promise((r) => (release = () => r({ slow: true })));
        },
      });
      a.commands.register('mark', {
        run: (p) => {
          marks.push(p['n'] as number);
          return Promise.resolve({});
        },
      });
      return a;
    };
    reopen = async () => {
      agent = await open();
      await agent.start();
      await agent.whenConnected(20_000);
    };
    agent = await open();
    await agent.start();
    await waitFor(() => agent.deviceId !== undefined, 'the agent enrolled', 20_000);
    id = agent.deviceId!;
    assert.equal(id, d.id);
    // The gateway learns the new certificate at its next sync.
    await g.gateway.sync.syncNow();
    await agent.whenConnected(20_000);
    await waitFor(
      async () => (await s.api.devices.presence(id)).online,
      'the device online through its gateway',
    );
  });
  after(async () => {
    await agent?.stop();
    await g?.stop();
    await t?.close();
  });

  it('a desired twin change reaches the agent, and the hub sees its report', async () => {
    await s.api.twins.patchDesired(id, { sampling: { intervalSeconds: 17 } });
    await waitFor(() => agent.twin.get('sampling.intervalSeconds') === 17, 'applied on the agent');
    await waitFor(async () => {
      const tw = await s.api.twins.get(id);
      return tw.inSync && tw.reported !== null && tw.reported.desiredVersion === tw.desired.version;
    }, 'the report at the hub');
  });

  it('a command runs on the agent and the hub sees it succeeded', async () => {
    const c = await s.api.commands.send(id, { name: 'ping' });
    const done = await s.api.commands.wait(c.id, { timeoutMs: 15_000 });
    assert.equal(done.state, 'succeeded');
    assert.equal((done.result as { pong?: boolean } | null)?.pong, true);
  });

  it('a result produced while the hub is down is queued on the gateway and lands once', async () => {
    const c = await s.api.commands.send(id, { name: 'slow' });
    await waitFor(() => slowStarted, 'the agent running the command');
    await t.stop();
    release();
    // The agent's result is durable on the gateway (acknowledged there), waiting for the hub.
    await waitFor(() => g.gateway.status().queue.messages > 0, 'the result queued on the gateway');
    await t.restart();
    const done = await s.api.commands.wait(c.id, { timeoutMs: 20_000 });
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(done.result, { slow: true });
    await waitFor(() => g.gateway.status().queue.messages === 0, 'the queue drained');
    const again = await s.api.commands.get(c.id);
    assert.equal(again.history.filter((h) => h.state === 'succeeded').length, 1);
    // And the plane works again after the outage.
    const p = await s.api.commands.send(id, { name: 'ping' });
    assert.equal((await s.api.commands.wait(p.id, { timeoutMs: 15_000 })).state, 'succeeded');
  });

  it('commands held on the gateway while the device is away are delivered when it is back, unless past their deadline', async () => {
    await agent.stop();
    await waitFor(
      async () => !(await s.api.devices.presence(id)).online,
      'the device offline once it left the gateway',
    );
    // What the hub's downlink hands the gateway (GatewayPlane → `own-message`), for a device that
    // went away meanwhile: one command due in 300 ms, one in a minute.
    const hold = (n: number, ms: number, cid = randomUUID()) =>
      g.gateway.plane.downlink(
        `downlink/${id}/commands/${cid}`,
        Buffer.from(
          JSON.stringify({
            id: cid,
            name: 'mark',
            params: { n },
            deadline: new Date(Date.now() + ms).toISOString(),
          }),
        ),
      );
    hold(1, 300);
    hold(2, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    await reopen();
    await waitFor(() => marks.includes(2), 'the command still due, run');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(marks, [2], 'the expired one is never run');
    // Not even handed to the agent (which would refuse it as deadline_passed itself).
    assert.equal(g.gateway.plane.expired, 1);
  });

  it('a quarantined site device keeps its own plane through the gateway and loses its channels, as on the hub', async () => {
    const q = await enrollDevice(t, s.api, 'quarantined-behind-gateway', {
      locationId: s.siteId,
      channelId: s.channelId,
    });
    await s.api.devices.update(q.deviceId, { state: 'quarantined' });
    await g.gateway.sync.syncNow();
    const c = await connectDevice(g, q);
    await assert.rejects(
      c.publishAsync(`channels/${s.channelId}/messages/x`, 'nope', { qos: 1 }),
      /0x87|Not authorized|135/i,
    );
    const commands: { topic: string; body: { id: string } }[] = [];
    c.on('message', (topic, payload) =>
      commands.push({ topic, body: JSON.parse(payload.toString()) as { id: string } }),
    );
    const granted = await c.subscribeAsync(`$devices/${q.deviceId}/commands/+`, { qos: 1 });
    assert.equal(granted[0]?.qos, 1);
    const cmd = await s.api.commands.send(q.deviceId, { name: 'inspect' });
    await waitFor(() => commands.some((m) => m.body.id === cmd.id), 'the command via the gateway');
    assert.equal(commands[0]?.topic, `$devices/${q.deviceId}/commands/${cmd.id}`);
    await c.publishAsync(
      `$devices/${q.deviceId}/commands/${cmd.id}/status`,
      JSON.stringify({ state: 'succeeded', result: { inspected: true } }),
      { qos: 1 },
    );
    const done = await s.api.commands.wait(cmd.id, { timeoutMs: 15_000 });
    assert.equal(done.state, 'succeeded');
    await c.endAsync();
  });

  it('ticketed local management works with the uplink cut: issuer and revocations are on the device', async () => {
    const good = await s.owner.tickets.issue(id, { perm: 'read' });
    const bad = await s.owner.tickets.issue(id, {
      perm: 'operate',
      backup: true,
      ttlSeconds: 86_400,
    });
    await s.owner.tickets.revoke(id, bad.jti);
    // The revocation list travels in the desired twin, through the gateway like everything else.
    await waitFor(
      () => ((agent.twin.get('tickets.revoked') as string[] | undefined) ?? []).includes(bad.jti),
      'the revocation on the agent',
    );
    const port = new LocalPortServer({
      host: agent.localPortHost(),
      port: 0,
      bindAddress: '127.0.0.1',
    });
    await port.start();
    await t.stop(); // the uplink is cut: nothing below can ask the hub
    try {
      assert.match(await presentTicket(port.port, good.ticket), /^OK ticket accepted perm=read/);
      assert.match(await presentTicket(port.port, good.ticket), /^ERR ticket_reused /);
      assert.match(await presentTicket(port.port, bad.ticket), /^ERR ticket_revoked /);
    } finally {
      await port.stop();
      await t.restart();
    }
  });
});
