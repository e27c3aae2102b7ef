/**
 * Twin and commands, with the test playing the hub on an in-process broker (plaintext loopback,
 * `connection.insecurePlaintextForTests`): the hub's own twin/command routes are tested end to end
 * in agent-e2e once they exist.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CommandStatus, DeviceEvent, Presence, ReportedTwin } from '@bulwark/protocol';
import { deviceTopic } from '@bulwark/protocol';
import { Agent } from '../src/agent.js';
import { parseAgentConfig, type AgentConfig } from '../src/config.js';
import { DirFiles } from '../src/files/dir-files.js';
import { SyntheticSystem } from '../src/sim/synthetic-system.js';
import { fakeCa } from './fake-ca.js';
import { cleanup, nextEvent, startPlayHub, tempDir, waitFor, type PlayHub } from './helpers.js';

describe('twin and commands (the test plays the hub)', () => {
  let hub: PlayHub;
  let ca: Awaited<ReturnType<typeof fakeCa>>;
  let dir: string;
  let agent: Agent;
  let id: string;
  const system = new SyntheticSystem();

  const config = (extra: Record<string, unknown> = {}): AgentConfig =>
    parseAgentConfig({
      hubUrl: 'https://127.0.0.1:1',
      mqttUrl: `mqtt://127.0.0.1:${hub.port}`,
      caFile: join(ca.dir, 'ca.pem'),
      stateDir: dir,
      enrollment: { token: 'unused-by-the-fake-ca' },
      connection: { insecurePlaintextForTests: true, backoffMinMs: 20, backoffMaxMs: 200 },
      ...extra,
    });

  async function startAgent(): Promise<Agent> {
    const a = new Agent({
      config: config(),
      files: await DirFiles.open(dir),
      system,
      certificateAuthority: ca,
      hubCa: '',
    });
    await a.start();
    await a.whenConnected(10_000);
    return a;
  }
  const statuses = (cid: string) => hub.json<CommandStatus>(deviceTopic.commandStatus(id, cid));
  const reports = () => hub.json<ReportedTwin>(deviceTopic.reported(id));
  const command = (cid: string, name: string, params: object = {}, deadlineMs = 60_000) =>
    hub.send(deviceTopic.command(id, cid), {
      id: cid,
      name,
      params,
      deadline: new Date(Date.now() + deadlineMs).toISOString(),
    });
  const finalStatus = async (cid: string) => {
    await waitFor(() => statuses(cid).some((s) => s.state !== 'delivered'), `status of ${cid}`);
    return statuses(cid).find((s) => s.state !== 'delivered')!;
  };

  before(async () => {
    hub = await startPlayHub();
    ca = await fakeCa();
    dir = tempDir();
    agent = await startAgent();
    id = agent.deviceId!;
    assert.equal(id, ca.deviceId);
  });
  after(async () => {
    await agent.stop();
    await hub.stop();
    cleanup(dir, ca.dir);
  });

  it('announces presence online (retained) with its mode', async () => {
    await waitFor(() => hub.json<Presence>(deviceTopic.presence(id)).length > 0, 'presence');
    assert.deepEqual(hub.json<Presence>(deviceTopic.presence(id))[0], {
      online: true,
      mode: 'controlled',
    });
  });

  it('applies a desired twin and reports the applied state with the desired version', async () => {
    hub.send(
      deviceTopic.desired(id),
      { version: 3, state: { logging: { level: 'debug' }, sampling: { intervalSeconds: 10 } } },
      true,
    );
    await waitFor(() => reports().some((r) => r.desiredVersion === 3), 'report for v3');
    const r = reports().find((x) => x.desiredVersion === 3)!;
    assert.deepEqual(r.errors, []);
    assert.equal((r.state['logging'] as { level: string }).level, 'debug');
    assert.equal(agent.twin.get('sampling.intervalSeconds'), 10);
  });

  it('reports a value of the wrong type and an unknown section as errors, and applies the rest', async () => {
    hub.send(
      deviceTopic.desired(id),
      {
        version: 4,
        state: {
          sampling: { intervalSeconds: 'fast' },
          logging: { level: 'warn' },
          nosuch: { a: 1 },
        },
      },
      true,
    );
    await waitFor(() => reports().some((r) => r.desiredVersion === 4), 'report for v4');
    const r = reports().find((x) => x.desiredVersion === 4)!;
    assert.deepEqual(r.errors.map((e) => e.path).sort(), ['nosuch', 'sampling.intervalSeconds']);
    assert.match(r.errors.find((e) => e.path === 'sampling.intervalSeconds')!.message, /integer/);
    assert.equal(agent.twin.get('sampling.intervalSeconds'), 10, 'the old value stays');
    assert.equal(agent.twin.get('logging.level'), 'warn');
  });

  it('ignores a desired version not newer than the last one', async () => {
    const n = reports().length;
    hub.send(deviceTopic.desired(id), { version: 2, state: { logging: { level: 'error' } } });
    command('c-after-old', 'ping');
    await finalStatus('c-after-old');
    assert.equal(reports().length, n);
    assert.equal(agent.twin.get('logging.level'), 'warn');
  });

  it('runs ping and reports delivered then succeeded', async () => {
    command('c-ping', 'ping');
    const s = await finalStatus('c-ping');
    assert.equal(s.state, 'succeeded');
    assert.equal(s.result?.['pong'], true);
    assert.equal(statuses('c-ping')[0]!.state, 'delivered');
  });

  it('fails an unknown command with unknown_command', async () => {
    command('c-unknown', 'make-coffee');
    const s = await finalStatus('c-unknown');
    assert.equal(s.state, 'failed');
    assert.equal(s.error?.code, 'unknown_command');
  });

  it('fails bad params with invalid_params and a passed deadline with deadline_passed', async () => {
    command('c-bad', 'set-parameter', { path: 'sampling.intervalSeconds', value: -5 });
    assert.equal((await finalStatus('c-bad')).error?.code, 'invalid_params');
    command('c-late', 'ping', {}, -1000);
    assert.equal((await finalStatus('c-late')).error?.code, 'deadline_passed');
  });

  it('get-parameter and set-parameter go through the twin handlers and are reported', async () => {
    command('c-set', 'set-parameter', { path: 'sampling.intervalSeconds', value: 30 });
    assert.equal((await finalStatus('c-set')).state, 'succeeded');
    command('c-get', 'get-parameter', { path: 'sampling.intervalSeconds' });
    assert.equal((await finalStatus('c-get')).result?.['value'], 30);
    await waitFor(
      () =>
        reports().some(
          (r) => (r.state['sampling'] as { intervalSeconds: number }).intervalSeconds === 30,
        ),
      'report with 30',
    );
  });

  it('a redelivered command is not run twice: its outcome is sent again', async () => {
    let runs = 0;
    agent.commands.register('count', { run: () => Promise.resolve({ runs: ++runs }) });
    command('c-once', 'count');
    await finalStatus('c-once');
    command('c-once', 'count');
    await waitFor(() => statuses('c-once').length >= 3, 'second answer');
    assert.equal(runs, 1);
    assert.deepEqual(statuses('c-once').slice(-1)[0], { state: 'succeeded', result: { runs: 1 } });
  });

  it('when the hub disappears mid-command, the result is delivered after reconnect', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    agent.commands.register('slow', {
      run: async () => {
        await gate;
        return { done: true };
      },
    });
    command('c-slow', 'slow');
    await waitFor(() => statuses('c-slow').length === 1, 'delivered');
    await hub.stop();
    await waitFor(() => !agent.connected, 'agent offline');
    release();
    // The outcome is written to the on-disk queue (a loaded machine takes more than a tick).
    await waitFor(
      () => agent.status().queue.control.messages >= 1,
      'the outcome waits in the queue',
    );
    await hub.restart();
    await agent.whenConnected(10_000);
    const s = await finalStatus('c-slow');
    assert.deepEqual(s, { state: 'succeeded', result: { done: true } });
  });

  it('keeps the applied twin and the command ledger across a restart', async () => {
    await agent.stop();
    agent = await startAgent();
    assert.equal(agent.twin.get('sampling.intervalSeconds'), 30);
    assert.equal(agent.twin.version, 4);
    let ran = false;
    agent.commands.register('count', {
      run: () => {
        ran = true;
        return Promise.resolve();
      },
    });
    const before = statuses('c-once').length;
    command('c-once', 'count');
    await waitFor(() => statuses('c-once').length > before, 'answer after restart');
    assert.equal(ran, false);
  });

  it('reports events (link lost after the grace period) when the link returns', async () => {
    const events = () => hub.json<DeviceEvent[]>(deviceTopic.events(id)).flat();
    await agent.stop();
    const a = new Agent({
      config: config({ device: { linkLostGraceSeconds: 0 } }),
      files: await DirFiles.open(dir),
      system,
      certificateAuthority: ca,
      hubCa: '',
    });
    agent = a;
    await a.start();
    await a.whenConnected();
    const lost = nextEvent(a, 'link-lost');
    await hub.stop();
    await lost;
    await hub.restart();
    await a.whenConnected(10_000);
    await waitFor(() => events().some((e) => e.kind === 'link-restored'), 'link-restored event');
    assert.ok(events().some((e) => e.kind === 'link-lost'));
  });
});
