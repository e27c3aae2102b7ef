#!/usr/bin/env node
// Self time of a V8 .cpuprofile (`node --cpu-prof`, e.g. the hub of bench/ingest.mjs through
// HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"), by function and by file, largest first.
// Usage: node bench/profile-summary.mjs FILE.cpuprofile [TOP=40] [FILTER_ENV: since/until ms].
// Env SINCE_MS / UNTIL_MS keep only samples in that window (ms from the profile's start), so the
// startup and provisioning do not hide the load.
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile [TOP]');
  process.exit(2);
}
const top = Number(topArg ?? 40);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const since = Number(process.env.SINCE_MS ?? 0) * 1000;
const until = Number(process.env.UNTIL_MS ?? Infinity) * 1000;

// Sample i lasted timeDeltas[i + 1] µs (the delta to the next sample); the last one gets 0.
const self = new Map();
let t = 0;
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i];
  const dt = p.timeDeltas[i + 1] ?? 0;
  if (t < since || t > until) continue;
  self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  total += dt;
}

const short = (url) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, 'nm:')
    .replace(/.*\/packages\//, '');
const fns = new Map();
const files = new Map();
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const where = cf.url ? short(cf.url) : '(native)';
  const fn = `${cf.functionName || '(anonymous)'} ${where}:${cf.lineNumber + 1}`;
  fns.set(fn, (fns.get(fn) ?? 0) + us);
  files.set(where, (files.get(where) ?? 0) + us);
}
const show = (title, m) => {
  console.log(`\n${title} (self ms, % of ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(
      `${(us / 1000).toFixed(1).padStart(9)} ${((us * 100) / total).toFixed(1).padStart(5)}%  ${k}`,
    );
};
show('by function', fns);
show('by file', files);

// CALLERS=NAME: where the self time of functions named NAME comes from (4 frames up).
if (process.env.CALLERS) {
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frame = (id) => {
    const cf = byId.get(id).callFrame;
    return `${cf.functionName || '(anon)'}@${short(cf.url).split('/').pop()}:${cf.lineNumber + 1}`;
  };
  const stacks = new Map();
  for (const [id, us] of self) {
    if (byId.get(id).callFrame.functionName !== process.env.CALLERS) continue;
    const chain = [];
    for (let at = parent.get(id); at !== undefined && chain.length < 4; at = parent.get(at))
      chain.push(frame(at));
    const k = chain.join(' < ');
    stacks.set(k, (stacks.get(k) ?? 0) + us);
  }
  show(`callers of ${process.env.CALLERS}`, stacks);
}
