/** The MQTT/TLS listener's FIFO gate (decision 0022); the listener itself is tested in the hub. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionGate } from '../../src/messaging/connection-gate.js';

describe('connection gate', () => {
  const limits = { concurrent: 2, queue: 3, slotMs: 60_000, busyPerSecond: 2 };

  it('starts at most `concurrent` at once, the rest in arrival order as slots free', () => {
    const gate = new ConnectionGate(limits);
    const started: number[] = [];
    const releases: (() => void)[] = [];
    for (let i = 0; i < 5; i++)
      assert.equal(
        gate.enter(
          (release) => {
            started.push(i);
            releases.push(release);
          },
          () => false,
        ),
        'queued',
      );
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual(gate.stats(), { active: 2, waiting: 3, busy: 0, closed: 0 });
    releases[1]!();
    releases[1]!(); // a second release of one slot frees nothing more
    assert.deepEqual(started, [0, 1, 2]);
    releases[0]!();
    assert.deepEqual(started, [0, 1, 2, 3]);
    assert.equal(gate.stats().active, 2);
  });

  it('past the queue: "busy" within the per-second budget, then closed; next second, busy again', () => {
    let now = 10_000;
    const gate = new ConnectionGate(limits, () => now);
    const hold = () => undefined;
    for (let i = 0; i < 5; i++) gate.enter(hold, () => false);
    assert.equal(
      gate.enter(hold, () => false),
      'busy',
    );
    assert.equal(
      gate.enter(hold, () => false),
      'busy',
    );
    assert.equal(
      gate.enter(hold, () => false),
      'closed',
    );
    now += 1000;
    assert.equal(
      gate.enter(hold, () => false),
      'busy',
    );
    assert.deepEqual(gate.stats(), { active: 2, waiting: 3, busy: 3, closed: 1 });
  });

  it('a connection that left while waiting is skipped; a held slot comes back after slotMs', async () => {
    const gate = new ConnectionGate({ ...limits, concurrent: 1, slotMs: 50 });
    const started: string[] = [];
    gate.enter(
      () => started.push('a'),
      () => false,
    );
    gate.enter(
      () => started.push('gone'),
      () => true,
    );
    gate.enter(
      () => started.push('c'),
      () => false,
    );
    assert.deepEqual(started, ['a']);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(started, ['a', 'c'], "a's slot timed out; the one that left was skipped");
  });
});
