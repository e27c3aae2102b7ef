// Child process of bench/ingest.mjs: the devices. Each connection is mutual TLS with its OWN device
// certificate (client id = its device id), MQTT 5, pre-encoded packets. Modes:
//   flood — open loop: every device publishes at rate/devices msg/s on a fixed schedule for
//           durationMs; QoS 1 keeps at most `window` (capped by the server's Receive Maximum) in
//           flight per connection, QoS 0 stops writing while the socket has 64 KiB unsent. A message
//           due while the broker holds the device back waits here and carries the time it was due,
//           so the latency the subscriber measures includes that wait (no coordinated omission).
//   idle  — open the connections and hold them until told to close (memory per connection).
// argv[2] is JSON: { mode, port, identities (file: [{clientId, cert, key}]), ca (file), topic, qos,
// rate, durationMs, window, epoch (ms, shared with the subscriber), keepAlive }.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { connect5, parseConnack, publish5, splitter } from './ingest-codec.mjs';

const cfg = JSON.parse(process.argv[2]);
process.on('disconnect', () => process.exit(1));
const ids = JSON.parse(readFileSync(cfg.identities, 'utf8')).slice(0, cfg.devices);
const ca = readFileSync(cfg.ca);
const HIGH_WATER = 64 * 1024;
const nowUs = () => (performance.timeOrigin + performance.now() - cfg.epoch) * 1000;

function open(id, keepAlive) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port: cfg.port, host: '127.0.0.1', ca, cert: id.cert, key: id.key });
    const guard = setTimeout(() => {
      s.destroy();
      reject(new Error(`${id.clientId}: no CONNACK within 20 s`));
    }, 20_000);
    s.setNoDelay(true);
    s.once('error', (e) => {
      clearTimeout(guard);
      reject(e);
    });
    s.once('secureConnect', () => s.write(connect5(id.clientId, keepAlive)));
    s.once('data', (d) => {
      clearTimeout(guard);
      const ack = parseConnack(d);
      if (ack?.reason === 0) resolve({ s, receiveMaximum: ack.receiveMaximum });
      else {
        s.destroy();
        reject(new Error(`${id.clientId}: refused (${d.subarray(0, 5).toString('hex')})`));
      }
    });
  });
}

/** Opens every connection, `batch` handshakes at a time. */
async function openAll(keepAlive = 0, batch = 50) {
  const out = [];
  for (let i = 0; i < ids.length; i += batch)
    out.push(...(await Promise.all(ids.slice(i, i + batch).map((id) => open(id, keepAlive)))));
  return out;
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

function flood(conns) {
  const { qos, topic, durationMs } = cfg;
  const n = conns.length;
  const perMs = cfg.rate / n / 1000;
  const maxSeq = Math.ceil(perMs * durationMs) + 1;
  const window = Math.min(cfg.window, ...conns.map((c) => c.receiveMaximum));
  const t0 = performance.now();
  const stopAt = t0 + durationMs;
  const state = conns.map(({ s }, i) => {
    const c = {
      s,
      phase: i / n, // spreads the devices' first messages over one period
      sent: 0,
      inflight: 0,
      nextId: 1,
      idToSeq: new Int32Array(65536).fill(-1),
      acked: new Uint8Array(Math.ceil(maxSeq / 8)),
      ackCount: 0,
      refused: 0,
      closed: false,
    };
    s.on(
      'data',
      splitter((h, buf, start, end) => {
        if (h >> 4 !== 4) return;
        const seq = c.idToSeq[buf.readUInt16BE(start)];
        if (seq < 0) return;
        c.idToSeq[buf.readUInt16BE(start)] = -1;
        c.inflight--;
        // v5: a PUBACK of 2 bytes is success; otherwise the reason code follows the id.
        if (end - start > 2 && buf[start + 2] >= 0x80) c.refused++;
        else {
          c.acked[seq >> 3] |= 1 << (seq & 7);
          c.ackCount++;
        }
      }),
    );
    s.on('error', () => undefined);
    s.once('close', () => (c.closed = true));
    return c;
  });
  const due = (c, t) => Math.min(maxSeq, Math.floor((Math.min(t, stopAt) - t0) * perMs + c.phase));
  const tick = () => {
    const t = performance.now();
    const written = nowUs();
    for (const [i, c] of state.entries()) {
      if (c.closed) continue;
      const upTo = due(c, t);
      if (c.sent >= upTo || (qos === 0 && c.s.writableLength > HIGH_WATER)) continue;
      const parts = [];
      while (c.sent < upTo && (qos === 0 ? parts.length < 512 : c.inflight < window)) {
        const seq = c.sent++;
        let id = 0;
        if (qos > 0) {
          id = c.nextId;
          c.nextId = c.nextId === 65535 ? 1 : c.nextId + 1;
          c.idToSeq[id] = seq;
          c.inflight++;
        }
        const intended =
          (performance.timeOrigin + t0 + (seq + 1 - c.phase) / perMs - cfg.epoch) * 1000;
        parts.push(publish5(topic, qos, id, i, seq, intended, written));
      }
      if (parts.length > 0) c.s.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    }
    return t < stopAt;
  };
  return new Promise((resolve) => {
    const loop = () => (tick() ? setTimeout(loop, 1) : resolve({ state, window, due }));
    loop();
  });
}

if (cfg.mode === 'idle') {
  const t0 = performance.now();
  const conns = await openAll(cfg.keepAlive ?? 300, 50);
  let closedEarly = 0;
  for (const { s } of conns) {
    s.on('error', () => undefined);
    s.once('close', () => closedEarly++);
  }
  process.send({ ready: true, open: conns.length, openMs: performance.now() - t0 });
  await waitFor('close');
  const early = closedEarly;
  for (const { s } of conns) s.destroy();
  process.send({ closedEarly: early }, () => process.exit(0));
} else {
  const t0 = performance.now();
  const conns = await openAll(0, 50);
  process.send({ ready: true, open: conns.length, openMs: performance.now() - t0 });
  await waitFor('go');
  const { state, window, due } = await flood(conns);
  // Outstanding acknowledgements (QoS 1) and unsent socket bytes (QoS 0) get up to 5 s after the
  // last message was due; the connections stay open until the orchestrator's subscriber has
  // drained, so nothing is cut short by closing them.
  const ackEnd = performance.now() + 5000;
  const busy = (c) => !c.closed && (cfg.qos > 0 ? c.inflight > 0 : c.s.writableLength > 0);
  while (state.some(busy) && performance.now() < ackEnd)
    await new Promise((r) => setTimeout(r, 20));
  const end = Infinity;
  process.send({
    window,
    offered: state.reduce((a, c) => a + due(c, end), 0),
    sent: state.reduce((a, c) => a + c.sent, 0),
    ackCount: state.reduce((a, c) => a + c.ackCount, 0),
    refused: state.reduce((a, c) => a + c.refused, 0),
    unanswered: state.reduce((a, c) => a + c.inflight, 0),
    closedEarly: state.filter((c) => c.closed).length,
    acked: state.map((c) => Buffer.from(c.acked).toString('base64')),
  });
  await Promise.race([waitFor('close'), new Promise((r) => setTimeout(r, 60_000))]);
  for (const c of state) c.s.destroy();
  process.exit(0);
}
