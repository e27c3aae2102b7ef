/**
 * `bulwark doctor` against live hubs: a well-set-up one passes; a misconfigured one (readable
 * master key and data dir, open-mode MQTT and CoAP listeners, a name missing from the
 * certificate, stale backups without the master key, credentials in a world-readable settings
 * file, a dead hub) fails on exactly those checks, with exit 1. The listener rules are also
 * checked on listeners outside loopback, which a test may not open.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdtempSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeAddress, listenerChecks, parseProcNet } from '../src/doctor/listeners.js';
import { startTestHub, type TestHub } from './helpers.js';

const BIN = fileURLToPath(new URL('../../../cli/bin/bulwark.js', import.meta.url));

interface Result {
  code: number;
  report: { ok: boolean; checks: { id: string; status: string; detail: string }[] };
  stderr: string;
}

/** Runs `bulwark doctor ARGS --json` in a child with no BULWARK_* variables from this process. */
function doctor(args: string[]): Promise<Result> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('BULWARK_')),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'doctor', ...args, '--json'],
      { env, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        const report = (
          stdout ? JSON.parse(stdout) : { ok: false, checks: [] }
        ) as Result['report'];
        resolve({ code, report, stderr });
      },
    );
  });
}

const status = (r: Result, id: string) => r.report.checks.find((c) => c.id === id)?.status;

describe('bulwark doctor', () => {
  const hubs: TestHub[] = [];
  const dirs: string[] = [];
  const temp = (p: string) => {
    const d = mkdtempSync(join(tmpdir(), p));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const h of hubs) await h.close().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('passes a well-set-up hub, backups included', async () => {
    const t = await startTestHub(['--public-names', 'hub.test.example']);
    hubs.push(t);
    const backups = temp('bulwark-backups-');
    copyFileSync(join(t.dir, 'master.key'), join(backups, 'master.key'));
    writeFileSync(join(backups, 'bulwark-2026-12-06.db'), 'a backup');
    const r = await doctor([
      '--data-dir',
      t.dir,
      '--public-names',
      'hub.test.example',
      '--backup-dir',
      backups,
    ]);
    assert.equal(r.code, 0, JSON.stringify(r.report, null, 2) + r.stderr);
    assert.equal(r.report.ok, true);
    for (const id of [
      'hub',
      'health',
      'database',
      'listen.https',
      'listen.mqtt',
      'listen.mqtt-open',
      'listen.coap',
      'tls.expiry',
      'tls.chain',
      'tls.names',
      'files.data-dir',
      'files.master-key',
      'files.database',
      'files.owner',
      'clock.behind',
      'backups.age',
      'backups.master-key',
    ])
      assert.equal(
        status(r, id),
        'pass',
        `${id}: ${JSON.stringify(r.report.checks.find((c) => c.id === id))}`,
      );
    assert.match(r.report.checks.find((c) => c.id === 'listen.https')!.detail, /127\.0\.0\.1:\d+/);
    assert.match(
      r.report.checks.find((c) => c.id === 'tls.names')!.detail,
      /covers hub\.test\.example/,
    );
    // Same filesystem as the data dir here: said, not failed.
    assert.equal(status(r, 'backups.location'), 'warn');
  });

  it('fails a misconfigured hub on exactly what is wrong, and exits 1', async () => {
    const t = await startTestHub(['--mqtt-open-port', '0', '--coap-port', '0']);
    hubs.push(t);
    chmodSync(join(t.dir, 'master.key'), 0o644);
    chmodSync(t.dir, 0o755);
    const backups = temp('bulwark-old-backups-');
    writeFileSync(join(backups, 'bulwark.db'), 'an old backup');
    const old = new Date(Date.now() - 3 * 86_400_000);
    utimesSync(join(backups, 'bulwark.db'), old, old);
    const settings = join(temp('bulwark-etc-'), 'hub.env');
    // Left behind by a command run as another user (root, in real life) on the data dir; only
    // root can make such a file here.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      writeFileSync(join(t.dir, 'stray.tmp'), 'x');
      chownSync(join(t.dir, 'stray.tmp'), 4242, 4242);
    }
    writeFileSync(
      settings,
      `# the service's settings\nBULWARK_DATA_DIR=${t.dir}\nBULWARK_NATS_PASSWORD="s3cret"\n`,
    );
    chmodSync(settings, 0o644);
    const r = await doctor([
      '--service-env',
      settings,
      '--name',
      'hub.elsewhere.example',
      '--backup-dir',
      backups,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.report.ok, false);
    const fails = r.report.checks
      .filter((c) => c.status === 'fail')
      .map((c) => c.id)
      .sort();
    assert.deepEqual(fails, [
      'backups.age',
      'backups.master-key',
      'files.data-dir',
      'files.master-key',
      ...(asRoot ? ['files.owner'] : []),
      'files.settings',
      'tls.names',
    ]);
    assert.equal(status(r, 'listen.mqtt-open'), 'warn');
    assert.equal(status(r, 'listen.coap'), 'warn');
    assert.match(
      r.report.checks.find((c) => c.id === 'tls.names')!.detail,
      /MISSING hub\.elsewhere\.example/,
    );
    assert.match(r.report.checks.find((c) => c.id === 'files.master-key')!.detail, /0644/);
    assert.match(
      r.report.checks.find((c) => c.id === 'files.settings')!.detail,
      /BULWARK_NATS_PASSWORD/,
    );
    chmodSync(join(t.dir, 'master.key'), 0o600);
    chmodSync(t.dir, 0o700);
  });

  it('fails a hub that is not running, and a runtime.json left by a dead one', async () => {
    const t = await startTestHub([], { dir: temp('bulwark-stopped-') });
    const runtime = JSON.parse(JSON.stringify(t.hub.info)) as { pid: number };
    await t.close();
    const stopped = await doctor(['--data-dir', t.dir]);
    assert.equal(stopped.code, 1);
    assert.match(stopped.report.checks.find((c) => c.id === 'hub')!.detail, /not running/);
    assert.equal(status(stopped, 'listen'), 'skip');
    // A pid that surely is gone: a child that has exited.
    runtime.pid = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(t.dir, 'runtime.json'), JSON.stringify(runtime));
    const stale = await doctor(['--data-dir', t.dir]);
    assert.equal(stale.code, 1);
    assert.match(stale.report.checks.find((c) => c.id === 'hub')!.detail, /which is not running/);
  });

  it('refuses bad flags with exit 2 and a message', async () => {
    const unknown = await doctor(['--data-dir', tmpdir(), '--bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--bogus'/);
    const age = await doctor(['--data-dir', tmpdir(), '--backup-max-age-hours', 'soon']);
    assert.equal(age.code, 2);
    assert.match(age.stderr, /--backup-max-age-hours soon: must be a positive number/);
    const env = await doctor(['--service-env', join(tmpdir(), 'no-such-hub.env')]);
    assert.equal(env.code, 2);
    assert.match(env.stderr, /cannot read --service-env/);
  });

  it('fails open-mode MQTT and CoAP bound outside loopback, and reads /proc/net', () => {
    const checks = listenerChecks(
      { httpPort: 8443, mqttPort: 8883, mqttOpenPort: 1883, coapPort: 5683 },
      [
        { proto: 'tcp', address: '0.0.0.0', port: 8443 },
        { proto: 'tcp', address: '::', port: 8883 },
        { proto: 'tcp', address: '0.0.0.0', port: 1883 },
        { proto: 'udp', address: '192.0.2.7', port: 5683 },
      ],
    );
    const by = Object.fromEntries(checks.map((c) => [c.id, c]));
    assert.equal(by['listen.https']?.status, 'pass');
    assert.match(by['listen.https']?.detail ?? '', /every interface/);
    assert.equal(by['listen.mqtt-open']?.status, 'fail');
    assert.match(by['listen.mqtt-open']?.detail ?? '', /0\.0\.0\.0:1883/);
    assert.equal(by['listen.coap']?.status, 'fail');
    const missing = listenerChecks(
      { httpPort: 8443, mqttPort: 8883, mqttOpenPort: null, coapPort: null },
      [],
    );
    assert.equal(missing.find((c) => c.id === 'listen.https')?.status, 'fail');

    assert.equal(decodeAddress('0100007F'), '127.0.0.1');
    assert.equal(decodeAddress('00000000000000000000000001000000'), '::1');
    assert.equal(decodeAddress('0000000000000000FFFF00000100007F'), '127.0.0.1');
    const table =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 00000000:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 1 1\n' +
      '   1: 0100007F:20FB 0100007F:A000 01 00000000:00000000 00:00000000 00000000   101        0 2 1\n';
    assert.deepEqual(parseProcNet(table, 'tcp'), [
      { proto: 'tcp', address: '0.0.0.0', port: 8443 },
    ]);
  });
});
