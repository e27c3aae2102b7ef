/**
 * `bulwark doctor`: checks a running installation from the outside — its runtime.json, the
 * kernel's socket tables, its TLS port, its health endpoints, its files — and never opens the
 * database itself (running as root it would leave root-owned files the hub cannot write).
 */
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { HubConfig } from '../config.js';
import type { RuntimeInfo } from '../runtime-file.js';
import { backupChecks } from './backups.js';
import { clockChecks, ntpSynchronized } from './clock.js';
import { diskCheck, fileChecks, ownershipCheck } from './files.js';
import { hostListeners, listenerChecks } from './listeners.js';
import { check, report, type Check, type Report } from './report.js';
import { fetchCertificate, hostNames, certificateChecks, type ExpectedName } from './tls.js';

/** What doctor is asked to check beyond the hub's configuration. */
export interface DoctorOptions {
  config: HubConfig;
  /** Extra names clients reach the hub by (--name). */
  names: string[];
  backupDir: string | undefined;
  backupMaxAgeHours: number;
  now?: number;
  /** Whether the system clock is synchronized (tests pin it); default asks timedatectl. */
  synced?: boolean | undefined;
}

function readRuntime(dataDir: string): RuntimeInfo | undefined {
  const file = join(dataDir, 'runtime.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as RuntimeInfo;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user (doctor run by an operator, the hub by its own user).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** GET a path of the hub's HTTPS API; resolves with the status code. */
function get(url: string, ca: string, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca, checkServerIdentity: () => undefined, timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}

/** The names the hub should be reached by: the configured ones must be in its certificate. */
function expectedNames(o: DoctorOptions, wildcard: boolean): ExpectedName[] {
  const required = new Set([...o.config.publicNames, ...o.names]);
  if (o.config.publicUrl)
    required.add(new URL(o.config.publicUrl).hostname.replace(/^\[|\]$/g, ''));
  const names: ExpectedName[] = [...required].map((name) => ({ name, required: true }));
  if (wildcard)
    for (const name of hostNames()) if (!required.has(name)) names.push({ name, required: false });
  return names;
}

async function liveChecks(
  o: DoctorOptions,
  info: RuntimeInfo,
  now: number,
): Promise<{ checks: Check[]; issuedAt?: number }> {
  const checks: Check[] = [];
  let ca = '';
  try {
    ca = readFileSync(info.caFile, 'utf8');
  } catch (err) {
    checks.push(
      check('tls', 'fail', `cannot read the CA bundle ${info.caFile}: ${(err as Error).message}`),
    );
  }
  try {
    const health = await get(`${info.url}/healthz`, ca);
    checks.push(
      check('health', health === 200 ? 'pass' : 'fail', `${info.url}/healthz answered ${health}`),
    );
    const ready = await get(`${info.url}/readyz`, ca);
    checks.push(
      ready === 200
        ? check(
            'database',
            'pass',
            `the hub reaches its database (${info.storage}): /readyz answered 200`,
          )
        : check(
            'database',
            'fail',
            `the hub cannot reach its database (${info.storage}): /readyz answered ${ready}`,
          ),
    );
  } catch (err) {
    checks.push(check('health', 'fail', `${info.url} does not answer: ${(err as Error).message}`));
  }
  const listeners = hostListeners();
  checks.push(...listenerChecks(info, listeners));
  const wildcard = listeners.some(
    (l) =>
      l.proto === 'tcp' &&
      l.port === info.httpPort &&
      (l.address === '0.0.0.0' || l.address === '::'),
  );
  let issuedAt: number | undefined;
  if (ca !== '') {
    const host = new URL(info.url).hostname.replace(/^\[|\]$/g, '');
    try {
      const got = await fetchCertificate(info.httpPort, ca, isIP(host) ? host : '127.0.0.1');
      issuedAt = Date.parse(got.cert.valid_from);
      checks.push(...certificateChecks(got, expectedNames(o, wildcard), now, info.caFile));
    } catch (err) {
      checks.push(
        check(
          'tls',
          'fail',
          `TLS handshake with port ${info.httpPort} failed: ${(err as Error).message}`,
        ),
      );
    }
  }
  return { checks, ...(issuedAt !== undefined ? { issuedAt } : {}) };
}

/** Runs every check; the report's `ok` is false when one failed. */
export async function runDoctor(o: DoctorOptions): Promise<Report> {
  const now = o.now ?? Date.now();
  const { config } = o;
  const masterKeyFile = config.masterKeyFile || join(config.dataDir, 'master.key');
  const sqliteFile =
    config.database === ''
      ? join(config.dataDir, 'bulwark.db')
      : config.database.startsWith('sqlite:')
        ? config.database.slice(7)
        : undefined;
  const checks: Check[] = [];
  const info = readRuntime(config.dataDir);
  let issuedAt: number | undefined;
  if (info === undefined) {
    checks.push(
      check(
        'hub',
        'fail',
        `no ${join(config.dataDir, 'runtime.json')}: the hub is not running on this data dir`,
      ),
    );
  } else if (!alive(info.pid)) {
    checks.push(
      check(
        'hub',
        'fail',
        `runtime.json names pid ${info.pid}, which is not running (the hub stopped without cleaning up)`,
      ),
    );
  } else {
    checks.push(
      check(
        'hub',
        'pass',
        `hub ${info.version} running (pid ${info.pid}, since ${info.startedAt}, node ${info.nodeId})`,
      ),
    );
    const live = await liveChecks(o, info, now);
    checks.push(...live.checks);
    issuedAt = live.issuedAt;
  }
  if (info === undefined || !alive(info.pid))
    checks.push(
      check(
        'listen',
        'skip',
        'listeners, TLS, health and the database are checked on a running hub',
      ),
    );
  checks.push(
    ...fileChecks({
      dataDir: config.dataDir,
      masterKeyFile,
      ...(sqliteFile ? { sqliteFile } : {}),
    }),
  );
  checks.push(ownershipCheck(config.dataDir));
  checks.push(diskCheck(config.dataDir));
  checks.push(...clockChecks(now, issuedAt, 'synced' in o ? o.synced : ntpSynchronized()));
  checks.push(
    ...backupChecks({
      backupDir: o.backupDir,
      maxAgeHours: o.backupMaxAgeHours,
      dataDir: config.dataDir,
      masterKeyFile,
      now,
    }),
  );
  return report(config.dataDir, checks);
}
