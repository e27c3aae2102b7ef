/**
 * Autonomous rules, connection modes, factory reset and the local-port host view, with the test
 * playing the hub on an in-process broker.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  deviceTopic,
  type CommandStatus,
  type DeviceEvent,
  type Presence,
} from '@bulwark/protocol';
import { Agent } from '../src/agent.js';
import { parseAgentConfig } from '../src/config.js';
import { MemoryFiles } from '../src/files/memory-files.js';
import { SyntheticSystem } from '../src/sim/synthetic-system.js';
import { fakeCa } from './fake-ca.js';
import { cleanup, nextEvent, startPlayHub, waitFor, type PlayHub } from './helpers.js';

const CHANNEL = '0b7c6f1e-8a2d-4c3b-9e5f-1a2b3c4d5e6f';

describe('autonomy, connection modes, factory reset, local-port host', () => {
  let hub: PlayHub;
  let ca: Awaited<ReturnType<typeof fakeCa>>;
  const agents: Agent[] = [];

  before(async () => {
    hub = await startPlayHub();
    ca = await fakeCa();
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await hub.stop();
    cleanup(ca.dir);
  });

  async function make(extra: Record<string, unknown> = {}, files = new MemoryFiles()) {
    const { connection, ...rest } = extra as { connection?: object };
    const system = new SyntheticSystem();
    const agent = new Agent({
      config: parseAgentConfig({
        hubUrl: 'https://127.0.0.1:1',
        mqttUrl: `mqtt://127.0.0.1:${hub.port}`,
        caFile: join(ca.dir, 'ca.pem'),
        stateDir: '/nonexistent',
        enrollment: { token: 'x' },
        connection: {
          insecurePlaintextForTests: true,
          backoffMinMs: 20,
          backoffMaxMs: 200,
          ...connection,
        },
        ...rest,
      }),
      files,
      system,
      certificateAuthority: ca,
      hubCa: '',
    });
    agents.push(agent);
    await agent.start();
    await agent.whenConnected();
    return { agent, system, files, id: agent.deviceId! };
  }
  const events = (id: string) => hub.json<DeviceEvent[]>(deviceTopic.events(id)).flat();

  it('autonomous mode: a metric rule fires on the rising edge, sets a parameter and records it', async () => {
    const { agent, system, id } = await make({
      device: {
        mode: 'autonomous',
        rules: [
          {
            name: 'hot',
            when: { metric: 'cpuPercent', above: 90 },
            then: { set: { 'sampling.intervalSeconds': 60 } },
          },
        ],
      },
    });
    await agent.twin.set('sampling.intervalSeconds', 5);
    system.figures.cpuPercent = 95;
    await agent.sampleMetrics();
    assert.equal(agent.twin.get('sampling.intervalSeconds'), 60);
    await agent.twin.set('sampling.intervalSeconds', 5);
    await agent.sampleMetrics(); // still hot: no second action
    assert.equal(agent.twin.get('sampling.intervalSeconds'), 5);
    system.figures.cpuPercent = 10;
    await agent.sampleMetrics();
    system.figures.cpuPercent = 99;
    await agent.sampleMetrics();
    assert.equal(agent.twin.get('sampling.intervalSeconds'), 60);
    await waitFor(
      () => events(id).filter((e) => e.kind === 'autonomous-action').length === 2,
      'two actions',
    );
    const action = events(id).find((e) => e.kind === 'autonomous-action')!;
    assert.deepEqual(action.detail['set'], { 'sampling.intervalSeconds': 60 });
    assert.equal(action.detail['rule'], 'hot');
  });

  it('controlled mode: rules wait for a lost link; the alarm and actions reach the hub when it returns', async () => {
    const { agent, system, id } = await make({
      device: {
        mode: 'controlled',
        linkLostGraceSeconds: 0,
        rules: [
          {
            when: { metric: 'cpuPercent', above: 90 },
            then: { set: { 'sampling.intervalSeconds': 120 } },
          },
          { when: { event: 'link-lost' }, then: { set: { 'logging.level': 'debug' } } },
        ],
      },
    });
    system.figures.cpuPercent = 95;
    await agent.sampleMetrics();
    assert.equal(
      agent.twin.get('sampling.intervalSeconds'),
      60,
      'connected: the hub is in control',
    );
    system.figures.cpuPercent = 10;
    await agent.sampleMetrics();
    // With a grace of 0 the moments before the first CONNACK already count as a lost link.
    await agent.flush();
    const actionsBefore = events(id).filter((e) => e.kind === 'autonomous-action').length;
    const restoredBefore = events(id).filter((e) => e.kind === 'link-restored').length;
    const lost = nextEvent(agent, 'link-lost');
    await hub.stop();
    await lost;
    await waitFor(() => agent.twin.get('logging.level') === 'debug', 'link-lost rule');
    system.figures.cpuPercent = 95;
    await agent.sampleMetrics();
    assert.equal(agent.twin.get('sampling.intervalSeconds'), 120);
    await hub.restart();
    await agent.whenConnected(10_000);
    await waitFor(
      () => events(id).filter((e) => e.kind === 'link-restored').length > restoredBefore,
      'events after return',
    );
    const kinds = events(id).map((e) => e.kind);
    assert.ok(kinds.includes('link-lost'));
    assert.equal(kinds.filter((k) => k === 'autonomous-action').length, actionsBefore + 2);
  });

  it('on-demand: disconnects when idle (presence offline) and reconnects to send', async () => {
    const { agent, id } = await make({ connection: { mode: 'on-demand', idleSeconds: 1 } });
    await waitFor(() => !agent.connected, 'idle disconnect');
    await waitFor(
      () => hub.json<Presence>(deviceTopic.presence(id)).at(-1)?.online === false,
      'presence offline',
    );
    const presences = hub.json<Presence>(deviceTopic.presence(id));
    assert.deepEqual(presences.at(-1), { online: false });
    await agent.publish(CHANNEL, 'od', 'hello');
    await agent.whenConnected(10_000);
    await agent.flush();
    assert.ok(hub.received.some((m) => m.topic.endsWith('/od')));
  });

  it('periodic: connects, goes idle, and comes back after the interval', async () => {
    const { agent } = await make({
      connection: { mode: 'periodic', idleSeconds: 1, intervalSeconds: 1 },
    });
    await waitFor(() => !agent.connected, 'idle disconnect');
    await agent.whenConnected(10_000);
    assert.ok(agent.status().connects >= 2);
  });

  it('factory reset wipes keys and user data after answering, then enrolls anew', async () => {
    const { agent, files, id } = await make();
    const oldKey = agent.identity!.keyPem;
    await agent.twin.set('logging.level', 'debug');
    const reset = nextEvent(agent, 'factory-reset');
    hub.send(deviceTopic.command(id, 'fr-1'), {
      id: 'fr-1',
      name: 'factory-reset',
      params: {},
      deadline: new Date(Date.now() + 60_000).toISOString(),
    });
    await reset;
    const st = hub.json<CommandStatus>(deviceTopic.commandStatus(id, 'fr-1'));
    assert.equal(st.at(-1)?.state, 'succeeded', 'answered before the wipe');
    assert.equal(agent.twin.get('logging.level'), 'info', 'user data gone');
    await waitFor(() => agent.identity !== undefined, 'enrolled anew');
    assert.notEqual(agent.identity!.keyPem, oldKey, 'a new key');
    assert.equal((await files.list('commands/')).length, 0);
  });

  it('gives the local port its view: params through the twin, revoked tickets from the desired twin', async () => {
    const { agent, id } = await make();
    const host = agent.localPortHost();
    assert.equal(host.deviceId, id);
    assert.match(host.tlsCredentials().cert, /BEGIN CERTIFICATE/);
    assert.equal(host.ticketIssuers().length, 1);
    await host.setParam('sampling.intervalSeconds', 15);
    assert.equal(host.getParam('sampling.intervalSeconds'), 15);
    await assert.rejects(host.setParam('sampling.intervalSeconds', 'x'), /integer/);
    assert.equal(host.listParams()['logging.level'], 'info');
    hub.send(
      deviceTopic.desired(id),
      { version: 1, state: { tickets: { revoked: ['jti-1'] } } },
      true,
    );
    await waitFor(() => host.revokedTickets().has('jti-1'), 'revoked ticket');
  });
});
