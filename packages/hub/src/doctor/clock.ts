/**
 * Clock sanity. Certificates, tokens, firmware metadata expiry and rollout windows all read the
 * clock: doctor checks that it is synchronized (systemd's view, when there is one) and that it
 * is not behind what the hub has already signed (a certificate issued "in the future").
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { check, type Check } from './report.js';

/** Whether the kernel clock is NTP-synchronized, as systemd sees it; undefined when unknown. */
export function ntpSynchronized(): boolean | undefined {
  try {
    const out = execFileSync('timedatectl', ['show', '--property=NTPSynchronized', '--value'], {
      encoding: 'utf8',
      timeout: 3000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (out === 'yes') return true;
    if (out === 'no') return false;
  } catch {
    /* no timedatectl, or no systemd to ask */
  }
  // systemd-timesyncd marks a synchronized clock with this file.
  if (existsSync('/run/systemd/timesync/synchronized')) return true;
  return undefined;
}

/** The clock checks: `issuedAt` is the newest notBefore the hub has signed (its server certificate). */
export function clockChecks(
  now: number,
  issuedAt: number | undefined,
  synced: boolean | undefined,
): Check[] {
  const checks: Check[] = [];
  if (issuedAt !== undefined && now < issuedAt)
    checks.push(
      check(
        'clock.behind',
        'fail',
        `the clock (${new Date(now).toISOString()}) is before the server certificate's start (${new Date(issuedAt).toISOString()})`,
      ),
    );
  else checks.push(check('clock.behind', 'pass', `the clock reads ${new Date(now).toISOString()}`));
  checks.push(
    synced === true
      ? check('clock.sync', 'pass', 'the system clock is NTP-synchronized')
      : synced === false
        ? check(
            'clock.sync',
            'warn',
            'the system clock is not NTP-synchronized (timedatectl): certificates and firmware expiry depend on it',
          )
        : check(
            'clock.sync',
            'warn',
            'cannot tell whether the clock is synchronized (no timedatectl or systemd-timesyncd here)',
          ),
  );
  return checks;
}
