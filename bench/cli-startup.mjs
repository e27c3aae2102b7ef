// CLI start-up figures (decision 0029): the median of N runs of `bulwark --version` (to exit) and of
// `bulwark device list` up to its first network byte — the moment a local TCP server accepts the
// CLI's connection (the server then closes it, so the command fails at once) — beside a bare
// `node -e 0`, which is the floor no Node program beats. Figures are raw and net of that floor.
// Usage: node bench/cli-startup.mjs [--runs N] [--bin PATH] (after tsc -b). Bounded: N ≤ 50 runs of
// a few seconds each at most.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '11' }, bin: { type: 'string' } },
});
const RUNS = Math.min(50, Math.max(1, Number(values.runs)));
const BIN = values.bin ?? fileURLToPath(new URL('../packages/cli/bin/bulwark.js', import.meta.url));
const TIMEOUT_MS = 30_000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs node with args; resolves with ms to exit, or to `until()` resolving if given. */
function time(args, env = {}, until) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, {
      stdio: 'ignore',
      env: { ...process.env, ...env },
    });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`timed out: node ${args.join(' ')}`));
    }, TIMEOUT_MS);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(performance.now() - t0);
    };
    until?.then(finish);
    child.on('exit', () => {
      clearTimeout(timer);
      if (until === undefined) finish();
    });
    child.on('error', reject);
  });
}

const server = createServer();
let onConnection = () => {};
server.on('connection', (socket) => {
  onConnection();
  socket.destroy();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const hub = `http://127.0.0.1:${server.address().port}`;

const firstByte = () =>
  new Promise((resolve) => {
    onConnection = resolve;
  });

const rows = { 'node -e 0': [], 'bulwark --version': [], 'bulwark device list': [] };
for (let i = 0; i < RUNS; i++) {
  rows['node -e 0'].push(await time(['-e', '0']));
  rows['bulwark --version'].push(await time([BIN, '--version']));
  rows['bulwark device list'].push(
    await time(
      [BIN, 'device', 'list', '--hub', hub],
      { BULWARK_API_KEY: 'bwk_bench' },
      firstByte(),
    ),
  );
}
server.close();

const floor = median(rows['node -e 0']);
console.log(`CLI start-up, median of ${RUNS} runs (${BIN})`);
console.log('command                    raw ms   net of node -e 0');
for (const [name, xs] of Object.entries(rows)) {
  const m = median(xs);
  console.log(
    `${name.padEnd(25)} ${m.toFixed(0).padStart(7)}   ${(m - floor).toFixed(0).padStart(7)}`,
  );
}
console.log('(device list: to the first network byte; target under 300 ms on a quiet machine)');
