import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BulwarkError } from '@bulwark/protocol';
import { createMemoryBus, newId, type Bus, type Envelope } from '@bulwark/core';

/** The slice of @bulwark/testkit this file uses (see the import below for why it is loaded late). */
interface Hooks {
  onError: (err: unknown) => void;
}
interface Testkit {
  busContract: (
    name: string,
    open: (hooks: Hooks) => Promise<Bus>,
    options?: { skip?: string | false; maxQueue?: number },
  ) => void;
  inProcessNodes: (create: (hooks: Hooks) => Bus) => (hooks: Hooks) => Promise<Bus>;
}

// Loaded at run time, not compile time: the testkit depends on core, so a static import would make
// core's build need the testkit's (a project-reference cycle that breaks a clean `tsc -b`).
const TESTKIT: string = '@bulwark/testkit';
const { busContract, inProcessNodes } = (await import(TESTKIT)) as Testkit;

// A small queue bound so the contract's 1,000-envelope bursts exercise backpressure too.
const MAX_QUEUE = 64;
busContract(
  'memory',
  inProcessNodes((hooks) => createMemoryBus({ maxQueue: MAX_QUEUE, onError: hooks.onError })),
  { maxQueue: MAX_QUEUE },
);

function envelope(): Envelope {
  return {
    id: newId(),
    orgId: newId(),
    channelId: newId(),
    subtopic: '',
    publisher: { type: 'device', id: 'd' },
    protocol: 'mqtt',
    contentType: 'application/octet-stream',
    receivedAt: Date.now(),
    payload: new Uint8Array([1]),
    origin: 'n',
  };
}

describe('memory bus', () => {
  it('calls handlers outside the stack of publish', async () => {
    const bus = createMemoryBus();
    let inPublish = false;
    let calledInPublish: boolean | undefined;
    await bus.subscribe(() => {
      calledInPublish = inPublish;
    });
    inPublish = true;
    const published = bus.publish(envelope());
    inPublish = false;
    await published;
    assert.equal(calledInPublish, undefined, 'not called before publish returned');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calledInPublish, false);
    await bus.close();
  });

  it('rejects waiting publishes when closed', async () => {
    const bus = createMemoryBus({ maxQueue: 1 });
    // A handler whose promise never settles (the bus awaits a returned promise; the port's
    // handler type says void, hence the cast).
    const stuck = (() => new Promise<void>(() => undefined)) as () => void;
    await bus.subscribe(stuck);
    await bus.publish(envelope());
    await new Promise((resolve) => setImmediate(resolve)); // the handler takes the first
    await bus.publish(envelope()); // fills the queue
    const waiting = bus.publish(envelope());
    await bus.close();
    await assert.rejects(waiting, (err: unknown) => {
      assert.ok(err instanceof BulwarkError);
      assert.equal(err.code, 'unavailable');
      return true;
    });
  });

  it('accepts publishes with no subscriber and refuses a silly queue bound', async () => {
    const bus = createMemoryBus();
    await bus.publish(envelope());
    await bus.close();
    assert.throws(() => createMemoryBus({ maxQueue: 0 }), RangeError);
  });

  it('keeps delivering when the error reporter itself throws', async () => {
    const bus = createMemoryBus({
      onError: () => {
        throw new Error('reporter failure');
      },
    });
    const got: string[] = [];
    await bus.subscribe((e) => {
      got.push(e.id);
      throw new Error('handler failure');
    });
    const a = envelope();
    const b = envelope();
    await bus.publish(a);
    await bus.publish(b);
    while (got.length < 2) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(got, [a.id, b.id]);
    await bus.close();
  });
});
