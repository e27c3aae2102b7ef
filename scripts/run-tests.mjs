#!/usr/bin/env node
// Runs every package's compiled tests (packages/*/dist/test/**/*.test.js) with Node's built-in
// test runner. `npm test` builds (the type check) and lints before calling this.
// Usage: node scripts/run-tests.mjs [--record-weights] [filter-substring ...]
import { readdirSync, statSync, existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
// --record-weights: also write each file's measured seconds into scripts/test-weights.json.
const record = args.includes('--record-weights');
const filters = args.filter((a) => a !== '--record-weights');
const weightsFile = join(root, 'scripts', 'test-weights.json');
const weights = existsSync(weightsFile) ? JSON.parse(readFileSync(weightsFile, 'utf8')) : {};
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
};
for (const pkg of readdirSync(join(root, 'packages'))) {
  const dir = join(root, 'packages', pkg, 'dist', 'test');
  if (existsSync(dir)) walk(dir);
}
// Longest files first (their last measured seconds; a file not measured yet counts 20 s): with
// two files at a time, a long file started last would run alone at the end.
const weight = (f) => weights[relative(root, f)] ?? 20;
const selected = files
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort((a, b) => weight(b) - weight(a) || (a < b ? -1 : 1));
if (selected.length === 0) {
  console.error('no test files found: run `tsc -b` first');
  process.exit(1);
}
// Two cores: run files two at a time; each file's own tests run in order. The TAP stream passes
// through unchanged; at the end every failed or cancelled test is listed again with its path and
// reason, because a CI log keeps only its tail.
const recorded = join(tmpdir(), `bulwark-test-weights-${process.pid}.json`);
const reporters = record
  ? [
      '--test-reporter=tap',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts', 'durations-reporter.mjs')}`,
      `--test-reporter-destination=${recorded}`,
    ]
  : [];
const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', ...reporters, ...selected],
  { stdio: ['inherit', 'pipe', 'inherit'], cwd: root },
);
const failures = [];
const names = []; // subtest name per indentation level
let open = null; // the failure whose YAML block is being read
let pending = '';
const onLine = (line) => {
  const sub = /^( *)# Subtest: (.*)$/.exec(line);
  if (sub) {
    names[sub[1].length / 4] = sub[2];
    names.length = sub[1].length / 4 + 1;
    return;
  }
  const notOk = /^( *)not ok \d+ - (.*)$/.exec(line);
  if (notOk) {
    const depth = notOk[1].length / 4;
    open = { path: [...names.slice(0, depth), notOk[2]].join(' › '), depth, detail: [], more: 0 };
    failures.push(open);
    return;
  }
  if (open && /^\s*(ok|not ok) \d+/.test(line)) open = null;
  if (open === null) return;
  if (open.more > 0 && line.trim() === '') return;
  if (open.more > 0 && !/^\s*[a-zA-Z]+:( |$)/.test(line)) {
    open.more--;
    open.detail.push(`  ${line.trim().slice(0, 300)}`);
  } else if (/^\s*(failureType|error|code|location):/.test(line) && open.detail.length < 12) {
    open.detail.push(line.trim().slice(0, 300));
    // A multi-line error (`error: |-`): keep its first lines too.
    open.more = /\|-?$/.test(line.trim()) ? 4 : 0;
  } else open.more = 0;
};
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (pending + chunk.toString('utf8')).split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) onLine(line);
});
child.on('close', (code, signal) => {
  if (pending) onLine(pending);
  if (record && existsSync(recorded)) {
    const merged = { ...weights, ...JSON.parse(readFileSync(recorded, 'utf8')) };
    const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileSync(weightsFile, `${JSON.stringify(sorted, null, 2)}\n`);
    rmSync(recorded, { force: true });
  }
  // A parent suite fails when a child does: list only the deepest failures.
  const leaves = failures.filter(
    (f) => !failures.some((g) => g !== f && g.depth > f.depth && g.path.startsWith(f.path + ' › ')),
  );
  if (leaves.length > 0) {
    console.log(`\n# ${leaves.length} test(s) failed or were cancelled:`);
    for (const f of leaves) {
      console.log(`#   ✗ ${f.path}`);
      for (const d of f.detail) console.log(`#       ${d}`);
    }
  }
  process.exit(code ?? (signal ? 1 : 0));
});
