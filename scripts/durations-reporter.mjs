// A node:test reporter that writes each test file's seconds (the sum of its top-level tests and
// suites, which a file runs one after another) as JSON to its destination. Used by
// `node scripts/run-tests.mjs --record-weights` to refresh scripts/test-weights.json.
import { relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

export default async function* durations(source) {
  const seconds = {};
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0) {
      continue;
    }
    const file = event.data.file && relative(root, event.data.file);
    if (!file) continue;
    seconds[file] = (seconds[file] ?? 0) + (event.data.details?.duration_ms ?? 0) / 1000;
  }
  const rounded = Object.fromEntries(
    Object.entries(seconds)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([file, s]) => [file, Math.round(s * 10) / 10]),
  );
  yield `${JSON.stringify(rounded, null, 2)}\n`;
}
