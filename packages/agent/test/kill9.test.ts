/**
 * kill -9 of `bulwark agent` (supervisor and worker together, as a power cut) at several points:
 * between key generation and enrollment, while connected, and in the middle of sending the queue.
 * The identity is never lost and no queued message is lost.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { channelTopic } from '@bulwark/protocol';
import { DirFiles } from '../src/files/dir-files.js';
import { DiskQueue } from '../src/runtime/queue.js';
import {
  channelPayloads,
  cleanup,
  provisionDevice,
  setupOwner,
  startTestHub,
  tempDir,
  waitFor,
  type TestHub,
} from './helpers.js';
import { spawnAgent, writeConfig, type AgentProcess } from './process-helpers.js';

describe('kill -9 of the agent process', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  let dir: string;
  let p: AgentProcess | undefined;

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    channelId = (await s.api.call('createChannel', { body: { name: 'kill9' } })).id;
    dir = tempDir();
  });
  after(async () => {
    await p?.kill9();
    await t.close();
    cleanup(dir);
  });

  const state = () => join(dir, 'state');
  const config = (hubUrl: string, token: string) =>
    writeConfig(join(dir, 'agent.json'), {
      hubUrl,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      caFile: t.caFile,
      stateDir: state(),
      enrollment: { token },
      connection: { backoffMinMs: 100, backoffMaxMs: 1000 },
    });

  it('keeps identity and queue across kill -9 at enrollment, while connected, and mid-flush', async () => {
    const { deviceId, token } = await provisionDevice(s.api, 'kill9-device', channelId);

    // 1. Key written, enrollment not done yet (the hub URL points nowhere): kill -9.
    p = spawnAgent(config('https://127.0.0.1:9', token));
    const keyFile = join(state(), 'identity', 'key-1.pem');
    await waitFor(() => existsSync(keyFile), 'the key file', 15_000);
    await p.waitLine(/enrollment failed/);
    await p.kill9();
    const key = readFileSync(keyFile, 'utf8');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);

    // 2. Start again against the real hub: it enrolls the key it already had and connects.
    p = spawnAgent(config(t.url, token));
    await p.waitLine(/connected to mqtts/, 20_000);
    assert.equal(readFileSync(keyFile, 'utf8'), key, 'the same key was enrolled');
    const certs = await s.api.call('listCertificates', { params: { id: deviceId } });
    assert.equal(certs.length, 1);
    // Killed while connected and idle.
    await p.kill9();

    // 3. A backlog in the queue (written with the agent's own queue code while it is down) …
    const files = await DirFiles.open(state());
    const { queue } = await DiskQueue.open(files, 'queue/telemetry/', {
      maxMessages: 10_000,
      maxBytes: 1 << 24,
      overflow: 'refuse-new',
    });
    const sent: string[] = [];
    for (let i = 0; i < 300; i++) {
      const payload = `k9-${String(i).padStart(4, '0')}`;
      sent.push(payload);
      await queue.push({
        topic: channelTopic(channelId, 'seq'),
        payload: new TextEncoder().encode(payload),
        contentType: 'text/plain',
        qos: 1,
        at: Date.now(),
      });
    }
    // … is being sent when the agent is killed again.
    p = spawnAgent(config(t.url, token));
    await waitFor(
      async () => (await channelPayloads(s.api, channelId)).length > 0,
      'the first messages',
      20_000,
    );
    await p.kill9();
    const partial = (await channelPayloads(s.api, channelId)).length;

    // 4. After the restart every message arrives; first arrivals are in order (at-least-once:
    // a message in flight at the kill may arrive twice).
    p = spawnAgent(config(t.url, token));
    await waitFor(
      async () => new Set(await channelPayloads(s.api, channelId)).size === sent.length,
      'all messages',
      30_000,
    );
    const got = await channelPayloads(s.api, channelId);
    const firsts = got.filter((v, i) => got.indexOf(v) === i);
    assert.deepEqual(firsts, sent);
    assert.equal(readFileSync(keyFile, 'utf8'), key, 'identity unchanged');
    assert.equal((await s.api.call('listCertificates', { params: { id: deviceId } })).length, 1);
    process.stdout.write(
      `# kill -9 mid-flush after ${partial} of ${sent.length} stored; ${got.length - sent.length} duplicates\n`,
    );
    await p.kill9();
  });
});
