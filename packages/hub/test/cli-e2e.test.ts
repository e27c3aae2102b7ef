/**
 * The "done means", end to end through the real `bulwark` binary: a hub process, the local
 * admin commands, `device create`, openssl, the CRL, tampering with the audit log, and SIGTERM.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditHash, type AuditEvent } from '@bulwark/core';

const BIN = new URL('../../../cli/bin/bulwark.js', import.meta.url).pathname;
const PASSWORD = 'a long and unguessable passphrase';

/** An `audit_events` row as `sqlite3 -json` prints it, as the event core hashes. */
const toEvent = (r: Record<string, unknown>): AuditEvent =>
  ({
    seq: r['seq'],
    id: r['id'],
    orgId: r['org_id'],
    at: r['at'],
    actorType: r['actor_type'],
    actorId: r['actor_id'],
    action: r['action'],
    targetType: r['target_type'],
    targetId: r['target_id'],
    source: r['source'],
    result: r['result'],
    detail: r['detail'],
    prevHash: r['prev_hash'],
    hash: r['hash'],
  }) as AuditEvent;

function bulwark(
  args: string[],
  env: Record<string, string> = {},
): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

const openssl = (...args: string[]) =>
  execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('bulwark end to end (hub process, CLI, openssl, sqlite3)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-e2e-'));
  const dataDir = join(dir, 'data');
  let hub: ChildProcess;
  let out = '';
  let env: Record<string, string>;

  before(async () => {
    hub = spawn(
      process.execPath,
      [
        BIN,
        'hub',
        '--data-dir',
        dataDir,
        '--http-port',
        '0',
        '--mqtt-port',
        '0',
        '--http-host',
        '127.0.0.1',
        '--log-level',
        'warn',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    hub.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    hub.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    for (let i = 0; i < 200 && !existsSync(join(dataDir, 'runtime.json')); i++) await sleep(100);
    assert.ok(existsSync(join(dataDir, 'runtime.json')), `the hub did not start:\n${out}`);
  });
  after(() => {
    if (hub.exitCode === null) hub.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes runtime.json with the bound port and CA bundle, and prints a one-time setup token', () => {
    const rt = JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as {
      httpPort: number;
      caFile: string;
      url: string;
    };
    assert.ok(rt.httpPort > 0);
    assert.match(readFileSync(rt.caFile, 'utf8'), /BEGIN CERTIFICATE/);
    assert.match(out, /Setup token: bws_[A-Za-z0-9_-]+/);
    assert.equal(statSync(join(dataDir, 'master.key')).mode & 0o777, 0o600);
  });

  it('creates the owner and an API key on the data dir', () => {
    const owner = bulwark(
      [
        'admin',
        'create-owner',
        '--data-dir',
        dataDir,
        '--email',
        'owner@example.com',
        '--organization',
        'Acme',
      ],
      { BULWARK_PASSWORD: PASSWORD },
    );
    assert.equal(owner.code, 0, owner.stderr);
    const key = bulwark(['admin', 'api-key', '--data-dir', dataDir, '--name', 'e2e']);
    assert.equal(key.code, 0, key.stderr);
    assert.match(key.stdout.trim(), /^bwk_[0-9a-f]{32}_\S+$/);
    env = { BULWARK_API_KEY: key.stdout.trim(), BULWARK_DATA_DIR: dataDir };
  });

  it('device create writes a key that stays local and a certificate openssl verifies; two devices, two keys', () => {
    const keys: string[] = [];
    for (const name of ['sensor-1', 'sensor-2']) {
      const dest = join(dir, name);
      const r = bulwark(['device', 'create', name, '--type', 'esp32', '--out', dest], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(statSync(join(dest, 'key.pem')).mode & 0o777, 0o600);
      assert.match(
        openssl('verify', '-CAfile', join(dest, 'ca.pem'), join(dest, 'cert.pem')),
        /cert\.pem: OK/,
      );
      keys.push(openssl('pkey', '-in', join(dest, 'key.pem'), '-pubout'));
    }
    assert.notEqual(keys[0], keys[1]);
    const again = bulwark(
      ['device', 'create', 'sensor-1', '--type', 'esp32', '--out', join(dir, 'sensor-1')],
      env,
    );
    assert.notEqual(again.code, 0);
  });

  it('device enroll does the token flow: an operator makes a token, the device enrolls with it once', () => {
    const dev = bulwark(
      ['device', 'create', 'gateway-9', '--type', 'rpi4', '--out', join(dir, 'unused')],
      env,
    );
    assert.equal(dev.code, 0, dev.stderr);
    const meta = JSON.parse(readFileSync(join(dir, 'unused', 'device.json'), 'utf8')) as {
      deviceId: string;
    };
    const tok = bulwark(['device', 'token', meta.deviceId, '--json'], env);
    assert.equal(tok.code, 0, tok.stderr);
    const { token } = JSON.parse(tok.stdout) as { token: string };
    const dest = join(dir, 'enrolled');
    const enrolled = bulwark(['device', 'enroll', '--token', token, '--out', dest], {
      BULWARK_DATA_DIR: dataDir,
    });
    assert.equal(enrolled.code, 0, enrolled.stderr);
    assert.match(openssl('verify', '-CAfile', join(dest, 'ca.pem'), join(dest, 'cert.pem')), /OK/);
    const reused = bulwark(['device', 'enroll', '--token', token, '--out', join(dir, 'again')], {
      BULWARK_DATA_DIR: dataDir,
    });
    assert.equal(reused.code, 1);
    assert.match(reused.stderr, /enrollment_token_used/);
  });

  it('channels: create, connect a device with a key, publish as the device, read the message back', () => {
    const ch = JSON.parse(
      bulwark(['channel', 'create', 'cli-telemetry', '--json'], env).stdout,
    ) as { id: string };
    const meta = JSON.parse(readFileSync(join(dir, 'sensor-2', 'device.json'), 'utf8')) as {
      deviceId: string;
    };
    const key = JSON.parse(
      bulwark(['device', 'key', 'create', meta.deviceId, '--json'], env).stdout,
    ) as { key: string };
    const conn = bulwark(['channel', 'connect', ch.id, meta.deviceId, '--publish'], env);
    assert.equal(conn.code, 0, conn.stderr);
    const pub = bulwark(
      [
        'publish',
        ch.id,
        '--device',
        meta.deviceId,
        '--device-key',
        key.key,
        '--subtopic',
        'lab/1',
        '--data',
        '[{"n":"temp","v":21.5,"u":"Cel"}]',
      ],
      { BULWARK_DATA_DIR: dataDir },
    );
    assert.equal(pub.code, 0, pub.stderr);
    assert.match(pub.stdout, /accepted/);
    const msgs = bulwark(['messages', ch.id], env);
    assert.equal(msgs.code, 0, msgs.stderr);
    assert.match(msgs.stdout, /temp=21\.5Cel/);
    assert.match(msgs.stdout, /lab\/1/);
  });

  it('a revoked device certificate appears in the CRL', () => {
    const meta = JSON.parse(readFileSync(join(dir, 'sensor-1', 'device.json'), 'utf8')) as {
      deviceId: string;
      organizationId: string;
    };
    const certs = JSON.parse(bulwark(['device', 'certs', meta.deviceId, '--json'], env).stdout) as {
      items: { serial: string }[];
    };
    const serial = certs.items[0]!.serial;
    const r = bulwark(
      ['device', 'revoke', meta.deviceId, serial, '--reason', 'keyCompromise'],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const crl = bulwark(['crl', meta.organizationId], env);
    assert.equal(crl.code, 0, crl.stderr);
    const crlFile = join(dir, 'org.crl');
    writeFileSync(crlFile, crl.stdout);
    const text = openssl('crl', '-in', crlFile, '-noout', '-text').replace(/:/g, '').toLowerCase();
    assert.ok(text.includes(serial.replace(/^0+/, '')), `serial ${serial} not in\n${text}`);
    assert.throws(
      () =>
        openssl(
          'verify',
          '-crl_check',
          '-CRLfile',
          crlFile,
          '-CAfile',
          join(dir, 'sensor-1', 'ca.pem'),
          join(dir, 'sensor-1', 'cert.pem'),
        ),
      /revoked/,
    );
  });

  it('audit verify passes, then fails naming the row edited with sqlite3 — also when every later hash and the head are recomputed', () => {
    const db = join(dataDir, 'bulwark.db');
    const ok = bulwark(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /audit log OK: .* keyed \(HMAC\) from row 1/);
    // A database writer without the master key edits row 3 and recomputes the chain after it
    // (plain SHA-256, as the unkeyed chain was) and the head, so that every link agrees.
    const rows = (
      JSON.parse(
        execFileSync('sqlite3', ['-json', db, 'SELECT * FROM audit_events ORDER BY seq'], {
          encoding: 'utf8',
        }),
      ) as Record<string, unknown>[]
    ).map(toEvent);
    let prev = rows[1]!.hash;
    const sql = rows.slice(2).map((row) => {
      const { hash: _h, ...rest } = row;
      const r = { ...rest, prevHash: prev, ...(row.seq === 3 ? { action: 'forged' } : {}) };
      prev = auditHash(r);
      return `UPDATE audit_events SET action = '${r.action}', prev_hash = '${r.prevHash}', hash = '${prev}' WHERE seq = ${r.seq};`;
    });
    sql.push(`UPDATE audit_head SET seq = ${rows.at(-1)!.seq}, hash = '${prev}' WHERE id = 1;`);
    execFileSync('sqlite3', [db, sql.join('\n')]);
    const bad = bulwark(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /BROKEN at row 3\b.*keyed hash \(HMAC\)/);
  });

  it('shuts down cleanly on SIGTERM and removes runtime.json', async () => {
    const exited = new Promise<number | null>((resolve) =>
      hub.once('exit', (code) => resolve(code)),
    );
    hub.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(join(dataDir, 'runtime.json')), false);
  });
});
