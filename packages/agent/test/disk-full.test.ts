/**
 * A full disk: the agent's state dir on a small tmpfs mounted for the test (root only; CI runs as
 * root). Without mount rights, outside CI, the same test runs on MemoryFiles with a capacity (an
 * ENOSPC-injecting AgentFiles) and says so; under CI=true a refused mount fails the test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deviceTopic, type DeviceEvent } from '@bulwark/protocol';
import { Agent } from '../src/agent.js';
import { parseAgentConfig } from '../src/config.js';
import { DirFiles } from '../src/files/dir-files.js';
import { MemoryFiles } from '../src/files/memory-files.js';
import type { AgentFiles } from '../src/ports.js';
import { IdentityStore } from '../src/runtime/identity.js';
import { DiskQueue } from '../src/runtime/queue.js';
import { SyntheticSystem } from '../src/sim/synthetic-system.js';
import { fakeCa } from './fake-ca.js';
import { cleanup, startPlayHub, tempDir, waitFor, type PlayHub } from './helpers.js';

const run = promisify(execFile);
const CHANNEL = '0b7c6f1e-8a2d-4c3b-9e5f-1a2b3c4d5e6f';

describe('full disk', () => {
  let mnt: string;
  let mounted = false;
  let files: AgentFiles;
  let hub: PlayHub;
  let ca: Awaited<ReturnType<typeof fakeCa>>;

  before(async () => {
    mnt = tempDir('bulwark-agent-tmpfs-');
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt]);
      mounted = true;
      files = await DirFiles.open(join(mnt, 'state'));
    } catch (err) {
      if (process.env['CI'] === 'true')
        throw new Error(`cannot mount a tmpfs under CI: ${(err as Error).message}`);
      files = new MemoryFiles({ capacityBytes: 256 * 1024 });
    }
    hub = await startPlayHub();
    ca = await fakeCa();
  });
  after(async () => {
    await hub.stop();
    // Lazy as a fallback: a test process running beside this one may hold the mount briefly.
    if (mounted) await run('umount', [mnt]).catch(() => run('umount', ['-l', mnt]));
    cleanup(mnt, ca.dir);
  });

  it('refuses new telemetry with a counted event, never corrupting the queue or the identity', async (t) => {
    t.diagnostic(
      mounted
        ? 'state dir on a 256 KiB tmpfs'
        : 'tmpfs mount refused: MemoryFiles with a 256 KiB capacity',
    );
    const config = parseAgentConfig({
      hubUrl: 'https://127.0.0.1:1',
      mqttUrl: `mqtt://127.0.0.1:${hub.port}`,
      caFile: join(ca.dir, 'ca.pem'),
      stateDir: mnt,
      enrollment: { token: 'x' },
      connection: { insecurePlaintextForTests: true, backoffMinMs: 20, backoffMaxMs: 200 },
    });
    const agent = new Agent({
      config,
      files,
      system: new SyntheticSystem(),
      certificateAuthority: ca,
      hubCa: '',
    });
    await agent.start();
    await agent.whenConnected();
    const id = agent.deviceId!;
    const keyBefore = agent.identity!.keyPem;
    await hub.stop();
    await waitFor(() => !agent.connected, 'offline');

    const payload = 'x'.repeat(4000);
    let queued = 0;
    let refusal: { code?: string } | undefined;
    for (let i = 0; i < 200 && refusal === undefined; i++) {
      try {
        await agent.publish(
          CHANNEL,
          'fill',
          `${String(i).padStart(4, '0')}${payload}`,
          'text/plain',
        );
        queued++;
      } catch (err) {
        refusal = err as { code?: string };
      }
    }
    assert.equal(refusal?.code, 'disk_full');
    await assert.rejects(agent.publish(CHANNEL, 'fill', payload), { code: 'disk_full' });
    assert.equal(agent.status().counters.refusedDisk, 2);
    assert.equal(agent.status().queue.telemetry.messages, queued);

    // What is on disk is intact: the identity loads, the queue reopens without a corrupt entry.
    const identity = await new IdentityStore(files).load();
    assert.equal(identity?.keyPem, keyBefore);
    const reopened = await DiskQueue.open(files, 'queue/telemetry/', config.queue);
    assert.equal(reopened.corrupt, 0);
    assert.equal(reopened.queue.length, queued);

    // The link returns: everything queued goes out in order, and the refusal is reported.
    await hub.restart();
    await agent.whenConnected(10_000);
    await agent.flush(10_000);
    const got = hub.received
      .filter((m) => m.topic.endsWith('/fill'))
      .map((m) => Buffer.from(m.payload).toString('utf8').slice(0, 4));
    assert.deepEqual(
      got,
      Array.from({ length: queued }, (_, i) => String(i).padStart(4, '0')),
    );
    await waitFor(
      () =>
        hub
          .json<DeviceEvent[]>(deviceTopic.events(id))
          .flat()
          .some((e) => e.kind === 'telemetry-refused'),
      'telemetry-refused event',
    );
    // With the queue drained there is room again.
    await agent.publish(CHANNEL, 'fill', 'after');
    await agent.stop();
  });
});
