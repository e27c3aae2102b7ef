#!/usr/bin/env node
// Runs every package's compiled tests (packages/*/dist/test/**/*.test.js) with Node's built-in
// test runner. `npm test` builds (the type check) and lints before calling this.
// Usage: node scripts/run-tests.mjs [filter-substring ...]
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
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
const selected = files
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (selected.length === 0) {
  console.error('no test files found: run `tsc -b` first');
  process.exit(1);
}
// Two cores: run files two at a time; each file's own tests run in order.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...selected], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);
