// Child process of bench/reconnect.mjs: a pool of devices, each its own mutual-TLS connection with
// its own key and certificate, as bare as a device's MQTT stack (3.1.1 CONNECT, one QoS 1 PUBLISH,
// then idle; no library, so the load generator costs little CPU). Each device keeps the TLS session
// ticket of its last connection and offers it on its next connect, as a device with a stored
// ticket does (RESUME=0 in the parent turns that off).
// argv[2]: JSON { port, ca: [PEM], file (devices JSON), from, to, topic, width, resume }.
// IPC in: { cmd: 'connect', phase } — connect every device not connected (at most `width`
// handshakes in flight), publish once, wait for its PUBACK, stay connected; { cmd: 'close' }.
// IPC out: { phase, times (ms from the command to each device's PUBACK; tls, connack: to its
// handshake's end and its CONNACK, every attempt), resumed, busy, retries,
// failed, cpuMs } once every device is back or the deadline passed; { ready } at start.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { connectPacket, publishPacket, splitter } from './mqtt-codec.mjs';

process.on('disconnect', () => process.exit(1));
const o = JSON.parse(process.argv[2]);
const devices = JSON.parse(readFileSync(o.file, 'utf8')).slice(o.from, o.to);
const ca = o.ca;
/** Per device: its socket, its last TLS session, whether it is up, its TLS context (made once). */
const state = devices.map(() => ({ socket: null, session: undefined, up: false, ctx: null }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A handshake or CONNACK that takes this long is given up and retried. */
const ATTEMPT_MS = 30_000;
/** A phase ends here even if devices are missing (bounded). */
const PHASE_MS = Number(o.phaseMs ?? 300_000);

/**
 * One attempt: TLS (offering the stored session), CONNECT, CONNACK, PUBLISH QoS 1, PUBACK.
 * Resolves { resumed } with the socket left open, or rejects with { busy } / an error.
 */
function attempt(i, t0, marks) {
  const d = devices[i];
  const st = state[i];
  return new Promise((resolve, reject) => {
    // A device loads its key and certificate once, not on every connect.
    st.ctx ??= tls.createSecureContext({ ca, key: d.key, cert: d.cert });
    const socket = tls.connect({
      host: '127.0.0.1',
      port: o.port,
      secureContext: st.ctx,
      ...(o.resume && st.session ? { session: st.session } : {}),
    });
    let stage = 'tls';
    const timer = setTimeout(() => fail(new Error(`timed out in ${stage}`)), ATTEMPT_MS);
    const fail = (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.on('session', (s) => (st.session = s));
    socket.on('error', (err) => stage !== 'up' && fail(err));
    socket.on('close', () => {
      if (stage === 'up') {
        st.up = false;
        st.socket = null;
      } else fail(new Error(`closed in ${stage}`));
    });
    socket.once('secureConnect', () => {
      marks.tls.push(performance.now() - t0);
      stage = 'connack';
      socket.write(connectPacket(d.clientId, 300));
    });
    socket.on(
      'data',
      splitter((type, buf, start) => {
        if (stage === 'connack' && type === 0x20) {
          const rc = buf[start + 1];
          // 3.1.1 return code 3 = server unavailable (the gate's "busy").
          if (rc !== 0) return fail(Object.assign(new Error(`CONNACK ${rc}`), { busy: rc === 3 }));
          marks.connack.push(performance.now() - t0);
          stage = 'puback';
          socket.write(publishPacket(o.topic, 1, 1, i & 0xffff, 0, Date.now()));
        } else if (stage === 'puback' && type === 0x40) {
          clearTimeout(timer);
          stage = 'up';
          st.up = true;
          st.socket = socket;
          resolve({ resumed: socket.isSessionReused() });
        }
      }),
    );
  });
}

async function phase(p) {
  // After a restart every connection has dropped: wait (bounded) until each device noticed.
  for (const end = Date.now() + 15_000; p !== 'first' && state.some((s) => s.up);) {
    if (Date.now() > end) break;
    await sleep(20);
  }
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const until = Date.now() + PHASE_MS;
  const times = [];
  const marks = { tls: [], connack: [] };
  let resumed = 0;
  let busy = 0;
  let retries = 0;
  let failed = 0;
  const todo = state.map((s, i) => (s.up ? -1 : i)).filter((i) => i >= 0);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(o.width, todo.length) }, async () => {
      while (next < todo.length) {
        const i = todo[next++];
        for (;;) {
          try {
            const r = await attempt(i, t0, marks);
            times.push(performance.now() - t0);
            if (r.resumed) resumed++;
            break;
          } catch (err) {
            if (err.busy) busy++;
            if (Date.now() > until) {
              failed++;
              break;
            }
            retries++;
            // Jittered retry, as a device backs off (short: the hub's gate, not the client's
            // backoff, is what is measured).
            await sleep(100 + Math.random() * 400);
          }
        }
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  process.send({
    phase: p,
    times,
    tls: marks.tls,
    connack: marks.connack,
    resumed,
    busy,
    retries,
    failed,
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
}

process.on('message', (m) => {
  if (m?.cmd === 'connect') void phase(m.phase);
  else if (m?.cmd === 'close') {
    for (const s of state) s.socket?.destroy();
    process.exit(0);
  }
});
process.send({ ready: devices.length });
