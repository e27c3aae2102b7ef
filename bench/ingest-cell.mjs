// One cell of bench/ingest.mjs (a broker, a store, N devices, a QoS) and the idle-memory
// measurement, both driving the load child (bench/ingest-load.mjs) and the subscriber device.
import { readFileSync } from 'node:fs';
import { child } from './mqtt-child.mjs';
import { counterDelta } from './ingest-metrics.mjs';
import { settledCount } from './ingest-storage.mjs';
import { subscriber } from './ingest-sub.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Acknowledged ids (bitmaps from the load child) missing from `seen`, per publisher. */
export function ackedMissing(acked, has) {
  let n = 0;
  let missing = 0;
  acked.forEach((b64, pub) => {
    const bits = Buffer.from(b64, 'base64');
    for (let i = 0; i < bits.length; i++) {
      if (bits[i] === 0) continue;
      for (let k = 0; k < 8; k++) {
        if ((bits[i] & (1 << k)) === 0) continue;
        n++;
        if (!has(pub, i * 8 + k)) missing++;
      }
    }
  });
  return { n, missing };
}

/**
 * Runs one cell: the subscriber device subscribes to this cell's subtopic, `devices` publishers
 * connect, publish for `durationMs` at `rate` msg/s in total, and the deliveries drain (until 2 s
 * without one, at most 15 s). With a storage `reader`, the stored rows are counted and matched
 * ("stored" = received within the cell's window; the rest are reported as stored late);
 * with `counters` (bench/ingest-metrics.mjs), the hub's own counters are read around the cell.
 */
export async function runCell(o) {
  const { port, caFile, idsFile, identity, channelId, subtopic, devices, qos, reader } = o;
  const epoch = Date.now();
  const topic = `channels/${channelId}/messages/${subtopic}`;
  const ca = readFileSync(caFile);
  // A previous cell may have left the hub reading what its devices had already written (QoS 0
  // fills the kernel's socket buffers): wait (bounded) until it has finished, so cells do not mix.
  const quietMs = o.counters ? await quiet(o.counters) : 0;
  const before = await o.counters?.();
  const cpu0 = o.pid ? cpuMs(o.pid) : null;
  const sub = await subscriber({ port, ca, identity, filter: topic, qos, epoch });
  const load = child('ingest-load.mjs', [
    JSON.stringify({
      mode: 'flood',
      port,
      identities: idsFile,
      devices,
      ca: caFile,
      topic,
      qos,
      rate: o.rate,
      durationMs: o.durationMs,
      window: o.window,
      epoch,
    }),
  ]);
  try {
    const ready = await load.next(180_000);
    const t0 = performance.now();
    const wall0 = Date.now();
    load.send({ cmd: 'go' });
    const r = await load.next(o.durationMs + 30_000);
    const drainEnd = performance.now() + 15_000;
    // 2 s: a hub busy with a backlog (or a busy machine) pauses deliveries for over a second.
    for (let seen = -1; seen !== sub.stats.delivered && performance.now() < drainEnd;) {
      seen = sub.stats.delivered;
      await sleep(2000);
    }
    sub.close();
    load.send({ cmd: 'close' });
    // The broker's own CPU (every thread) over the cell and its drain, per message sent: on a
    // shared machine this moves less than the rates do.
    const brokerCpuMs = cpu0 === null ? null : cpuMs(o.pid) - cpu0;
    const s = sub.stats;
    const elapsed = Math.max(o.durationMs, (s.last || t0) - t0) / 1000;
    const out = {
      devices,
      qos,
      openMs: ready.openMs,
      window: r.window,
      offered: r.offered,
      sent: r.sent,
      acked: r.ackCount,
      refused: r.refused,
      unanswered: r.unanswered,
      closedEarly: r.closedEarly,
      elapsed,
      delivered: s.delivered,
      duplicates: s.duplicates,
      p50: s.fromDue.quantile(0.5),
      p99: s.fromDue.quantile(0.99),
      p50w: s.fromWrite.quantile(0.5),
      p99w: s.fromWrite.quantile(0.99),
      ackedNotDelivered: ackedMissing(r.acked, (p, q) => s.seen.has(p, q)).missing,
      stored: null,
      ackedNotStored: null,
      quietMs,
      subscriberClosedAt: s.closedByBroker ? (s.closedByBroker - t0) / 1000 : null,
      hub: null,
      cpuUsPerMessage: brokerCpuMs === null || r.sent === 0 ? null : (brokerCpuMs * 1000) / r.sent,
    };
    if (reader) {
      // A hub behind its writer stores the rest after the cell: wait (bounded) for its queue to
      // empty before counting, so late rows are counted as late, not missed.
      if (o.counters) out.writerDrainMs = await writerDrained(o.counters);
      await settledCount(reader, channelId, subtopic);
      // Stored in the cell's window: received by the hub no later than its end.
      const st = await reader.read(channelId, subtopic, wall0 + elapsed * 1000);
      out.stored = st.inWindow;
      out.storedLate = st.rows - st.inWindow;
      out.ackedNotStored = ackedMissing(r.acked, (p, q) => st.seen.has(p, q)).missing;
    }
    if (o.counters) {
      out.hub = counterDelta(before, await o.counters());
      if (out.hub === null) out.countersMissing = true;
    }
    return out;
  } finally {
    sub.close();
    await load.stop(5000);
  }
}

/**
 * Waits until the hub's PUBLISH counter holds still for 1 s (at most 120 s in all, however slow the
 * hub is to answer); returns the wait. An unanswered read counts as not yet still.
 */
async function quiet(counters) {
  const t = Date.now();
  let last = (await counters())?.messagesIn;
  while (Date.now() - t < 120_000) {
    await sleep(1000);
    const now = (await counters())?.messagesIn;
    if (now !== undefined && now === last) break;
    last = now;
  }
  return Date.now() - t - 1000;
}

/** A process's CPU time (user + system, all threads) so far, in ms, from /proc. */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) start at state; utime and stime are 14, 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** Waits until the hub's writer has nothing waiting (at most 60 s); returns the wait in ms. */
async function writerDrained(counters) {
  const t = Date.now();
  while (Date.now() - t < 60_000) {
    const c = await counters();
    if (c !== null && c.writerWaiting === 0) break;
    await sleep(500);
  }
  return Date.now() - t;
}

function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

/**
 * Memory per idle mTLS connection: the broker's RSS (median of 3 samples; for the hub each after
 * a full GC through SIGUSR2, see bench/gc-on-signal.mjs) before and after `count` device
 * connections, over `count`.
 */
export async function idleMemory({ pid, gc, port, caFile, idsFile, count }) {
  const sample = async () => {
    const xs = [];
    for (let i = 0; i < 3; i++) {
      if (gc) process.kill(pid, 'SIGUSR2');
      await sleep(400);
      xs.push(rss(pid));
    }
    return xs.sort((a, b) => a - b)[1];
  };
  const before = await sample();
  const load = child('ingest-load.mjs', [
    JSON.stringify({
      mode: 'idle',
      port,
      identities: idsFile,
      devices: count,
      ca: caFile,
      keepAlive: 300,
      epoch: Date.now(),
    }),
  ]);
  try {
    const ready = await load.next(180_000);
    await sleep(2000);
    const after = await sample();
    load.send({ cmd: 'close' });
    const closed = await load.next(15_000);
    return {
      count: ready.open,
      openMs: ready.openMs,
      before,
      after,
      perConn: (after - before) / ready.open,
      closedEarly: closed.closedEarly,
    };
  } finally {
    await load.stop(5000);
  }
}
