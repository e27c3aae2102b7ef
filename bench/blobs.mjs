// Firmware image store figures (decision 0021): the filesystem store (one node) beside the NATS
// JetStream object store (a cluster) on the NATS at BULWARK_TEST_NATS_URL (default
// nats://127.0.0.1:4222): store a 32 MiB image, read it whole, and read 1 MiB at its end as a device
// resuming a download does (the first ranged read on a node also finds the chunk sequences).
// Five runs each, medians; bounded (a run takes seconds). Usage: node bench/blobs.mjs (after tsc -b).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNatsBlobStore, removeDeployment, deploymentNames } from '@bulwark/bus-nats';
import { FsBlobStore } from '../packages/hub/dist/src/blob-store.js';

const url = process.env.BULWARK_TEST_NATS_URL || 'nats://127.0.0.1:4222';
const SIZE = 32 * 1024 * 1024;
const RUNS = 5;
const TAIL = 1024 * 1024;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function* chunked(data, size = 64 * 1024) {
  for (let off = 0; off < data.byteLength; off += size) yield data.subarray(off, off + size);
}
async function drain(stream) {
  let n = 0;
  for await (const c of stream) n += c.byteLength;
  return n;
}
const ms = async (fn) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

async function measure(name, open) {
  const rows = { put: [], whole: [], tailFirst: [], tail: [] };
  for (let run = 0; run < RUNS; run++) {
    const image = randomBytes(SIZE);
    const sha256 = createHash('sha256').update(image).digest('hex');
    const { store, close } = await open();
    try {
      rows.put.push(await ms(() => store.put(chunked(image), { length: SIZE, sha256 })));
      rows.whole.push(await ms(async () => drain(await store.get(sha256))));
      const range = { start: SIZE - TAIL, end: SIZE - 1 };
      rows.tailFirst.push(await ms(async () => drain(await store.get(sha256, range))));
      rows.tail.push(await ms(async () => drain(await store.get(sha256, range))));
    } finally {
      await close();
    }
  }
  const mbps = (t) => (SIZE / 1024 / 1024 / (t / 1000)).toFixed(0);
  const p = (k) => median(rows[k]);
  console.log(
    `| ${name} | ${p('put').toFixed(0)} ms (${mbps(p('put'))} MiB/s) | ${p('whole').toFixed(0)} ms (${mbps(p('whole'))} MiB/s) | ${p('tailFirst').toFixed(1)} ms | ${p('tail').toFixed(1)} ms |`,
  );
}

console.log(`32 MiB image, ${RUNS} runs, medians; the machine may be shared.\n`);
console.log('| store | put | whole read | last 1 MiB (first on node) | last 1 MiB |');
console.log('|---|---|---|---|---|');
await measure('filesystem (DATA_DIR/blobs)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-blobs-'));
  return { store: new FsBlobStore(dir), close: async () => rmSync(dir, { recursive: true }) };
});
const prefix = `bench-${process.pid}`;
let n = 0;
await measure('NATS object store (R1)', async () => {
  const p = `${prefix}-${++n}`;
  const store = await createNatsBlobStore({ servers: url, bucket: deploymentNames(p).blobsBucket });
  return {
    store,
    close: async () => {
      await store.close();
      await removeDeployment({ servers: url }, p);
    },
  };
});
