#!/usr/bin/env node
// `npm run bench:ota`: a fleet of simulated devices (the real Agent code with in-memory A/B slots)
// updated through a hub in its own process over TLS, by two rollouts:
//   1. factory image → v1.1.0, a ~1 MB image (the factory image shares nothing: full downloads);
//   2. v1.1.0 → v1.2.0, a realistic app update of it (bench/ota-images.mjs): delta downloads.
// Each job runs the whole path: offer over MQTT → verify signed metadata → compatibility →
// ranged HTTPS download into the inactive slot → verify → switch → simulated reboot → health check
// (hub link) → commit → `succeeded`. Printed: devices/minute, hub CPU and RSS while updating, the
// delta saving; then the hub's artifact serving throughput beside nginx serving the same file over
// TLS on this machine (same client, same connections, same count). Run after `tsc -b`.
// Env: DEVICES (default 1000), MAX_CONCURRENT (default 500), DOWNLOADS (per server, default 400),
// CONNECTIONS (default 16), TIMEOUT_S (per rollout, default 900). Both servers get the same untimed
// warm-up of min(100, DOWNLOADS) downloads before the timed run.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../packages/sdk/dist/src/index.js';
import {
  chunkImage,
  createRelease,
  createRoot,
  expiryAfter,
  generateSigningKey,
  signMetadata,
} from '../packages/firmware/dist/src/index.js';
import { Simulator } from '../packages/agent/dist/src/sim/simulator.js';
import { httpsFetch } from '../packages/agent/dist/src/runtime/https-fetch.js';
import { hubProcess } from './hub-process.mjs';
import { archive, system, update } from './ota-images.mjs';
import { measureDownloads, procStat, startNginxTls } from './ota-serve.mjs';

const DEVICES = Number(process.env.DEVICES ?? 1000);
const MAX_CONCURRENT = Number(process.env.MAX_CONCURRENT ?? 500);
const DOWNLOADS = Number(process.env.DOWNLOADS ?? 400);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 16);
const TIMEOUT_S = Number(process.env.TIMEOUT_S ?? 900);
const WARMUP = Math.min(100, DOWNLOADS);
const TYPE = 'otabench';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha = (b) => createHash('sha256').update(b).digest('hex');
const mib = (b) => (b / 1048576).toFixed(1);
const json = (m) => JSON.parse(JSON.stringify(m.toJSON()));

const hub = hubProcess('bulwark-bench-ota-');
const work = mkdtempSync(join(tmpdir(), 'bulwark-bench-ota-files-'));
let sim;
let nginx;

/** Samples the hub's CPU (% of one core) and peak RSS, and this process's CPU, while `fn` runs. */
async function watchHub(fn) {
  const s0 = procStat(hub.pid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let peak = s0.rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, procStat(hub.pid).rss);
  }, 250);
  try {
    const result = await fn();
    const s1 = procStat(hub.pid);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = ((s1.cpuSeconds - s0.cpuSeconds) / seconds) * 100;
    const c = process.cpuUsage(c0);
    const simCpu = ((c.user + c.system) / 1e6 / seconds) * 100;
    return { result, seconds, cpu, simCpu, peakRss: Math.max(peak, s1.rss) };
  } finally {
    clearInterval(timer);
  }
}

try {
  const info = await hub.start();
  const ca = readFileSync(info.caFile, 'utf8');
  const api = createClient({ baseUrl: info.url, token: hub.apiKey, fetch: httpsFetch({ ca }) });

  // Keys, root and the two signed releases (chunk index in the metadata, as `firmware sign` does).
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
  const old = system(1_000_000);
  const v11 = archive(old.files);
  const v12 = update(old, false).image;
  const upload = async (image, version, counter) => {
    const meta = signMetadata(
      createRelease({
        name: `${TYPE}-${version}.img`,
        types: [TYPE],
        hardware: [],
        version,
        releaseCounter: counter,
        length: image.byteLength,
        sha256: sha(image),
        expires: expiryAfter(30 * 86400),
        chunkIndex: await chunkImage(image),
      }),
      [releaseKey],
    );
    const a = await api.firmware.create(json(meta));
    await api.firmware.uploadImage(a.id, image);
    return a.id;
  };
  const a11 = await upload(v11, '1.1.0', 2);
  const a12 = await upload(v12, '1.2.0', 3);

  // The fleet.
  sim = new Simulator({
    hubUrl: info.url,
    mqttUrl: `mqtts://127.0.0.1:${info.mqttPort}`,
    ca,
    apiKey: hub.apiKey,
    devices: DEVICES,
    deviceType: TYPE,
    firmwareVersion: '1.0.0',
    backoffMinMs: 1000,
    backoffMaxMs: 30_000,
  });
  const tf = Date.now();
  await sim.start();
  await sim.waitConnected(DEVICES, 600_000);
  const fleetS = (Date.now() - tf) / 1000;

  const rollout = async (artifactId, name) => {
    const r = await api.rollouts.create({
      name,
      artifactId,
      target: { type: TYPE },
      maxConcurrent: Math.min(MAX_CONCURRENT, 10_000),
    });
    const until = Date.now() + TIMEOUT_S * 1000;
    let last;
    for (;;) {
      last = await api.rollouts.get(r.id);
      if (last.state === 'completed' || last.state === 'paused') break;
      if (Date.now() > until) break;
      await sleep(500);
    }
    let reused = 0;
    let downloaded = 0;
    let total = 0;
    for await (const job of api.updates.all({ rolloutId: r.id })) {
      if (job.delta) {
        reused += job.delta.reusedBytes;
        downloaded += job.delta.downloadedBytes;
        total += job.delta.totalBytes;
      }
    }
    return { rollout: last, reused, downloaded, total };
  };
  const full = await watchHub(() => rollout(a11, 'bench v1.1.0'));
  const delta = await watchHub(() => rollout(a12, 'bench v1.2.0 (delta)'));

  // Artifact serving: hub vs nginx, same file, same client.
  await sim.stop();
  sim = undefined;
  const file = join(work, 'image.bin');
  writeFileSync(file, v11);
  nginx = await startNginxTls(file, join(work, 'nginx'));
  // Both servers get the same untimed warm-up (TLS session setup, JIT, page cache) first.
  const hubDownload = (total) =>
    measureDownloads({
      url: `${info.url}/api/v1/firmware/artifacts/${a11}/image`,
      ca,
      headers: { authorization: `Bearer ${hub.apiKey}` },
      concurrency: CONNECTIONS,
      total,
      sha256: sha(v11),
    });
  await hubDownload(WARMUP);
  const hubServe = await watchHub(() => hubDownload(DOWNLOADS));
  let ngx;
  if (nginx) {
    const nginxDownload = (total) =>
      measureDownloads({
        url: nginx.url,
        ca: nginx.ca,
        concurrency: CONNECTIONS,
        total,
        sha256: sha(v11),
      });
    await nginxDownload(WARMUP);
    const s0 = procStat(nginx.pid);
    const m = await nginxDownload(DOWNLOADS);
    const s1 = procStat(nginx.pid);
    ngx = { ...m, cpu: ((s1.cpuSeconds - s0.cpuSeconds) / m.seconds) * 100 };
  }

  const line = (label, w) => {
    const p = w.result.rollout.progress;
    const perMin = (p.succeeded / w.seconds) * 60;
    console.log(
      `  ${label}: ${p.succeeded}/${p.total} succeeded, ${p.failed} failed, state ${w.result.rollout.state}, ${w.seconds.toFixed(1)} s → ${perMin.toFixed(0)} devices/min; hub CPU ${w.cpu.toFixed(0)}% of one core, peak RSS ${mib(w.peakRss)} MiB; simulator CPU ${w.simCpu.toFixed(0)}%`,
    );
  };
  console.log(
    `OTA: ${DEVICES} simulated devices (one process), hub in its own process, TLS; fleet enrolled + connected in ${fleetS.toFixed(1)} s; maxConcurrent ${MAX_CONCURRENT}`,
  );
  line(`v1.1.0 full image (${mib(v11.byteLength)} MiB)`, full);
  line(`v1.2.0 delta (${mib(v12.byteLength)} MiB)`, delta);
  const d = delta.result;
  console.log(
    `  delta saving over the fleet: ${mib(d.reused)} of ${mib(d.total)} MiB reused from the running slot, ${mib(d.downloaded)} MiB downloaded → ${d.total ? ((d.reused / d.total) * 100).toFixed(1) : 0}% saved (${d.total ? (d.downloaded / DEVICES / 1024).toFixed(0) : '?'} KiB per device instead of ${(v12.byteLength / 1024).toFixed(0)} KiB)`,
  );
  console.log(
    `artifact serving, ${DOWNLOADS} downloads of ${mib(v11.byteLength)} MiB over ${CONNECTIONS} keep-alive TLS connections:`,
  );
  const h = hubServe.result;
  console.log(
    `  hub  (GET /api/v1/firmware/artifacts/:id/image, API key): ${h.mibPerSecond.toFixed(0)} MiB/s, ${h.perSecond.toFixed(0)} downloads/s, p50 ${h.p50Ms.toFixed(1)} ms, p99 ${h.p99Ms.toFixed(1)} ms, CPU ${hubServe.cpu.toFixed(0)}%`,
  );
  if (ngx) {
    console.log(
      `  nginx (static file, TLS, one process):                  ${ngx.mibPerSecond.toFixed(0)} MiB/s, ${ngx.perSecond.toFixed(0)} downloads/s, p50 ${ngx.p50Ms.toFixed(1)} ms, p99 ${ngx.p99Ms.toFixed(1)} ms, CPU ${ngx.cpu.toFixed(0)}%`,
    );
    console.log(`  ratio hub / nginx: ${(h.mibPerSecond / ngx.mibPerSecond).toFixed(2)}`);
  } else {
    console.log('  nginx: not installed (apt-get install nginx) — no reference figure');
  }
} finally {
  await sim?.stop().catch(() => undefined);
  await nginx?.stop();
  await hub.stop();
  hub.remove();
  rmSync(work, { recursive: true, force: true });
}
