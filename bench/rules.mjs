// What rules on telemetry cost the hub (decision 0035; issue 14: monitoring adds ≤ 10 % hub CPU).
//
// 1. The hub: a real hub process, DEVICES devices publishing SenML packs (3 records) over MQTT
//    (TLS, device keys, QoS 1) to a persisted channel. The hub process's CPU time (utime + stime
//    from /proc) per message is measured with no rules (the reference) and with the organization's
//    maximum of 200 rules — 45 on the published record names whose conditions hold about half the
//    time (durations long enough that none fires during the run, so the figure is evaluation, not
//    actions), 5 with a device-tag scope, 150 on names nobody publishes — in alternating rounds.
// 2. The evaluator alone, in this process: ns per envelope for an organization without rules, and
//    with the same 200 rules.
//
// Bounded: MESSAGES per round (default 6,000), ROUNDS per mode (default 4), a 60 s cap per round.
// Usage: node bench/rules.mjs   (env: DEVICES, MESSAGES, ROUNDS)
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { createClient } from '../packages/sdk/dist/src/index.js';
import { httpsFetch } from '../packages/agent/dist/src/runtime/https-fetch.js';
import { RuleEvaluator, newId } from '../packages/core/dist/src/index.js';
import { hubProcess } from './hub-process.mjs';

const DEVICES = Number(process.env.DEVICES ?? 10);
const MESSAGES = Number(process.env.MESSAGES ?? 6_000);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
const ROUND_CAP_MS = 60_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The hub process's CPU time so far, ms. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime), here 0-based after the comm field: 11 and 12. Ticks of 10 ms.
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** The 200 rules: what an organization at the limit might have. */
function ruleSet(tag) {
  const rules = [];
  const published = ['temp', 'humidity', 'pressure'];
  for (let i = 0; i < 45; i++)
    rules.push({
      name: `watch ${i}`,
      record: `plant/${published[i % 3]}`,
      condition: i % 2 ? { op: 'gt', value: 50 } : { op: 'outside', min: 20, max: 70 },
      forSeconds: 86_400,
      actions: [{ type: 'alert' }],
    });
  for (let i = 0; i < 5; i++)
    rules.push({
      name: `tagged ${i}`,
      record: 'plant/temp',
      condition: { op: 'gte', value: 50 },
      forSeconds: 86_400,
      scope: { tag },
      actions: [{ type: 'alert' }],
    });
  for (let i = 0; i < 150; i++)
    rules.push({
      name: `elsewhere ${i}`,
      record: `line${i}/speed`,
      condition: { op: 'lt', value: 10 },
      forSeconds: 60,
      actions: [{ type: 'command', name: 'stop' }],
    });
  return rules;
}

const pack = (i) =>
  JSON.stringify([
    { bn: 'plant/', n: 'temp', u: 'Cel', v: (i * 7) % 100 },
    { n: 'humidity', u: '%RH', v: (i * 13) % 100 },
    { n: 'pressure', u: 'Pa', v: 100_000 + (i % 50) },
  ]);

async function hubBench() {
  const hub = hubProcess('bulwark-bench-rules-');
  const info = await hub.start();
  const ca = readFileSync(info.caFile);
  const api = createClient({ baseUrl: info.url, token: hub.apiKey, fetch: httpsFetch({ ca }) });
  const channel = await api.channels.create({
    name: 'plant',
    contentType: 'application/senml+json',
  });
  const clients = [];
  for (let d = 0; d < DEVICES; d++) {
    const dev = await api.devices.create({ name: `dev-${d}`, type: 'sensor', tags: ['boiler'] });
    const { key } = await api.devices.createKey(dev.id);
    await api.channels.connect(channel.id, {
      clientType: 'device',
      clientId: dev.id,
      publish: true,
      subscribe: false,
    });
    const c = mqtt.connect(`mqtts://127.0.0.1:${info.mqttPort}`, {
      ca,
      clientId: dev.id,
      username: dev.id,
      password: key,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    await new Promise((resolve, reject) => {
      c.once('connect', resolve);
      c.once('error', reject);
    });
    clients.push(c);
  }
  const topic = `channels/${channel.id}/messages`;

  /** One round: MESSAGES spread over the devices, each keeping 16 in flight; CPU ms / 1,000. */
  const round = async () => {
    await sleep(300); // let the previous round's writes settle
    const cpu0 = cpuMs(hub.pid);
    const t0 = performance.now();
    const per = Math.ceil(MESSAGES / clients.length);
    await Promise.all(
      clients.map(async (c, d) => {
        let next = 0;
        const lane = async () => {
          while (next < per && performance.now() - t0 < ROUND_CAP_MS) {
            const i = d * per + next++;
            await c.publishAsync(topic, pack(i), { qos: 1 });
          }
        };
        await Promise.all(Array.from({ length: 16 }, lane));
      }),
    );
    const sent = per * clients.length;
    await sleep(300); // evaluation and storage run after the acknowledgement
    return ((cpuMs(hub.pid) - cpu0) / sent) * 1000;
  };

  await round(); // warm-up (JIT, caches), not counted
  const off = [];
  const on = [];
  const ruleIds = [];
  // ABBA order (off on, on off, …): the SQLite file grows every round, which makes later rounds
  // a little dearer; alternating which mode goes first cancels that drift.
  const setRules = async (want) => {
    if (want && ruleIds.length === 0)
      for (const rule of ruleSet('boiler')) ruleIds.push((await api.rules.create(rule)).id);
    if (!want) for (const id of ruleIds.splice(0)) await api.rules.delete(id);
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
      await setRules(mode === 'on');
      (mode === 'on' ? on : off).push(await round());
    }
  }
  for (const c of clients) c.end(true);
  await hub.stop();
  hub.remove();
  return { off, on };
}

function evaluatorBench() {
  const org = newId();
  const channelId = newId();
  const device = newId();
  const rules = ruleSet('boiler').map((r, i) => ({
    id: newId(),
    orgId: org,
    name: r.name,
    description: '',
    enabled: true,
    record: r.record,
    condition: r.condition,
    forSeconds: r.forSeconds,
    scope: {},
    actions: r.actions,
    createdBy: null,
    createdAt: i,
    updatedAt: i,
  }));
  const envs = Array.from({ length: 1000 }, (_, i) => ({
    id: newId(),
    orgId: org,
    channelId,
    subtopic: '',
    publisher: { type: 'device', id: device },
    protocol: 'mqtt',
    contentType: 'application/senml+json',
    receivedAt: i,
    payload: new Uint8Array(),
    senml: JSON.parse(pack(i)).map((x, k) => ({
      n: k === 0 ? 'plant/temp' : `plant/${x.n}`,
      v: x.v,
      t: i,
    })),
    origin: 'n',
  }));
  // What the engine's bus handler does per envelope (rule-engine.ts `handle`).
  const inGroup = () => true;
  const time = (ev, n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) ev.evaluate(envs[i % envs.length], inGroup);
    return { ns: ((performance.now() - t0) * 1e6) / n };
  };
  const none = new RuleEvaluator();
  const full = new RuleEvaluator();
  full.setOrg(org, rules);
  time(none, 50_000);
  time(full, 50_000);
  return { none: time(none, 200_000).ns, full: time(full, 200_000).ns };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ev = evaluatorBench();
console.log('Evaluator alone (ns per envelope of 3 records):');
console.log(`  org without rules  ${ev.none.toFixed(0).padStart(6)} ns`);
console.log(`  org with 200 rules ${ev.full.toFixed(0).padStart(6)} ns`);
const h = await hubBench();
const off = median(h.off);
const on = median(h.on);
console.log(
  `Hub process CPU per 1,000 messages (${DEVICES} devices, MQTT TLS QoS 1, persisted channel, median of ${ROUNDS} rounds each, ABBA order):`,
);
console.log(
  `  reference: no rules        ${off.toFixed(1).padStart(7)} ms   (rounds ${h.off.map((x) => x.toFixed(1)).join(', ')})`,
);
console.log(
  `  200 rules (45 on its names) ${on.toFixed(1).padStart(6)} ms   (rounds ${h.on.map((x) => x.toFixed(1)).join(', ')})`,
);
console.log(`  ratio ${(on / off).toFixed(3)}×  (goal ≤ 1.10×)`);
