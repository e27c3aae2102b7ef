// Child process for bench/mqtt.mjs: the publishers (and idle connections), on raw TCP sockets with
// pre-encoded packets, so the generator never shares a thread with the broker or the subscriber.
import net from 'node:net';
import { connectPacket, publishPacket, splitter } from './mqtt-codec.mjs';

const cfg = JSON.parse(process.argv[2]);
const MAX_SEQ = 4_000_000;

function open(clientId) {
  return new Promise((resolve, reject) => {
    const s = net.connect(cfg.port, '127.0.0.1');
    s.setNoDelay(true);
    s.once('error', reject);
    s.once('connect', () => {
      s.write(connectPacket(clientId));
      s.once('data', () => resolve(s)); // CONNACK (the broker sends nothing else before it)
    });
  });
}

const waitFor = (cmd) =>
  new Promise((r) => {
    const h = (m) => {
      if (m?.cmd === cmd) {
        process.off('message', h);
        r(m);
      }
    };
    process.on('message', h);
  });

async function flood() {
  const { qos, publishers, durationMs, window } = cfg;
  const socks = [];
  for (let i = 0; i < publishers; i++) socks.push(await open(`bench-pub-${cfg.tag}-${i}`));
  process.send({ ready: true });
  await waitFor('go');
  const stopAt = Date.now() + durationMs;
  const sent = new Array(publishers).fill(0);
  const acked = socks.map(() => new Uint8Array(MAX_SEQ / 8));
  const ackCount = new Array(publishers).fill(0);
  const done = socks.map(
    (s, n) =>
      new Promise((resolve) => {
        const topic = `bench/${n}`;
        const idToSeq = new Int32Array(65536).fill(-1);
        let inflight = 0;
        let nextId = 1;
        const batch = () => {
          // QoS 0: blast in batches of 256 while the socket accepts; QoS 1: keep `window` in flight.
          const parts = [];
          const room = qos === 0 ? 256 : window - inflight;
          for (let k = 0; k < room && Date.now() < stopAt && sent[n] < MAX_SEQ; k++) {
            const seq = sent[n]++;
            let id = 0;
            if (qos > 0) {
              id = nextId;
              nextId = nextId === 65535 ? 1 : nextId + 1;
              idToSeq[id] = seq;
              inflight++;
            }
            parts.push(publishPacket(topic, qos, id, n, seq));
          }
          if (parts.length === 0) return false;
          return s.write(Buffer.concat(parts));
        };
        const finish = () => {
          clearTimeout(guard);
          resolve();
        };
        const guard = setTimeout(finish, durationMs + 5000);
        s.on(
          'data',
          splitter((h, buf, start) => {
            if (h >> 4 !== 4) return;
            const id = buf.readUInt16BE(start);
            const seq = idToSeq[id];
            if (seq >= 0) {
              acked[n][seq >> 3] |= 1 << (seq & 7);
              ackCount[n]++;
              idToSeq[id] = -1;
              inflight--;
            }
          }),
        );
        if (qos === 0) {
          const pump = () => {
            while (Date.now() < stopAt) {
              if (!batch()) return s.once('drain', pump);
            }
            finish();
          };
          pump();
        } else {
          // Refill the window as acknowledgements arrive.
          s.on('data', () => {
            if (Date.now() < stopAt) batch();
            else if (inflight === 0) finish();
          });
          batch();
        }
      }),
  );
  await Promise.all(done);
  // After the deadline, give outstanding acknowledgements a moment.
  await new Promise((r) => setTimeout(r, qos > 0 ? 1000 : 0));
  for (const s of socks) s.destroy();
  return {
    sent,
    ackCount,
    acked: acked.map((a) =>
      Buffer.from(a.buffer, 0, Math.ceil(Math.max(...sent) / 8) + 1).toString('base64'),
    ),
  };
}

async function rate() {
  const s = await open(`bench-rate-${cfg.tag}`);
  process.send({ ready: true });
  await waitFor('go');
  const t0 = performance.now();
  let seq = 0;
  const total = Math.floor((cfg.rate * cfg.durationMs) / 1000);
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * cfg.rate) / 1000));
      const parts = [];
      while (seq < due)
        parts.push(
          publishPacket('bench/rate', 0, 0, 0, seq++, performance.timeOrigin + performance.now()),
        );
      if (parts.length > 0) s.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
      if (seq >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  s.destroy();
  return { sent: seq };
}

async function idle() {
  const socks = [];
  for (let i = 0; i < cfg.count; i += 100) {
    const batch = [];
    for (let k = i; k < Math.min(cfg.count, i + 100); k++)
      batch.push(open(`bench-idle-${cfg.tag}-${k}`));
    socks.push(...(await Promise.all(batch)));
  }
  process.send({ ready: true, open: socks.length });
  await waitFor('close');
  for (const s of socks) s.destroy();
  return { closed: true };
}

const modes = { flood, rate, idle };
const result = await modes[cfg.mode]();
// Exit only once the result has left (process.send is asynchronous).
process.send(result, () => process.exit(0));
