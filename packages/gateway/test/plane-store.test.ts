import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PlaneStore, type HeldMessage } from '../src/plane-store.js';
import { tempDir } from './helpers.js';

const X = '01a2b3c4-0000-7000-8000-000000000001';
const Y = '01a2b3c4-0000-7000-8000-000000000002';
const msg = (o: Partial<HeldMessage> & Pick<HeldMessage, 'kind' | 'param'>): HeldMessage => ({
  device: X,
  payload: Buffer.from(JSON.stringify({ id: o.param })),
  deadline: 0,
  ...o,
});

describe('the gateway’s store of hub messages for its site devices', () => {
  it('keeps them across a restart until the device answers; a resent command is not run twice', () => {
    const dir = tempDir();
    const file = join(dir, 'plane.db');
    const now = 1_000_000;
    let st = new PlaneStore(file, 100, () => now);
    assert.ok(st.put(msg({ kind: 'desired', param: '', payload: Buffer.from('{"version":1}') })));
    assert.ok(st.put(msg({ kind: 'command', param: 'c1', deadline: now + 60_000 })));
    assert.ok(st.put(msg({ kind: 'updateOffer', param: 'j1' })));
    st.close();
    st = new PlaneStore(file, 100, () => now);
    assert.deepEqual(
      st.pending(X).map((m) => `${m.kind}:${m.param}`),
      ['desired:', 'command:c1', 'updateOffer:j1'],
    );
    st.answered(X, 'command', 'c1');
    // The hub sends the command again on the device's next session: it stays answered.
    assert.ok(st.put(msg({ kind: 'command', param: 'c1', deadline: now + 60_000 })));
    assert.ok(!st.pending(X).some((m) => m.kind === 'command'));
    // A newer desired twin replaces the last; a cancel request replaces its job's offer.
    st.put(msg({ kind: 'desired', param: '', payload: Buffer.from('{"version":2}') }));
    st.answered(X, 'updateOffer', 'j1');
    st.put(msg({ kind: 'updateOffer', param: 'j1', payload: Buffer.from('{"action":"cancel"}') }));
    const p = st.pending(X);
    assert.equal(
      Buffer.from(p.find((m) => m.kind === 'desired')!.payload).toString(),
      '{"version":2}',
    );
    assert.equal(
      Buffer.from(p.find((m) => m.kind === 'updateOffer')!.payload).toString(),
      '{"action":"cancel"}',
    );
    assert.deepEqual(st.pending(Y), []);
    st.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never hands out a command past its deadline, and drops it', () => {
    const dir = tempDir();
    let now = 5_000_000;
    const st = new PlaneStore(join(dir, 'plane.db'), 100, () => now);
    st.put(msg({ kind: 'command', param: 'soon', deadline: now + 1_000 }));
    st.put(msg({ kind: 'command', param: 'later', deadline: now + 60_000 }));
    now += 1_000;
    assert.deepEqual(
      st.pending(X).map((m) => m.param),
      ['later'],
    );
    assert.equal(st.expired, 1);
    // Sent again by a hub that has not expired it yet: still not handed out.
    st.put(msg({ kind: 'command', param: 'soon', deadline: now - 1 }));
    assert.deepEqual(
      st.pending(X).map((m) => m.param),
      ['later'],
    );
    now += 60_000;
    st.prune();
    assert.deepEqual(st.pending(X), []);
    assert.equal(st.size, 0);
    st.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is bounded: answered rows make room first, then a new message is refused', () => {
    const dir = tempDir();
    let now = 9_000_000;
    const st = new PlaneStore(join(dir, 'plane.db'), 3, () => now);
    for (const c of ['a', 'b', 'c'])
      assert.ok(st.put(msg({ kind: 'command', param: c, deadline: now + 1_000 })));
    assert.equal(st.put(msg({ kind: 'command', param: 'd', deadline: now + 1_000 })), false);
    st.answered(X, 'command', 'a');
    now += 1_000; // past a's deadline: an answered row kept no longer
    assert.ok(st.put(msg({ kind: 'command', param: 'e', deadline: now + 1_000 })));
    assert.ok(st.size <= 3);
    st.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
