// Child process for bench/mqtt.mjs: the publishers (and idle connections), on raw TCP sockets with
// pre-encoded packets, so the generator never shares a thread with the broker or the subscriber.
// With `cfg.tls` ({ ca, cert, key } file paths) the idle connections are mutual TLS instead.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { connectPacket, publishPacket, splitter } from './mqtt-codec.mjs';

const cfg = JSON.parse(process.argv[2]);
const MAX_SEQ = 4_000_000;
// If the orchestrator goes away, so do we (and our sockets).
process.on('disconnect', () => process.exit(1));

// Every client presents the same certificate: enough to measure the broker's per-socket cost.
const tlsFiles = cfg.tls
  ? {
      ca: readFileSync(cfg.tls.ca),
      cert: readFileSync(cfg.tls.cert),
      key: readFileSync(cfg.tls.key),
    }
  : null;

function open(clientId, keepAlive = 0) {
  return new Promise((resolve, reject) => {
    const s = tlsFiles
      ? tls.connect({ port: cfg.port, host: '127.0.0.1', ...tlsFiles })
      : net.connect(cfg.port, '127.0.0.1');
    const guard = setTimeout(() => {
      s.destroy();
      reject(new Error(`${clientId}: no CONNACK within 15 s`));
    }, 15_000);
    s.setNoDelay(true);
    s.once('error', (e) => {
      clearTimeout(guard);
      reject(e);
    });
    s.once(tlsFiles ? 'secureConnect' : 'connect', () => {
      s.write(connectPacket(clientId, keepAlive));
      // CONNACK (the broker sends nothing else before it): 0x20 0x02 <flags> <return code 0>.
      s.once('data', (d) => {
        clearTimeout(guard);
        if (d[0] === 0x20 && d[3] === 0) resolve(s);
        else reject(new Error(`${clientId}: refused (${d.subarray(0, 4).toString('hex')})`));
      });
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
  const size = cfg.batch ?? 100;
  const t0 = performance.now();
  for (let i = 0; i < cfg.count; i += size) {
    const batch = [];
    for (let k = i; k < Math.min(cfg.count, i + size); k++)
      batch.push(open(`bench-idle-${cfg.tag}-${k}`, cfg.keepAlive ?? 0));
    socks.push(...(await Promise.all(batch)));
  }
  // A broker closing an idle socket early would make the figure meaningless: count those.
  let closedEarly = 0;
  for (const s of socks) {
    s.on('error', () => {}); // counted through 'close'
    s.once('close', () => closedEarly++);
  }
  process.send({ ready: true, open: socks.length, openMs: performance.now() - t0 });
  await waitFor('close');
  const early = closedEarly;
  for (const s of socks) s.destroy();
  return { closed: true, closedEarly: early };
}

const modes = { flood, rate, idle };
const result = await modes[cfg.mode]();
// Exit only once the result has left (process.send is asynchronous).
process.send(result, () => process.exit(0));
