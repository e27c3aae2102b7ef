import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { BulwarkError } from '@bulwark/protocol';
import { newId, type Bus, type Envelope } from '@bulwark/core';
import { busContract, natsTestUrl, requireNats } from '@bulwark/testkit';
import { createNatsBus, type NatsBusOptions } from '@bulwark/bus-nats';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

const url = natsTestUrl();
const skip = await requireNats(url);

// Unique per run (pid + random) so parallel runs sharing one server never see each other; every
// stream named here is deleted when the file ends.
const run = `T${process.pid}_${randomBytes(4).toString('hex')}`;
const streams: string[] = [];
let counter = 0;
/** Options for a fresh stream and subject prefix of this run. */
function fresh(): NatsBusOptions & { stream: string; subjectPrefix: string } {
  const n = ++counter;
  const stream = `BULWARK_${run}_${n}`;
  streams.push(stream);
  return { servers: url, stream, subjectPrefix: `bulwark.test.${run}_${n}` };
}

after(async () => {
  if (skip !== false || streams.length === 0) return;
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    for (const s of streams) await jsm.streams.delete(s).catch(() => false);
  } finally {
    await nc.close();
  }
});

const shared = fresh();
busContract(
  'nats',
  (hooks) => createNatsBus({ ...shared, name: 'bulwark-contract', onError: hooks.onError }),
  { skip },
);

function envelope(channelId: string, fields: Partial<Envelope> = {}): Envelope {
  return {
    id: newId(),
    orgId: newId(),
    channelId,
    subtopic: '',
    publisher: { type: 'device', id: 'd1' },
    protocol: 'mqtt',
    contentType: 'application/octet-stream',
    receivedAt: Date.now(),
    payload: randomBytes(64),
    origin: 'node-a',
    ...fields,
  };
}

/** Opens buses for one test and closes them at its end. */
async function withBuses<T>(
  opens: (() => Promise<Bus>)[],
  fn: (buses: Bus[]) => Promise<T>,
): Promise<T> {
  const buses: Bus[] = [];
  try {
    for (const open of opens) buses.push(await open());
    return await fn(buses);
  } finally {
    await Promise.all(buses.map((b) => b.close()));
  }
}

const isUnavailable = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof BulwarkError, `expected a BulwarkError, got ${String(err)}`);
  assert.equal(err.code, 'unavailable');
  assert.match(err.message, pattern);
  return true;
};

describe('NATS bus', () => {
  it('fails clearly when NATS is unreachable', async () => {
    await assert.rejects(
      createNatsBus({ servers: 'nats://127.0.0.1:1', stream: 'NEVER_CREATED' }),
      isUnavailable(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/),
    );
  });

  describe('against the server', { skip }, () => {
    it('creates the stream as a bounded, deduplicating transport buffer', async () => {
      const opts = { ...fresh(), maxAgeSeconds: 3600, duplicateWindowSeconds: 60 };
      await withBuses([() => createNatsBus(opts)], async () => {
        const nc = await connect({ servers: url });
        try {
          const jsm = await jetstreamManager(nc);
          const { config } = await jsm.streams.info(opts.stream);
          assert.deepEqual(config.subjects, [`${opts.subjectPrefix}.>`]);
          assert.equal(config.storage, 'file');
          assert.equal(config.retention, 'limits');
          assert.equal(config.discard, 'old');
          assert.equal(config.max_age, 3600 * 1e9);
          assert.equal(config.duplicate_window, 60 * 1e9);
          // A node started with other limits brings the shared stream in line.
          await (await createNatsBus({ ...opts, maxAgeSeconds: 7200 })).close();
          assert.equal((await jsm.streams.info(opts.stream)).config.max_age, 7200 * 1e9);
        } finally {
          await nc.close();
        }
      });
    });

    it('accepts a retried publish of the same envelope once (Nats-Msg-Id dedup)', async () => {
      const opts = fresh();
      await withBuses([() => createNatsBus(opts), () => createNatsBus(opts)], async ([a, b]) => {
        assert.ok(a && b);
        const channel = newId();
        const got: Envelope[] = [];
        await b.subscribe((e) => void got.push(e));
        const e = envelope(channel);
        await a.publish(e);
        await a.publish(e); // as after a lost ack
        const marker = envelope(channel);
        await a.publish(marker);
        while (got.length < 2) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(
          got.map((x) => x.id),
          [e.id, marker.id],
        );
      });
    });

    it('rejects a publish when the stream is missing, never losing it silently', async () => {
      const opts = { ...fresh(), publishTimeoutMs: 1_000 };
      await withBuses([() => createNatsBus(opts)], async ([a]) => {
        assert.ok(a);
        const nc = await connect({ servers: url });
        try {
          await (await jetstreamManager(nc)).streams.delete(opts.stream);
        } finally {
          await nc.close();
        }
        await assert.rejects(
          a.publish(envelope(newId())),
          isUnavailable(/was not accepted: no JetStream stream answered .*is stream .* missing/),
        );
      });
    });

    it('rejects publishing after close', async () => {
      const bus = await createNatsBus(fresh());
      await bus.close();
      await assert.rejects(bus.publish(envelope(newId())), isUnavailable(/closed/));
    });

    it('sustains a publish rate (5,000 envelopes, 256 in flight)', async (t) => {
      const opts = fresh();
      await withBuses([() => createNatsBus(opts), () => createNatsBus(opts)], async ([a, b]) => {
        assert.ok(a && b);
        const N = 5_000;
        const IN_FLIGHT = 256;
        const channel = newId();
        let received = 0;
        let allReceived: () => void = () => undefined;
        const done = new Promise<void>((resolve) => (allReceived = resolve));
        await b.subscribe(() => {
          if (++received === N) allReceived();
        });
        const envelopes = Array.from({ length: N }, () =>
          envelope(channel, { payload: randomBytes(200) }),
        );
        const start = performance.now();
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < N) {
            const e = envelopes[next++];
            if (e) await a.publish(e);
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
        const published = performance.now() - start;
        await done;
        const delivered = performance.now() - start;
        const rate = (ms: number): string =>
          `${Math.round((N / ms) * 1000).toLocaleString('en')}/s`;
        t.diagnostic(
          `publish+ack: ${N} × 200 B in ${published.toFixed(0)} ms = ${rate(published)}; ` +
            `delivered to another node in ${delivered.toFixed(0)} ms = ${rate(delivered)}`,
        );
        assert.equal(received, N);
      });
    });
  });
});
