/**
 * Robustness: a flood of QoS 1 publishers against a subscriber that stops reading (bounded memory,
 * no acknowledged message lost, refusals visible), and seeded random / mutated packets.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import { collect, connect, sleep, startBroker, until } from './helpers.js';
import { RawClient } from './raw-client.js';

describe('Flood with a subscriber that stops reading', () => {
  it(
    'stays up, bounds memory, loses no PUBACKed message, and refuses visibly',
    { timeout: 30_000 },
    async () => {
      const b = await startBroker({
        limits: {
          maxMessagesPerSecond: 0, // a flood: no per-connection throttle
          maxQueuedMessages: 2000,
          socketHighWaterMark: 64 * 1024,
          backpressureTimeoutMs: 1000,
        },
      });
      try {
        // The slow subscriber: a raw socket that acknowledges everything, but only when it reads.
        const sock = net.connect(b.port, '127.0.0.1');
        await new Promise((r) => sock.once('connect', r));
        const parser = mqttPacket.parser({ protocolVersion: 4 });
        const delivered = new Set<string>();
        parser.on('packet', (p: Packet) => {
          if (p.cmd !== 'publish') return;
          delivered.add(p.payload.toString().slice(0, 24).trim());
          if (p.qos === 1)
            sock.write(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId! }));
        });
        sock.on('data', (d: Buffer) => parser.parse(d));
        const gen = (p: Record<string, unknown>): Buffer =>
          mqttPacket.generate(p as unknown as Packet, { protocolVersion: 4 });
        sock.write(
          gen({ cmd: 'connect', clientId: 'slow', protocolVersion: 4, clean: true, keepalive: 0 }),
        );
        sock.write(
          gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos: 1 }] }),
        );
        await until(() => b.engine.stats().subscriptions === 1);
        sock.pause(); // stop reading: the engine's socket buffer and then the session queue fill

        const rss0 = process.memoryUsage().rss;
        let rssMax = rss0;
        const acked = new Set<string>();
        let refused = 0;
        const stopAt = Date.now() + 3000;
        const pad = 'x'.repeat(76);
        const publisher = async (n: number): Promise<void> => {
          const c = await RawClient.connect(b.port, `flood-pub-${n}`, 5);
          const out = new Map<number, string>();
          let seq = 0;
          c.socket.on('data', () => undefined);
          while (Date.now() < stopAt || out.size > 0) {
            while (Date.now() < stopAt && out.size < 50) {
              const id = (seq % 60000) + 1;
              const key = `p${n}-${seq++}`.padEnd(24);
              out.set(id, key.trim());
              c.send({
                cmd: 'publish',
                topic: `flood/${n}`,
                payload: key + pad,
                qos: 1,
                messageId: id,
              });
            }
            let ack: { messageId?: number; reasonCode?: number };
            try {
              ack = await c.next('puback', 5000);
            } catch {
              break; // held for longer than we wait: the unacknowledged ones are not ours to count
            }
            const key = out.get(ack.messageId!);
            out.delete(ack.messageId!);
            if (key === undefined) continue;
            if ((ack.reasonCode ?? 0) < 0x80) acked.add(key);
            else refused++;
            rssMax = Math.max(rssMax, process.memoryUsage().rss);
          }
          c.destroy();
        };
        const pubs = [0, 1, 2, 3, 4].map((n) => publisher(n));
        await sleep(2000);
        const mid = b.engine.stats();
        assert.ok(mid.queued <= 2000 + 5, `queue bounded (${mid.queued})`);
        sock.resume(); // the subscriber reads again
        await Promise.all(pubs);
        await until(
          () => [...acked].every((k) => delivered.has(k)),
          15_000,
          'every acknowledged message delivered',
        );
        const stats = b.engine.stats();
        const growth = (rssMax - rss0) / 1024 / 1024;
        console.log(
          `flood: acked ${acked.size}, delivered ${delivered.size}, refused ${refused} (0x97), ` +
            `dropped ${JSON.stringify(stats.dropped)}, rss growth ${growth.toFixed(1)} MB`,
        );
        assert.ok(acked.size > 1000, 'the publishers made progress');
        assert.ok(growth < 150, `rss grew ${growth.toFixed(1)} MB`);
        // Every refusal a publisher saw is counted (more may have gone to publishers that gave up).
        assert.ok((stats.dropped.quota_exceeded ?? 0) >= refused, 'every refusal is counted');
        sock.destroy();
      } finally {
        await b.close();
      }
    },
  );
});

/** A small seeded PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Malformed packets and random bytes (seeded property test)', () => {
  it(
    'closes offending connections, keeps serving others, never throws',
    { timeout: 30_000 },
    async () => {
      const b = await startBroker();
      try {
        const canary = await connect(b.port, { clientId: 'canary', protocolVersion: 5 });
        const got = collect(canary);
        await canary.subscribeAsync('canary', { qos: 1 });
        const rand = prng(0xb01a7c);
        const pick = (n: number): number => Math.floor(rand() * n);
        const valid = [
          { cmd: 'publish', topic: 'a/b', payload: 'hello', qos: 1, messageId: 5 },
          { cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'x/#', qos: 1 }] },
          { cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['x/#'] },
          { cmd: 'pubrel', messageId: 9 },
          {
            cmd: 'publish',
            topic: 't',
            payload: Buffer.alloc(40),
            qos: 2,
            messageId: 7,
            properties: { topicAlias: 1 },
          },
        ];
        const cases = 300;
        let closed = 0;
        const one = async (i: number): Promise<void> => {
          const version = i % 2 === 0 ? 4 : 5;
          let c: RawClient;
          try {
            c = await RawClient.connect(b.port, `fuzz-${i}`, version);
          } catch {
            return;
          }
          let bytes: Buffer;
          if (i % 3 === 0) {
            bytes = Buffer.from(Array.from({ length: 1 + pick(64) }, () => pick(256)));
          } else {
            const base = mqttPacket.generate(valid[pick(valid.length)] as unknown as Packet, {
              protocolVersion: version,
            });
            bytes = Buffer.from(base);
            for (let k = 0, n = 1 + pick(3); k < n; k++) bytes[pick(bytes.length)] = pick(256);
            if (rand() < 0.3) bytes = bytes.subarray(0, pick(bytes.length) + 1);
          }
          c.write(bytes);
          c.send({ cmd: 'pingreq' });
          try {
            await c.next('pingresp', 400);
          } catch {
            if (c.closed) closed++;
          }
          c.destroy();
        };
        for (let i = 0; i < cases; i += 10) {
          await Promise.all(Array.from({ length: 10 }, (_, k) => one(i + k)));
        }
        const pub = await connect(b.port, { clientId: 'canary-pub', protocolVersion: 4 });
        await pub.publishAsync('canary', 'still-here', { qos: 1 });
        await until(() => got.length === 1);
        console.log(
          `fuzz: ${cases} cases, ${closed} closed by the server; ${JSON.stringify(b.engine.stats().protocolErrors)}`,
        );
        assert.ok(closed > cases / 4, `malformed input closes connections (${closed})`);
        await Promise.all([canary.endAsync(), pub.endAsync()]);
      } finally {
        await b.close();
      }
    },
  );
});
