/**
 * End to end through the hub's API: desired twin patched over REST reaches the agent and its
 * report comes back; commands sent over REST run on the device; presence and events reach the hub.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BulwarkClient } from '@bulwark/sdk';
import { Agent } from '../src/agent.js';
import { DirFiles } from '../src/files/dir-files.js';
import { SyntheticSystem } from '../src/sim/synthetic-system.js';
import {
  agentConfig,
  cleanup,
  nextEvent,
  provisionDevice,
  setupOwner,
  startTestHub,
  tempDir,
  waitFor,
  type TestHub,
} from './helpers.js';

describe('agent end to end through the hub API', () => {
  let t: TestHub;
  let api: BulwarkClient;
  let agent: Agent;
  let deviceId: string;
  let dir: string;

  before(async () => {
    t = await startTestHub();
    api = (await setupOwner(t)).api;
    const channelId = (await api.call('createChannel', { body: { name: 'e2e' } })).id;
    const p = await provisionDevice(api, 'e2e-1', channelId);
    deviceId = p.deviceId;
    dir = tempDir();
    agent = new Agent({
      config: agentConfig(t, dir, { enrollment: { token: p.token } }),
      files: await DirFiles.open(dir),
      system: new SyntheticSystem(),
    });
    await agent.start();
    await agent.whenConnected(15_000);
  });
  after(async () => {
    await agent.stop();
    await t.close();
    cleanup(dir);
  });

  const command = async (name: string, params: Record<string, unknown> = {}) => {
    const c = await api.call('sendCommand', {
      params: { id: deviceId },
      body: { name, params: params, timeoutSeconds: 60 },
    });
    let last = c;
    await waitFor(async () => {
      last = await api.call('getCommand', { params: { id: c.id } });
      return ['succeeded', 'failed', 'expired', 'canceled'].includes(last.state);
    }, `command ${name}`);
    return last;
  };

  it('the hub sees the device online in its mode', async () => {
    await waitFor(
      async () => (await api.call('getPresence', { params: { id: deviceId } })).online,
      'presence online',
    );
  });

  it('a desired patch is applied and reported; a wrong type is reported as an error', async () => {
    await api.call('patchDesired', {
      params: { id: deviceId },
      body: { patch: { logging: { level: 'debug' }, sampling: { intervalSeconds: 'often' } } },
    });
    let twin = await api.call('getTwin', { params: { id: deviceId } });
    await waitFor(async () => {
      twin = await api.call('getTwin', { params: { id: deviceId } });
      return twin.reported?.desiredVersion === twin.desired.version;
    }, 'the report for the new desired version');
    assert.equal(agent.twin.get('logging.level'), 'debug');
    assert.deepEqual(
      twin.reported!.errors.map((e) => e.path),
      ['sampling.intervalSeconds'],
    );
    assert.equal(twin.inSync, false);
  });

  it('commands run on the device: ping succeeds, an unknown one fails with unknown_command', async () => {
    const ping = await command('ping');
    assert.equal(ping.state, 'succeeded');
    assert.equal(ping.result?.['pong'], true);
    const unknown = await command('make-coffee');
    assert.equal(unknown.state, 'failed');
    assert.equal(unknown.error?.code, 'unknown_command');
  });

  it('a command whose hub vanished mid-run reports its result after reconnect', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    agent.commands.register('slow', {
      run: async () => {
        await gate;
        return { done: true };
      },
    });
    const c = await api.call('sendCommand', {
      params: { id: deviceId },
      body: { name: 'slow', timeoutSeconds: 120 },
    });
    await waitFor(
      async () => (await api.call('getCommand', { params: { id: c.id } })).state === 'delivered',
      'delivered',
    );
    await t.stop();
    await waitFor(() => !agent.connected, 'offline');
    release();
    await t.restart();
    await agent.whenConnected(20_000);
    await waitFor(
      async () => (await api.call('getCommand', { params: { id: c.id } })).state === 'succeeded',
      'succeeded after reconnect',
      20_000,
    );
  });

  it('factory reset wipes the identity; the used token is refused and a new one enrolls', async () => {
    const channelId = (await api.call('createChannel', { body: { name: 'reset' } })).id;
    const p = await provisionDevice(api, 'reset-1', channelId);
    const rdir = tempDir();
    const tokenFile = join(rdir, 'token');
    writeFileSync(tokenFile, p.token);
    const a = new Agent({
      config: agentConfig(t, join(rdir, 'state'), { enrollment: { tokenFile } }),
      files: await DirFiles.open(join(rdir, 'state')),
      system: new SyntheticSystem(),
    });
    try {
      await a.start();
      await a.whenConnected(15_000);
      const first = a.identity!;
      const refused = nextEvent<Error>(a, 'enrollment-failed');
      await a.factoryReset();
      assert.equal(a.identity, undefined);
      assert.ok(
        !(await a.files.list('identity/')).some((n) => n.includes('cert-')),
        'no certificate left',
      );
      assert.match((await refused).message, /token/i);
      writeFileSync(tokenFile, (await api.devices.createEnrollmentToken(p.deviceId, {})).token);
      await a.whenConnected(20_000);
      assert.equal(a.deviceId, p.deviceId);
      assert.notEqual(a.identity!.serial, first.serial);
      assert.notEqual(a.identity!.keyPem, first.keyPem);
    } finally {
      await a.stop();
      cleanup(rdir);
    }
  });

  it('events the device records reach the hub', async () => {
    agent.report({
      kind: 'test-event',
      severity: 'info',
      at: new Date().toISOString(),
      detail: { n: 1 },
    });
    await waitFor(async () => {
      const page = await api.call('listDeviceEvents', { params: { id: deviceId }, query: {} });
      return page.items.some((e) => e.kind === 'test-event');
    }, 'the event at the hub');
  });
});
