import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnAgent, writeConfig, type AgentProcess } from './process-helpers.js';
import { cleanup, tempDir } from './helpers.js';
import { fakeCa } from './fake-ca.js';

describe('watchdog: the supervisor restarts a hung or crashed worker', () => {
  const dirs: string[] = [];
  let p: AgentProcess | undefined;
  after(async () => {
    await p?.kill9();
    cleanup(...dirs);
  });

  it('kills a worker whose heartbeats stop (SIGSTOP), restarts it, restarts a crashed one, and stops cleanly on SIGTERM', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const ca = await fakeCa();
    dirs.push(ca.dir);
    // No hub at all: the worker keeps retrying enrollment, which is enough to be alive.
    const file = writeConfig(join(dir, 'agent.json'), {
      hubUrl: 'https://127.0.0.1:9',
      mqttUrl: 'mqtts://127.0.0.1:9',
      caFile: join(ca.dir, 'ca.pem'),
      stateDir: join(dir, 'state'),
      enrollment: { token: 'x' },
      connection: { backoffMinMs: 200, backoffMaxMs: 1000 },
      watchdog: { heartbeatSeconds: 1, timeoutSeconds: 3 },
    });
    p = spawnAgent(file);
    const first = Number((await p.waitLine(/worker started \(pid (\d+)\)/))[1]);
    await p.waitLine(/agent started/);
    process.kill(first, 'SIGSTOP'); // a hang: the event loop runs no more
    await p.waitLine(new RegExp(`worker hung .*killing pid ${first}`), 15_000);
    const at = p.lines.length;
    const second = Number((await p.waitLine(/worker started \(pid (\d+)\)/, 15_000, at))[1]);
    assert.notEqual(second, first);
    await p.waitLine(/agent started/, 15_000, at);
    const at2 = p.lines.length;
    process.kill(second, 'SIGKILL'); // a crash
    await p.waitLine(/worker exited \(SIGKILL\); restarting/, 15_000, at2);
    const third = Number((await p.waitLine(/worker started \(pid (\d+)\)/, 15_000, at2))[1]);
    assert.notEqual(third, second);
    await p.waitLine(/agent started/, 15_000, at2);
    process.kill(p.child.pid!, 'SIGTERM');
    assert.equal(await p.exited, 0);
  });
});
