/**
 * The packet-sequence conformance corpus (shared/mqtt-conformance) replayed against the engine's
 * plain-TCP listener in open mode. Each file's pass count must not fall below baseline.json.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { IN_CI, repoRoot, startBroker } from '../helpers.js';
import { replayFile } from './replayer.js';
import type { CaseResult } from './replayer.js';

const root = repoRoot();
const dataDir = join(root, '..', 'shared', 'mqtt-conformance', 'data');
const baselinePath = join(root, 'packages/transport/test/mqtt/conformance/baseline.json');
const present = existsSync(dataDir);
const skip = present ? false : `conformance corpus not found at ${dataDir}`;

test('the conformance corpus is present under CI', { skip: IN_CI ? false : skip }, () => {
  assert.ok(present, `missing ${dataDir}`);
});

test(
  'conformance: no file falls below its baseline pass count',
  { skip, timeout: 50_000 },
  async () => {
    const files = readdirSync(dataDir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    const baseline = existsSync(baselinePath)
      ? (JSON.parse(readFileSync(baselinePath, 'utf8')) as Record<string, number>)
      : {};
    const results: Record<string, CaseResult[]> = {};
    // One engine per file (as the corpus assumes one broker per run), four files at a time.
    const queue = [...files];
    const worker = async (): Promise<void> => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
        const broker = await startBroker();
        try {
          const groups = JSON.parse(readFileSync(join(dataDir, f), 'utf8')) as Parameters<
            typeof replayFile
          >[1];
          results[f] = await replayFile(broker.port, groups);
        } finally {
          await broker.close();
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const counts: Record<string, number> = {};
    let pass = 0;
    let total = 0;
    for (const f of files) {
      const r = results[f] ?? [];
      counts[f] = r.filter((x) => x.ok).length;
      pass += counts[f];
      total += r.length;
      console.log(`conformance ${f.padEnd(22)} ${String(counts[f]).padStart(4)} / ${r.length}`);
      if (process.env.CONFORMANCE_VERBOSE === '1') {
        for (const x of r) if (!x.ok) console.log(`  FAIL ${x.name}: ${x.why ?? ''}`);
      }
    }
    console.log(`conformance total ${pass} / ${total}`);
    if (process.env.UPDATE_BASELINE === '1') {
      writeFileSync(baselinePath, JSON.stringify(counts, null, 2) + '\n');
    }
    for (const f of files) {
      assert.ok(
        (counts[f] ?? 0) >= (baseline[f] ?? 0),
        `${f}: ${counts[f]} passed, baseline ${baseline[f]}`,
      );
    }
  },
);
