// Detection engine cost (decision 0034): CPU per counted message (the ingest hook), per domain
// event (a connection), and per full pass (windows learned, gates swept) for a fleet of DEVICES
// devices, beside references measured in the same run — a bare per-device counter for messages and
// an event listener that does nothing for events — with the ratio; and memory per tracked device.
// Bounded: a few seconds. Usage: node --expose-gc bench/detect.mjs (after tsc -b).
import { DetectEngine, createMemoryEvents } from '@bulwark/core';

const DEVICES = 10_000;
const MESSAGES = 2_000_000;
// 10 connections per device in the run: under the churn rule's threshold (20 in 5 minutes).
const EVENTS = 100_000;
const PASSES = 20;

const clock = {
  t: Date.UTC(2026, 0, 1),
  now() {
    return this.t;
  },
};
const store = {
  async listRuleSettings() {
    return [];
  },
  async putRuleSetting() {},
  async getBaselines() {
    return [];
  },
  async putBaselines() {},
};
const alerts = {
  async open() {
    return true;
  },
  async resolve() {
    return true;
  },
};
const settle = () => new Promise((r) => setImmediate(r));
const cpu = (fn) => {
  const u0 = process.cpuUsage();
  fn();
  const u = process.cpuUsage(u0);
  return (u.user + u.system) * 1000; // ns
};
const gc = () => globalThis.gc?.();
/** CPU of `fn` and of the promise continuations it leaves (the rules judged after a settle). */
const cpuAsync = async (fn) => {
  const u0 = process.cpuUsage();
  fn();
  for (let i = 0; i < 3; i++) await settle();
  const u = process.cpuUsage(u0);
  return (u.user + u.system) * 1000;
};

const events = createMemoryEvents({ nodeId: 'bench' });
const engine = new DetectEngine({
  clock,
  events,
  store,
  alerts,
  deviceType: async () => 'meter',
  resolveSubject: async () => undefined,
});
engine.start();
const ids = Array.from({ length: DEVICES }, (_, i) => `dev-${i}`);

// Warm up: every device seen, loaded, its settings cached.
gc();
const heap0 = process.memoryUsage().heapUsed;
for (const id of ids) engine.message('org', id, 100);
for (let i = 0; i < 5; i++) await settle();
await engine.tick();
gc();
const perDevice = (process.memoryUsage().heapUsed - heap0) / DEVICES;

// Messages: the engine's hook vs a bare Map counter per device.
const bare = new Map(ids.map((id) => [`org:${id}`, { n: 0 }]));
const refMsg = cpu(() => {
  for (let i = 0; i < MESSAGES; i++) bare.get(`org:${ids[i % DEVICES]}`).n++;
});
const msg = cpu(() => {
  for (let i = 0; i < MESSAGES; i++) engine.message('org', ids[i % DEVICES], 100);
});
await engine.tick(); // judges the devices that published

// Events: a device connecting, through the events port, vs a listener that does nothing.
const quiet = createMemoryEvents({ nodeId: 'ref' });
quiet.listen(() => undefined);
const connected = (i) => ({
  type: 'device.connected',
  orgId: 'org',
  at: clock.t,
  deviceId: ids[i % DEVICES],
  sessionId: 's',
  transport: 'mqtt',
  source: '10.0.0.1',
  certSerial: null,
});
const refEv = await cpuAsync(() => {
  for (let i = 0; i < EVENTS; i++) quiet.emit(connected(i));
});
const ev = await cpuAsync(() => {
  for (let i = 0; i < EVENTS; i++) events.emit(connected(i));
});

// Full passes: every device's closed windows learned, gates swept (one every 10 s).
const passes = [];
for (let p = 0; p < PASSES; p++) {
  for (const id of ids) engine.message('org', id, 100);
  clock.t += 10_000;
  const u0 = process.cpuUsage();
  await engine.tick();
  const u = process.cpuUsage(u0);
  passes.push((u.user + u.system) / 1000);
}
passes.sort((a, b) => a - b);
const pass = passes[passes.length >> 1];

const f = (n) => n.toFixed(0).padStart(7);
console.log(`detection engine, ${DEVICES} devices (node ${process.version})`);
console.log(
  `  per message   ${f(msg / MESSAGES)} ns   reference (bare counter) ${f(refMsg / MESSAGES)} ns   ratio ${(msg / refMsg).toFixed(1)}×`,
);
console.log(
  `  per event     ${f(ev / EVENTS)} ns   reference (no-op listener) ${f(refEv / EVENTS)} ns   ratio ${(ev / refEv).toFixed(1)}×`,
);
console.log(
  `  per pass      ${pass.toFixed(1)} ms CPU (median of ${PASSES}; once per 10 s bucket)  = ${((pass * 1e6) / DEVICES).toFixed(0)} ns per device`,
);
console.log(
  `  memory        ~${(perDevice / 1024).toFixed(1)} KiB per tracked device (heap, after gc${globalThis.gc ? '' : ': run with --expose-gc'})`,
);
console.log(`  engine        ${JSON.stringify(engine.size)}, fired ${engine.fired}`);
await engine.stop();
