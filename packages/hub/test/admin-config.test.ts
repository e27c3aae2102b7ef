/**
 * Issue 13 item 4: the hub and its admin commands read one configuration, so `bulwark admin …`
 * acts on the hub's real database — PostgreSQL here, the real one — and an admin command given
 * only the data dir of a PostgreSQL hub is refused instead of creating an empty SQLite database.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch } from 'undici';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';

const BIN = new URL('../../../cli/bin/bulwark.js', import.meta.url).pathname;
const PASSWORD = 'a long and unguessable test passphrase';

/** Runs `bulwark …` (bounded), with BULWARK_* of this process removed unless given. */
function bulwark(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('BULWARK_')),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...base, BULWARK_PASSWORD: PASSWORD, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const skip = await requirePostgres();
const schemas = withPostgresSchemas();

describe('one configuration for the hub and its admin commands (PostgreSQL)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-admin-config-'));
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'hub.json');
  let hub: ChildProcess;
  let out = '';
  let rt: { url: string; caFile: string };

  before(async () => {
    writeFileSync(
      configFile,
      JSON.stringify({
        'data-dir': 'data', // relative to the file
        database: schemas.url,
        'database-schema': schemas.next(),
        'http-host': '127.0.0.1',
        'http-port': 0,
        'mqtt-port': 0,
        'log-level': 'warn',
      }),
    );
    hub = spawn(process.execPath, [BIN, 'hub', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    hub.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    hub.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const runtime = join(dataDir, 'runtime.json');
    for (let i = 0; i < 600 && !existsSync(runtime) && hub.exitCode === null; i++) await sleep(100);
    assert.ok(existsSync(runtime), `the hub did not start:\n${out}`);
    rt = JSON.parse(readFileSync(runtime, 'utf8')) as typeof rt;
  });
  after(async () => {
    if (hub.exitCode === null) {
      hub.kill('SIGTERM');
      await new Promise((r) => hub.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the config file it read, and a create-owner hint that names it', () => {
    assert.match(out, new RegExp(`config file: ${configFile}`));
    assert.match(out, new RegExp(`admin create-owner --config ${configFile}`));
  });

  it('refuses admin commands given only the data dir: no SQLite database appears', async () => {
    for (const args of [
      ['admin', 'create-owner', '--data-dir', dataDir, '--email', 'owner@example.com'],
      ['admin', 'api-key', '--data-dir', dataDir, '--name', 'k'],
      ['audit', 'verify', '--data-dir', dataDir],
    ]) {
      const r = await bulwark(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(
          `the hub on ${dataDir} uses postgres 127\\.0\\.0\\.1:5432/test \\(schema t_.*\\), but this command would open sqlite ${dataDir}/bulwark\\.db, a new empty database\\. Give it the hub's configuration: --config ${configFile}`,
        ),
      );
      assert.equal(existsSync(join(dataDir, 'bulwark.db')), false);
    }
    // Another schema of the same PostgreSQL is another database too.
    const r = await bulwark([
      'admin',
      'api-key',
      '--config',
      configFile,
      '--database-schema',
      'public',
      '--name',
      'k',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /would open postgres 127\.0\.0\.1:5432\/test \(schema public\)/);
  });

  it('create-owner and api-key with the hub config (file or BULWARK_CONFIG) act on PostgreSQL: the running hub accepts the key', async () => {
    const owner = await bulwark([
      'admin',
      'create-owner',
      '--config',
      configFile,
      '--email',
      'owner@example.com',
      '--organization',
      'Acme',
    ]);
    assert.equal(owner.code, 0, owner.stderr);
    assert.match(
      owner.stderr,
      new RegExp(`config file: ${configFile}; database: postgres 127\\.0\\.0\\.1:5432/test`),
    );
    const key = await bulwark(['admin', 'api-key', '--name', 'laptop'], {
      BULWARK_CONFIG: configFile,
    });
    assert.equal(key.code, 0, key.stderr);
    const apiKey = key.stdout.trim();
    const dispatcher = new Agent({ connect: { ca: readFileSync(rt.caFile, 'utf8') } });
    const me = await fetch(`${rt.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${apiKey}` },
      dispatcher,
    });
    assert.equal(me.status, 200, await me.clone().text());
    const verify = await bulwark(['audit', 'verify', '--config', configFile]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /audit log OK: [1-9]\d* events/);
  });
});
