#!/usr/bin/env node
// `npm run bench:monitor`: does the hub's security monitoring see the simulator's attacks, how
// fast, does a mitigation policy contain them, is a normal fleet left alone, and what does it cost
// (issue 14; decision 0037 says how each attack is simulated).
//
// 1. Attacks: a real hub process; ATTACK_NORMAL normal simulated devices plus one device per attack
//    kind (`Simulator` attacks, after ATTACK_AFTER s so baselines can learn). A quarantine
//    mitigation policy is bound to every expected alert kind but auth_bruteforce, whose device is
//    the target: a block_source policy blocks the guessing address instead (decision 0036). For
//    each attack: the time from its start to the first alert about that device of the expected
//    kind (GET /alerts, polled every 500 ms, at most DETECT_SECONDS after the start), then from that
//    alert to the device contained (a quarantine in GET /mitigations, the device's state
//    quarantined; for the password guess, its source blocked). `unpatched`: at its start
//    the old version's artifact is marked vulnerable and POST /checks/run runs (every 10 s until
//    seen). Detectors missing on this hub show as "not detected within N s".
// 2. False positives: a fresh hub, DEVICES normal devices (metrics and telemetry every 10 s) for
//    NORMAL_SECONDS with the default rules: the alerts opened (goal: none), by kind.
//    Routing: the attack devices sit in two location subtrees (a building under site North, and
//    site South); one notification rule per site sends to its own webhook path on a real HTTPS
//    receiver on loopback. For each detected attack: did the alert's delivery land on its site's
//    path (and not on the other one), and how long after the alert opened.
// 3. Cost: the hub process's CPU time (/proc) over phase 2, per device per report, and the same
//    fleet again on a hub with MONITOR_OFF_FLAGS (default `--detect off`: no detection rules, no
//    baselines): the overhead of monitoring in % (goal ≤ 10%). MONITOR_OFF_FLAGS=none skips it.
//    The machine's load average is printed with each figure (a shared machine is noisy).
//
// Every phase is bounded in time; traffic stays on loopback. Run after `tsc -b` (the webhook
// receiver is bench/https-receiver.mjs; it needs openssl).
// Env: DEVICES (1000), NORMAL_SECONDS (600), ATTACK_NORMAL (20), ATTACK_AFTER (150), LEARN_MINUTES (1),
//      DETECT_SECONDS (90), MONITOR_OFF_FLAGS ('--detect off'; 'none' to skip), SKIP_ATTACKS (0).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createClient } from '../packages/sdk/dist/src/index.js';
import {
  createRelease,
  createRoot,
  expiryAfter,
  generateSigningKey,
  signMetadata,
} from '../packages/firmware/dist/src/index.js';
import { Simulator } from '../packages/agent/dist/src/sim/simulator.js';
import { httpsFetch } from '../packages/agent/dist/src/runtime/https-fetch.js';
import { parseAttackSpec, ATTACK_KINDS } from '../packages/agent/dist/src/sim/attacks.js';
import { startHttpsReceiver } from './https-receiver.mjs';
import { hubProcess } from './hub-process.mjs';

const DEVICES = Number(process.env.DEVICES ?? 1000);
const NORMAL_SECONDS = Number(process.env.NORMAL_SECONDS ?? 600);
const ATTACK_NORMAL = Number(process.env.ATTACK_NORMAL ?? 20);
const ATTACK_AFTER = Number(process.env.ATTACK_AFTER ?? 150);
// The learned rules' learning time, shortened for a bench run (the defaults are 30 and 60 minutes):
// the message-flood baseline on 10 s windows after LEARN_MINUTES (it also needs 10 windows), and
// the listening-port set after LEARN_MINUTES. LEARN_MINUTES=0 keeps the shipped defaults.
const LEARN_MINUTES = Number(process.env.LEARN_MINUTES ?? 1);
const DETECT_SECONDS = Number(process.env.DETECT_SECONDS ?? 90);
const MONITOR_OFF_FLAGS =
  process.env.MONITOR_OFF_FLAGS === 'none'
    ? []
    : (process.env.MONITOR_OFF_FLAGS ?? '--detect off').split(' ').filter(Boolean);
const SKIP_ATTACKS = process.env.SKIP_ATTACKS === '1';
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const TYPE = 'simulated';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

/** The alert kinds that count as detecting each attack. */
const EXPECTED = {
  'password-guess': ['auth_bruteforce'],
  'cloned-cert': ['cloned_certificate', 'credential_conflict'],
  flood: ['message_flood'],
  'backdoor-port': ['new_listening_port'],
  'c2-connection': ['disallowed_connection'],
  unpatched: ['audit_finding'],
};

/** The hub process's CPU time so far, ms (utime + stime, ticks of 10 ms). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const json = (m) => JSON.parse(JSON.stringify(m.toJSON()));

/** Pushes a signing root and publishes a ready artifact of `version` for the simulated type. */
async function publishFirmware(api, version) {
  const rootKey = generateSigningKey('ed25519');
  const releaseKey = generateSigningKey('ed25519');
  await api.firmware.pushRoot(
    json(
      signMetadata(
        createRoot({
          version: 1,
          expires: expiryAfter(365 * 86400),
          rootKeys: [rootKey.publicKey],
          rootThreshold: 1,
          releaseKeys: [releaseKey.publicKey],
          releaseThreshold: 1,
        }),
        [rootKey],
      ),
    ),
  );
  const image = randomBytes(4096);
  const meta = signMetadata(
    createRelease({
      name: `${TYPE}-${version}.img`,
      types: [TYPE],
      hardware: [],
      version,
      releaseCounter: 1,
      length: image.byteLength,
      sha256: createHash('sha256').update(image).digest('hex'),
      expires: expiryAfter(30 * 86400),
    }),
    [releaseKey],
  );
  const a = await api.firmware.create(json(meta));
  await api.firmware.uploadImage(a.id, image);
  return a.id;
}

/** Every alert of the organization (newest first), all pages. */
async function allAlerts(api) {
  const out = [];
  let cursor;
  for (let i = 0; i < 50; i++) {
    const page = await api.call('listAlerts', {
      query: { limit: 200, ...(cursor ? { cursor } : {}) },
    });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
    if (!cursor) break;
  }
  return out;
}

/** Two site subtrees, one notification rule and webhook path each on `rx`. */
async function routeBySite(api, rx, kinds) {
  const north = await api.locations.create({ kind: 'site', name: 'North' });
  const hall = await api.locations.create({
    kind: 'building',
    name: 'Hall N1',
    parentId: north.id,
  });
  const south = await api.locations.create({ kind: 'site', name: 'South' });
  const sites = [
    { name: 'north', site: north, deviceLocation: hall },
    { name: 'south', site: south, deviceLocation: south },
  ];
  for (const x of sites) {
    const endpoint = await api.notifications.endpoints.create({
      kind: 'webhook',
      name: `${x.name} soc`,
      url: `${rx.url}/${x.name}`,
      secret: randomBytes(24).toString('base64url'),
      caPem: rx.caPem,
    });
    await api.notifications.rules.create({
      name: `${x.name} site`,
      locationId: x.site.id,
      minSeverity: 'info',
      kinds,
      endpointIds: [endpoint.id],
    });
  }
  return sites;
}

/** Where the receiver got a delivery about `alertId`: [{ path, at }]. */
function deliveriesOf(rx, alertId) {
  const out = [];
  for (const r of rx.received) {
    try {
      if (JSON.parse(r.body)?.alert?.id === alertId) out.push({ path: r.path, at: r.at });
    } catch {
      // not JSON: not a delivery of ours
    }
  }
  return out;
}

async function attackPhase() {
  const hub = hubProcess('bulwark-bench-monitor-');
  let sim;
  // The receiver records each request's path, headers, body and arrival time (`at`).
  const rx = await startHttpsReceiver();
  try {
    const info = await hub.start();
    const ca = readFileSync(info.caFile, 'utf8');
    const api = createClient({ baseUrl: info.url, token: hub.apiKey, fetch: httpsFetch({ ca }) });
    const channel = await api.channels.create({ name: 'telemetry' });
    const tuning = { unpatchedVersion: '0.9.0' };
    if (LEARN_MINUTES > 0) {
      await api.detect.updateRule('message_flood', {
        windowSeconds: 10,
        learningMinutes: LEARN_MINUTES,
      });
      await api.detect.updateRule('new_listening_port', { learningMinutes: LEARN_MINUTES });
      log(
        `rules tuned for a short run: message_flood on 10 s windows, message_flood and new_listening_port learn for ${LEARN_MINUTES} min (defaults: 60 s windows, 30 and 60 min)`,
      );
    }
    const oldArtifact = await publishFirmware(api, tuning.unpatchedVersion);
    const kinds = [...new Set(Object.values(EXPECTED).flat())];
    // A brute force names its target, not its culprit (decision 0036): its source is blocked; the
    // device is quarantined on every other kind.
    const deviceKinds = kinds.filter((k) => k !== 'auth_bruteforce');
    const policy = await api.call('createMitigationPolicy', {
      body: {
        name: 'contain attacks',
        kinds: deviceKinds,
        minSeverity: 'info',
        action: 'quarantine',
      },
    });
    const blocking = await api.call('createMitigationPolicy', {
      body: {
        name: 'block guessers',
        kinds: ['auth_bruteforce'],
        minSeverity: 'info',
        action: 'block_source',
      },
    });
    log(
      `mitigation policies: ${policy.id} quarantine on ${deviceKinds.join(', ')}; ${blocking.id} block_source on auth_bruteforce`,
    );
    const sites = await routeBySite(api, rx, kinds);
    log('notification rules: site North → /north, site South → /south (webhooks, HTTPS)');
    const starts = new Map();
    sim = new Simulator({
      hubUrl: info.url,
      mqttUrl: `mqtts://127.0.0.1:${info.mqttPort}`,
      ca,
      apiKey: hub.apiKey,
      devices: ATTACK_NORMAL + ATTACK_KINDS.length,
      prefix: 'mon',
      deviceType: TYPE,
      telemetry: { channelId: channel.id, intervalMs: 10_000 },
      metricsIntervalSeconds: 10,
      attacks: ATTACK_KINDS.map((k) => parseAttackSpec(k)),
      attackAfterMs: ATTACK_AFTER * 1000,
      attackTuning: tuning,
      onAttack: (e) => {
        process.stdout.write(`${JSON.stringify(e)}\n`);
        if (e.event === 'attack_started') starts.set(e.attack, e);
      },
      log,
    });
    await sim.start();
    await sim.waitConnected(sim.devices.length, 120_000);
    // Every device in a site subtree, alternately (the attackers among them).
    const siteOf = new Map(); // deviceId → site
    for (const [i, d] of sim.devices.entries()) {
      const x = sites[i % sites.length];
      await api.devices.update(d.deviceId, { locationId: x.deviceLocation.id });
      siteOf.set(d.deviceId, x.name);
    }
    log(`${sim.devices.length} devices connected; attacks in ${ATTACK_AFTER} s`);
    const found = new Map(); // attack → first alert
    const contained = new Map(); // attack → mitigation
    const routed = new Map(); // attack → deliveries about its alert
    const attacks = sim.startAttacks();
    // unpatched: the operator marks the old version vulnerable once the attack has begun.
    const checks = (async () => {
      while (!starts.has('unpatched')) await sleep(100);
      await api.call('setFirmwareAdvisory', {
        params: { id: oldArtifact },
        body: { status: 'vulnerable', reason: 'bench: remote code execution in 0.9.0' },
      });
      const t0 = Date.now();
      while (Date.now() - t0 < DETECT_SECONDS * 1000 && !found.has('unpatched')) {
        await api.call('runChecks', { body: {} }).catch((err) => log(`checks: ${err.message}`));
        await sleep(10_000);
      }
    })();
    const deadline = () =>
      Math.max(...[...starts.values()].map((s) => Date.parse(s.startedAt))) + DETECT_SECONDS * 1000;
    while (starts.size < ATTACK_KINDS.length) await sleep(100);
    while (Date.now() < deadline()) {
      const alerts = await allAlerts(api);
      for (const [attack, s] of starts) {
        if (found.has(attack)) continue;
        const hits = alerts
          .filter((a) => a.deviceId === s.deviceId && EXPECTED[attack].includes(a.kind))
          .sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt));
        if (hits[0]) found.set(attack, hits[0]);
      }
      for (const [attack, alert] of found) {
        if (contained.has(attack)) continue;
        if (alert.kind === 'auth_bruteforce') {
          // Contained: the guessing source blocked at the edge (the target device is left alone).
          const m = await api.call('listMitigations', { query: { alertId: alert.id, limit: 50 } });
          const b = m.items.find((x) => x.action === 'block_source' && x.state === 'applied');
          if (b)
            contained.set(attack, { mitigation: b, state: `source ${b.params.source} blocked` });
          continue;
        }
        const m = await api.call('listMitigations', {
          query: { deviceId: alert.deviceId, limit: 50 },
        });
        const q = m.items.find((x) => x.action === 'quarantine' && x.state === 'applied');
        if (q) {
          const dev = await api.devices.get(alert.deviceId);
          contained.set(attack, { mitigation: q, state: dev.state });
        }
      }
      for (const [attack, alert] of found) {
        const d = deliveriesOf(rx, alert.id);
        if (d.length > 0) routed.set(attack, d);
      }
      if (
        found.size === ATTACK_KINDS.length &&
        contained.size === found.size &&
        routed.size === found.size
      )
        break;
      await sleep(500);
    }
    // Late deliveries (and any to the wrong site) of the last alerts found.
    await sleep(2000);
    for (const [attack, alert] of found) {
      const d = deliveriesOf(rx, alert.id);
      if (d.length > 0) routed.set(attack, d);
    }
    await attacks;
    await checks;
    const rows = ATTACK_KINDS.map((attack) => {
      const s = starts.get(attack);
      const a = found.get(attack);
      const c = contained.get(attack);
      const r = routed.get(attack) ?? [];
      const want = s ? siteOf.get(s.deviceId) : undefined;
      const right = r.filter((x) => x.path === `/${want}`);
      const wrong = r.filter((x) => x.path !== `/${want}`);
      return {
        routedOk: a !== undefined && right.length > 0 && wrong.length === 0,
        routed: !a
          ? '-'
          : `${want}: ${
              right.length > 0
                ? `delivered ${((right[0].at - Date.parse(a.openedAt)) / 1000).toFixed(1)} s after the alert`
                : 'NOT delivered'
            }${wrong.length > 0 ? `; WRONG: ${wrong.map((x) => x.path).join(', ')}` : ''}`,
        attack,
        device: s?.device ?? '-',
        detected: a
          ? `${((Date.parse(a.openedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)} s (${a.kind})`
          : `not detected within ${DETECT_SECONDS} s`,
        contained: !a
          ? '-'
          : c
            ? `${((Date.parse(c.mitigation.at) - Date.parse(a.openedAt)) / 1000).toFixed(1)} s (${c.state.startsWith('source') ? c.state : `state ${c.state}`})`
            : `not contained within ${DETECT_SECONDS} s`,
      };
    });
    return rows;
  } finally {
    await sim?.stop();
    await hub.stop();
    hub.remove();
    await rx.close();
  }
}

/** A normal fleet for NORMAL_SECONDS: alerts opened, and the hub's CPU per device per report. */
async function normalPhase(flags) {
  const hub = hubProcess('bulwark-bench-monitor-fp-', flags);
  let sim;
  try {
    const info = await hub.start();
    const ca = readFileSync(info.caFile, 'utf8');
    const api = createClient({ baseUrl: info.url, token: hub.apiKey, fetch: httpsFetch({ ca }) });
    const channel = await api.channels.create({ name: 'telemetry' });
    sim = new Simulator({
      hubUrl: info.url,
      mqttUrl: `mqtts://127.0.0.1:${info.mqttPort}`,
      ca,
      apiKey: hub.apiKey,
      devices: DEVICES,
      prefix: 'norm',
      deviceType: TYPE,
      telemetry: { channelId: channel.id, intervalMs: 10_000 },
      metricsIntervalSeconds: 10,
      concurrency: 8,
      log,
    });
    await sim.start();
    await sim.waitConnected(DEVICES, 600_000);
    const before = new Set((await allAlerts(api)).map((a) => a.id));
    log(
      `${DEVICES} devices connected (${before.size} alerts so far); normal run of ${NORMAL_SECONDS} s`,
    );
    const cpu0 = cpuMs(hub.pid);
    const t0 = Date.now();
    const loadBefore = load();
    await sleep(NORMAL_SECONDS * 1000);
    const seconds = (Date.now() - t0) / 1000;
    const cpu = cpuMs(hub.pid) - cpu0;
    const loadAfter = load();
    const alerts = (await allAlerts(api)).filter((a) => !before.has(a.id));
    const byKind = {};
    for (const a of alerts) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
    // Each device sends a metrics snapshot and a telemetry message every 10 s: one "report".
    const reports = DEVICES * (seconds / 10);
    return {
      alerts: alerts.length,
      byKind,
      titles: alerts.map((a) => `${a.kind} (${a.deviceId ?? 'fleet-wide'}): ${a.title}`),
      cpuPercent: (cpu / (seconds * 1000)) * 100,
      msPerDeviceReport: cpu / reports,
      connected: sim.connected(),
      load: `load average ${loadBefore} → ${loadAfter}`,
    };
  } finally {
    await sim?.stop();
    await hub.stop();
    hub.remove();
  }
}

if (!SKIP_ATTACKS) {
  const rows = await attackPhase();
  console.log(
    '\nAttacks (one device each, detection = first alert of the expected kind about it):',
  );
  console.log(
    `  ${'attack'.padEnd(15)} ${'detected after'.padEnd(40)} ${'contained after (quarantine / block_source)'.padEnd(40)} routed (site webhook)`,
  );
  for (const r of rows)
    console.log(
      `  ${r.attack.padEnd(15)} ${r.detected.padEnd(40)} ${r.contained.padEnd(40)} ${r.routed}`,
    );
  const detected = rows.filter((r) => !r.detected.startsWith('not')).length;
  console.log(
    `  ${detected}/${rows.length} detected; ${rows.filter((r) => r.routedOk).length}/${rows.length} routed to their own site's channel only`,
  );
}

const on = await normalPhase([]);
console.log(
  `\nFalse positives: ${DEVICES} normal devices for ${NORMAL_SECONDS} s (default rules): ${on.alerts} alerts${
    on.alerts ? ` ${JSON.stringify(on.byKind)}` : ''
  } (goal 0); ${on.connected}/${DEVICES} connected at the end`,
);
for (const t of on.titles) console.log(`  - ${t}`);
const line = (label, r) =>
  console.log(
    `  ${label.padEnd(16)} ${r.cpuPercent.toFixed(1).padStart(6)} % of a core   ${r.msPerDeviceReport.toFixed(3)} ms per device per report   (${r.load})`,
  );
if (MONITOR_OFF_FLAGS.length > 0) {
  const off = await normalPhase(MONITOR_OFF_FLAGS);
  console.log('\nHub CPU (metrics + telemetry every 10 s per device):');
  line('monitoring on', on);
  line('monitoring off', off);
  console.log(`  (off: the hub ran with ${MONITOR_OFF_FLAGS.join(' ')})`);
  const overhead = (on.msPerDeviceReport / off.msPerDeviceReport - 1) * 100;
  console.log(
    `  monitoring overhead ${overhead >= 0 ? '+' : ''}${overhead.toFixed(1)} % of the hub's CPU (goal ≤ 10 %); alerts with monitoring off: ${off.alerts}${
      off.alerts ? ` ${JSON.stringify(off.byKind)}` : ''
    }`,
  );
  for (const t of off.titles) console.log(`  - (off) ${t}`);
} else {
  console.log('\nHub CPU (metrics + telemetry every 10 s per device):');
  line('monitoring on', on);
  console.log('  (MONITOR_OFF_FLAGS=none: no comparison with monitoring off)');
}
