// Start-up structure (decision 0029): which modules a command loads, seen through a module resolve
// hook in a child process. A timing would flake on a shared machine; what is loaded does not.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/bulwark.js', import.meta.url));

// Every module the child resolves is appended to the file named by the registration's data.
const HOOK = `import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(file, r.url + '\\n');
  return r;
}
`;

/** Modules that must wait for the command that needs them. */
const HEAVY = {
  x509: /node_modules\/@peculiar\/x509\//,
  undici: /node_modules\/undici\//,
  typebox: /node_modules\/@sinclair\/typebox\//,
  routeSchemas: /packages\/protocol\/dist\/src\/api\/routes\.js$/m,
  firmware: /packages\/firmware\/dist\//,
};

let dir: string;
let closed: Server;
let closedUrl: string;

/** Runs `bulwark argv` with the hook; returns the resolved module URLs and the exit code. */
async function loaded(argv: string[], env: Record<string, string> = {}) {
  const out = join(dir, `modules-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(out, '');
  const reg = join(dir, 'register.mjs');
  const child = spawn(process.execPath, ['--import', reg, BIN, ...argv], {
    env: { PATH: process.env.PATH ?? '', HOOK_OUT: out, ...env },
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`bulwark ${argv.join(' ')} did not exit in 30 s`));
    }, 30_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { modules: readFileSync(out, 'utf8'), code };
}

const heavyIn = (modules: string): string[] =>
  Object.entries(HEAVY)
    .filter(([, re]) => re.test(modules))
    .map(([name]) => name);

describe('start-up loads only what the command needs (decision 0029)', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-startup-'));
    writeFileSync(join(dir, 'hook.mjs'), HOOK);
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\n` +
        `register(${JSON.stringify(new URL(`file://${join(dir, 'hook.mjs')}`).href)}, ` +
        `{ data: { file: process.env.HOOK_OUT } });\n`,
    );
    // A port nobody listens on: bound, then closed.
    closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as { port: number };
    closedUrl = `http://127.0.0.1:${port}`;
    await new Promise<void>((r) => closed.close(() => r()));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('`bulwark --version` and `bulwark device list --help` load none of the heavy modules', async () => {
    for (const argv of [['--version'], ['device', 'list', '--help'], ['help']]) {
      const r = await loaded(argv);
      assert.equal(r.code, 0, argv.join(' '));
      assert.match(r.modules, /packages\/cli\/dist\/src\/main\.js/, 'the hook sees the CLI');
      assert.deepEqual(heavyIn(r.modules), [], argv.join(' '));
    }
  });

  test('`bulwark device list` reaches the network without schemas, x509, undici or firmware', async () => {
    const r = await loaded(['device', 'list', '--hub', closedUrl], { BULWARK_API_KEY: 'k' });
    assert.equal(r.code, 1);
    assert.deepEqual(heavyIn(r.modules), []);
  });

  test('the hook sees a heavy module where a command does need it (the checks above can fail)', async () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'not a certificate');
    const withCa = await loaded(['device', 'list', '--hub', closedUrl, '--ca', ca], {
      BULWARK_API_KEY: 'k',
    });
    assert.deepEqual(heavyIn(withCa.modules), ['undici']);
    // `keys init` loads the firmware package in its run, before it finds --dir missing.
    const keys = await loaded(['keys', 'init']);
    assert.equal(keys.code, 2);
    assert.ok(heavyIn(keys.modules).includes('firmware'));
  });
});
