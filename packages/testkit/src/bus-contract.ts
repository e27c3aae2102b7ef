/**
 * The Bus contract every bus adapter must pass (the in-process bus and NATS JetStream alike), and
 * the helpers its tests need: one-process "nodes" on a single in-process bus, and a NATS probe.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { newId, type Bus, type Envelope, type SenmlRecord, type Unsubscribe } from '@bulwark/core';

/** What the contract hands each node it opens: where the node reports handler failures. */
export interface BusHooks {
  /** Must be called for every handler that throws or rejects. */
  onError: (err: unknown) => void;
}

/**
 * Opens one node of the bus under test. Nodes open at the same time must reach each other: for
 * NATS a new connection on the same stream, for an in-process bus a handle on one instance (see
 * `inProcessNodes`). A function taking no arguments fits too.
 */
export type OpenBus = (hooks: BusHooks) => Promise<Bus>;

/** Options of busContract. */
export interface BusContractOptions {
  /** Skip the whole suite with this reason (e.g. the broker is unreachable); false runs it. */
  skip?: string | false;
  /**
   * The per-subscriber queue bound when `publish` applies backpressure to it (in-process buses);
   * enables the bounded-memory test. Omit for buses whose broker buffers (JetStream).
   */
  maxQueue?: number;
  /** How long to wait for expected deliveries, ms (default 15,000). */
  timeoutMs?: number;
}

const ORG = newId();
/** After the last expected delivery, how long to watch for deliveries that must not happen. */
const GRACE_MS = 150;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A gate a slow handler waits on; `open()` lets it (and every later wait) through. */
function gate(): { wait: () => Promise<void>; open: () => void } {
  let release: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (release = resolve));
  return { wait: () => opened, open: () => release() };
}

/** An envelope on `channelId` with defaults for every field. */
function envelope(channelId: string, fields: Partial<Envelope> = {}): Envelope {
  return {
    id: newId(),
    orgId: ORG,
    channelId,
    subtopic: '',
    publisher: { type: 'device', id: newId() },
    protocol: 'mqtt',
    contentType: 'application/octet-stream',
    receivedAt: Date.now(),
    payload: new Uint8Array([1, 2, 3]),
    origin: 'node-a',
    ...fields,
  };
}

/** Collects the envelopes of one channel a handler receives; `until(n)` waits for n of them. */
class Collector {
  readonly got: Envelope[] = [];
  #wake: (() => void) | undefined;

  constructor(
    private readonly channelId: string,
    private readonly timeoutMs: number,
    private readonly onEach?: (e: Envelope) => void | Promise<void>,
  ) {}

  /**
   * The handler to subscribe. It returns `onEach`'s promise, if any: the Bus contract has a bus
   * hold a handler's next envelope until that promise settles, although `Bus.subscribe` types
   * handlers as returning void (hence the cast, which only satisfies the lint rule).
   */
  readonly handler = ((e: Envelope): void | Promise<void> => {
    if (e.channelId !== this.channelId) return;
    this.got.push(e);
    this.#wake?.();
    return this.onEach?.(e);
  }) as (e: Envelope) => void;

  async until(n: number, what = 'envelopes'): Promise<Envelope[]> {
    const deadline = Date.now() + this.timeoutMs;
    while (this.got.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`expected ${n} ${what}, received ${this.got.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.got;
  }
}

/** Waits until `cond()` holds, polling, or fails with `what`. */
async function eventually(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** Resolved SenML records exercising every optional member. */
const SENML: SenmlRecord[] = [
  { n: 'urn:dev:ow:10e2073a01080063:temp', u: 'Cel', v: 23.5, t: 1_700_000_000.125 },
  { n: 'urn:dev:ow:10e2073a01080063:label', vs: 'kitchen "north"', t: 1_700_000_000 },
  { n: 'urn:dev:ow:10e2073a01080063:open', vb: false, t: 1_700_000_001, ut: 30 },
  { n: 'urn:dev:ow:10e2073a01080063:blob', vd: 'AAECA_-w', t: 1_700_000_002 },
  { n: 'urn:dev:ow:10e2073a01080063:energy', u: 'J', s: -0.000001, t: 1_700_000_003 },
];

/** Every byte value, so any text or base64 mangling of the payload shows. */
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

/**
 * Registers the one Bus contract every Bus adapter must pass, as `node:test` suites: fan-out to
 * every subscriber on every node with every field intact, publish order per node, acceptance
 * before `publish` resolves, unsubscribe, clean close, isolation of failing handlers, and slow
 * handlers (a handler's returned promise delays its next envelope) with bounded memory.
 */
export function busContract(name: string, open: OpenBus, options: BusContractOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 15_000;

  /** Opens `count` nodes, runs `fn`, then closes every node (close must be idempotent). */
  const withNodes = async (
    count: number,
    fn: (nodes: Bus[], errors: unknown[]) => Promise<void>,
  ): Promise<void> => {
    const errors: unknown[] = [];
    const nodes: Bus[] = [];
    try {
      for (let i = 0; i < count; i++) nodes.push(await open({ onError: (e) => errors.push(e) }));
      await fn(nodes, errors);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  };
  const collector = (
    channelId: string,
    onEach?: (e: Envelope) => void | Promise<void>,
  ): Collector => new Collector(channelId, timeoutMs, onEach);
  const node = (nodes: Bus[], i: number): Bus => {
    const n = nodes[i];
    assert.ok(n, `node ${i} is not open`);
    return n;
  };

  describe(`Bus contract: ${name}`, { skip: options.skip ?? false }, () => {
    it('delivers each envelope to every subscriber on every node with every field intact', () =>
      withNodes(2, async (nodes) => {
        const [a, b] = [node(nodes, 0), node(nodes, 1)];
        const channel = newId();
        const onA = collector(channel);
        const onB = collector(channel);
        await a.subscribe(onA.handler);
        await b.subscribe(onB.handler);
        const samples: Envelope[] = [
          envelope(channel, {
            contentType: 'application/senml+json',
            payload: ALL_BYTES.slice(),
            senml: SENML,
          }),
          envelope(channel, {
            subtopic: 'étage/σ/温度/🚀',
            publisher: { type: 'api_key', id: 'clé-ü-🔑' },
            protocol: 'http',
            contentType: 'text/plain; charset=utf-8',
            payload: new TextEncoder().encode('ünïcødé 🚀 \r\n\0 "quoted" \\'),
            senml: [{ n: '温度', vs: '🚀 "q" \\ \n\u2028 \ud800', t: 1.5 }],
            origin: 'nœud\r\nNats-Msg-Id: forged',
          }),
          envelope(channel, { protocol: 'coap', payload: new Uint8Array(0), receivedAt: 0 }),
          envelope(channel, { protocol: 'ws', subtopic: 'a/b/c', senml: [] }),
        ];
        for (const e of samples) await a.publish(e);
        const fromB = envelope(channel, { origin: 'node-b', payload: ALL_BYTES.slice(128) });
        await b.publish(fromB);
        for (const [label, c] of [
          ['the subscriber on the publishing node', onA],
          ['the subscriber on the other node', onB],
        ] as const) {
          const got = await c.until(samples.length + 1);
          // Order across publishing nodes is not promised: check A's four, then B's one.
          assert.deepEqual(
            got.filter((e) => e.origin !== 'node-b'),
            samples,
            `${label}: envelopes from node A`,
          );
          assert.deepEqual(
            got.filter((e) => e.origin === 'node-b'),
            [fromB],
            `${label}: envelope from B`,
          );
          for (const e of got) assert.ok(e.payload instanceof Uint8Array, 'payload is bytes');
        }
      }));

    it('keeps publish order per publishing node (1,000 envelopes from two nodes at once)', () =>
      withNodes(2, async (nodes) => {
        const [a, b] = [node(nodes, 0), node(nodes, 1)];
        const channel = newId();
        const onA = collector(channel);
        const onB = collector(channel);
        await a.subscribe(onA.handler);
        await b.subscribe(onB.handler);
        const PER_NODE = 500;
        const burst = (bus: Bus, origin: string): Promise<void[]> =>
          // Started together, not awaited one by one: order must hold without the caller's help.
          Promise.all(
            Array.from({ length: PER_NODE }, (_, i) =>
              bus.publish(envelope(channel, { origin, subtopic: `seq/${i}` })),
            ),
          );
        await Promise.all([burst(a, 'node-a'), burst(b, 'node-b')]);
        for (const c of [onA, onB]) {
          const got = await c.until(2 * PER_NODE);
          for (const origin of ['node-a', 'node-b']) {
            const seq = got.filter((e) => e.origin === origin).map((e) => e.subtopic);
            assert.deepEqual(
              seq,
              Array.from({ length: PER_NODE }, (_, i) => `seq/${i}`),
              `order of ${origin}`,
            );
          }
        }
      }));

    it('resolves publish only once accepted: envelopes survive their publisher closing', () =>
      withNodes(2, async (nodes) => {
        const [a, b] = [node(nodes, 0), node(nodes, 1)];
        const channel = newId();
        const onB = collector(channel);
        await b.subscribe(onB.handler);
        const sent: Envelope[] = [];
        for (let i = 0; i < 50; i++) {
          const e = envelope(channel, { subtopic: `n/${i}` });
          sent.push(e);
          await a.publish(e);
        }
        await a.close(); // straight after the last publish resolved
        assert.deepEqual(await onB.until(sent.length), sent);
      }));

    it('stops delivery to a handler once its unsubscribe resolves, and only to it', () =>
      withNodes(2, async (nodes) => {
        const [a, b] = [node(nodes, 0), node(nodes, 1)];
        const channel = newId();
        const gone = collector(channel);
        const stays = collector(channel);
        const unsubscribe: Unsubscribe = await a.subscribe(gone.handler);
        await a.subscribe(stays.handler);
        await b.publish(envelope(channel));
        await gone.until(1);
        await stays.until(1);
        await unsubscribe();
        await unsubscribe(); // a second call is harmless
        await b.publish(envelope(channel));
        await a.publish(envelope(channel));
        await stays.until(3);
        await delay(GRACE_MS);
        assert.equal(gone.got.length, 1, 'no delivery after unsubscribe');
      }));

    it('reports a throwing or rejecting handler and keeps delivering to it and to others', () =>
      withNodes(2, async (nodes, errors) => {
        const [a, b] = [node(nodes, 0), node(nodes, 1)];
        const channel = newId();
        const boom = new Error('handler failure (expected by the test)');
        const nope = new Error('async handler rejection (expected by the test)');
        const throws = collector(channel, () => {
          throw boom;
        });
        const rejects = collector(channel, async () => {
          throw nope;
        });
        const fine = collector(channel);
        await a.subscribe(throws.handler);
        await a.subscribe(rejects.handler);
        await a.subscribe(fine.handler);
        const sent = [envelope(channel), envelope(channel), envelope(channel)];
        for (const e of sent) await b.publish(e);
        assert.deepEqual(await fine.until(3), sent);
        assert.deepEqual(await throws.until(3), sent);
        assert.deepEqual(await rejects.until(3), sent);
        await eventually(() => errors.length >= 6, 'six reported handler errors', timeoutMs);
        assert.equal(errors.filter((e) => e === boom).length, 3, 'every throw reported');
        assert.equal(errors.filter((e) => e === nope).length, 3, 'every rejection reported');
      }));

    it('closes cleanly: no delivery afterwards, later calls reject, close twice is harmless', () =>
      withNodes(2, async (nodes) => {
        const [a, b] = [node(nodes, 0), node(nodes, 1)];
        const channel = newId();
        const onA = collector(channel);
        const onB = collector(channel);
        await a.subscribe(onA.handler);
        await b.subscribe(onB.handler);
        await b.close();
        await b.close();
        await a.publish(envelope(channel));
        await onA.until(1);
        await delay(GRACE_MS);
        assert.equal(onB.got.length, 0, 'a closed node delivers nothing');
        await assert.rejects(b.publish(envelope(channel)), Error, 'publish after close');
        await assert.rejects(
          b.subscribe(() => undefined),
          Error,
          'subscribe after close',
        );
      }));

    it("delays a handler's next envelope until its promise settles, losing nothing", () =>
      withNodes(2, async (nodes) => {
        const [a, b] = [node(nodes, 0), node(nodes, 1)];
        const channel = newId();
        const g = gate();
        let inFlight = 0;
        let maxInFlight = 0;
        const slow = collector(channel, async () => {
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await g.wait();
          inFlight--;
        });
        await b.subscribe(slow.handler);
        const N = 300;
        const sent = Array.from({ length: N }, (_, i) => envelope(channel, { subtopic: `s/${i}` }));
        const publishing = Promise.all(sent.map((e) => a.publish(e)));
        await slow.until(1);
        await delay(50);
        assert.equal(slow.got.length, 1, 'no second envelope while the first is in progress');
        g.open();
        await publishing;
        assert.deepEqual(await slow.until(N), sent);
        assert.equal(maxInFlight, 1, 'one envelope at a time per handler');
      }));

    const maxQueue = options.maxQueue;
    it(
      'makes publish wait, not queue without bound, while a subscriber is blocked',
      { skip: maxQueue === undefined ? 'the broker buffers; no in-process queue bound' : false },
      () =>
        withNodes(1, async (nodes) => {
          assert.ok(maxQueue !== undefined);
          const a = node(nodes, 0);
          const channel = newId();
          const g = gate();
          const blocked = collector(channel, () => g.wait());
          await a.subscribe(blocked.handler);
          const total = 2 * maxQueue + 10;
          let accepted = 0;
          const sent = Array.from({ length: total }, () => envelope(channel));
          const publishing = Promise.all(sent.map((e) => a.publish(e).then(() => accepted++)));
          await blocked.until(1);
          await delay(50);
          // One envelope is with the handler, at most maxQueue wait in its queue.
          assert.ok(accepted <= maxQueue + 1, `accepted ${accepted} > maxQueue + 1`);
          assert.ok(accepted < total, 'publish waits while the subscriber is blocked');
          g.open();
          await publishing;
          assert.equal(accepted, total);
          assert.deepEqual(await blocked.until(total), sent);
        }),
    );
  });
}

/**
 * Makes `open` functions for a bus that lives in one process: every node handed out while another
 * is open is a handle on the same bus, created for the first and closed with the last. Closing a
 * handle ends its own subscriptions and rejects its later calls; handler errors go to the hooks of
 * the earliest node still open.
 */
export function inProcessNodes(create: (hooks: BusHooks) => Bus): OpenBus {
  let shared: Bus | undefined;
  const hooks = new Set<BusHooks>();
  const firstHooks: BusHooks = {
    // One shared bus cannot tell whose handler failed: the earliest open node hears of it.
    onError: (err) => {
      for (const h of hooks) return h.onError(err);
    },
  };
  return async (nodeHooks) => {
    shared ??= create(firstHooks);
    const bus = shared;
    hooks.add(nodeHooks);
    const subscriptions = new Set<Unsubscribe>();
    let closed = false;
    const closedError = (): Error => new Error('this bus node is closed');
    return {
      publish: (e) => (closed ? Promise.reject(closedError()) : bus.publish(e)),
      async subscribe(handler) {
        if (closed) throw closedError();
        const unsubscribe = await bus.subscribe(handler);
        const once: Unsubscribe = async () => {
          if (subscriptions.delete(once)) await unsubscribe();
        };
        subscriptions.add(once);
        return once;
      },
      async close() {
        if (closed) return;
        closed = true;
        await Promise.all([...subscriptions].map((u) => u()));
        hooks.delete(nodeHooks);
        if (hooks.size === 0 && shared === bus) {
          shared = undefined;
          await bus.close();
        }
      },
    };
  };
}

/** The default NATS server for tests: a local one with JetStream enabled. */
export const DEFAULT_NATS_TEST_URL = 'nats://127.0.0.1:4222';

/** The NATS URL tests use: `BULWARK_TEST_NATS_URL`, or the local default. */
export function natsTestUrl(): string {
  const url = process.env['BULWARK_TEST_NATS_URL'];
  return url !== undefined && url !== '' ? url : DEFAULT_NATS_TEST_URL;
}

/** `url` with any credentials masked, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    if (u.username !== '') u.username = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * Why a NATS server with JetStream at `url` cannot be used, or undefined when it greets us. Uses a
 * plain TCP connection and the server's `INFO` line, so the testkit needs no NATS client.
 */
export function probeNats(url: string = natsTestUrl()): Promise<string | undefined> {
  const where = `NATS at ${redact(url)}`;
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = u.port === '' ? 4222 : Number(u.port);
  } catch {
    return Promise.resolve(`${where}: not a valid URL`);
  }
  return new Promise((resolve) => {
    let buffered = '';
    const socket = connect({ host, port });
    const done = (problem: string | undefined): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(problem);
    };
    // Short timeout: an absent server should cost a test run seconds, not minutes.
    const timer = setTimeout(() => done(`${where} did not answer within 3 s`), 3000);
    socket.setEncoding('utf8');
    socket.on('error', (err) => done(`${where} is unreachable: ${err.message}`));
    socket.on('close', () => done(`${where} closed the connection before greeting`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\r\n');
      if (end === -1) {
        if (buffered.length > 65_536) done(`${where} sent no INFO line`);
        return;
      }
      const line = buffered.slice(0, end);
      if (!line.startsWith('INFO ')) return done(`${where} answered, but not as a NATS server`);
      let info: unknown;
      try {
        info = JSON.parse(line.slice(5));
      } catch {
        return done(`${where} sent an unreadable INFO line`);
      }
      if ((info as { jetstream?: unknown }).jetstream !== true) {
        return done(`${where} has JetStream disabled (start nats-server with -js)`);
      }
      done(undefined);
    });
  });
}

/**
 * Decides whether this file's NATS suites run. Returns `false` when NATS with JetStream answers;
 * otherwise a skip reason. Under `CI=true` an unreachable server is a failure, not a skip: a
 * failing test saying so is registered (and the reason is still returned so the suites skip).
 */
export async function requireNats(url: string = natsTestUrl()): Promise<string | false> {
  const problem = await probeNats(url);
  if (problem === undefined) return false;
  if (process.env['CI'] === 'true') {
    it('NATS with JetStream is reachable (required when CI=true)', () => {
      assert.fail(`${problem}. Start nats-server -js or set BULWARK_TEST_NATS_URL.`);
    });
    return `${problem} (reported as a failure because CI=true)`;
  }
  return `${problem}; set BULWARK_TEST_NATS_URL or start nats-server -js to run these tests`;
}
