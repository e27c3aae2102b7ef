/**
 * Enrollment and renewal: the device's identity store, the CA(s) trusted for the hub, where
 * certificates come from (the SDK against `hubUrl` unless one is injected), the enrollment loop
 * that retries with backoff until the device has an identity, and certificate renewal with its
 * schedule (due at `renewal.atFraction` of the lifetime, at most once an hour).
 */
import { readFile } from 'node:fs/promises';
import { createClient } from '@bulwark/sdk';
import type { AgentConfig } from '../config.js';
import type { AgentClock, AgentFiles } from '../ports.js';
import { Backoff } from './backoff.js';
import { httpsFetch } from './https-fetch.js';
import {
  IdentityStore,
  type CertificateAuthority,
  type Credential,
  type IdentityMaterial,
} from './identity.js';

/** What enrollment and renewal work with. */
export interface EnrollmentDeps {
  config: AgentConfig;
  files: AgentFiles;
  clock: AgentClock;
  /** PEM of the CA(s) to trust for the hub; default: read `config.caFile`. */
  hubCa?: string | undefined;
  /** Where certificates come from; default: the SDK against `config.hubUrl`. */
  certificateAuthority?: CertificateAuthority | undefined;
  random?: (() => number) | undefined;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  /** Emits an agent event (`enrolled`, `enrollment-failed`, `renewed`). */
  emit(event: string, ...args: unknown[]): void;
  /** Whether the agent is started. */
  running(): boolean;
  /** Whether the agent is online (has a link, connected or not). */
  online(): boolean;
  /** The device has just enrolled and the agent is running: go online. */
  enrolled(): void;
  /** A new certificate is in place: reconnect with it. */
  reconnect(): void;
}

/** Certificate renewal is checked at least this often. */
const RENEW_CHECK_MS = 3_600_000;

/** The device identity: how it is obtained and kept current. */
export class Enrollment {
  private store: IdentityStore;
  private hubCaPem = '';
  private ca: CertificateAuthority | undefined;
  private enrollWake: (() => void) | undefined;
  private enrolling: Promise<void> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private lastRenewalAt = -Infinity;

  constructor(private readonly deps: EnrollmentDeps) {
    this.store = new IdentityStore(deps.files);
  }

  get identity(): IdentityMaterial | undefined {
    return this.store.identity;
  }

  /** The CA(s) configured for the hub. */
  get hubCa(): string {
    return this.hubCaPem;
  }

  /** Reads the hub CA and picks the certificate authority (before `load`). */
  async init(): Promise<void> {
    this.hubCaPem = this.deps.hubCa ?? (await readFile(this.deps.config.caFile, 'utf8'));
    this.ca = this.deps.certificateAuthority ?? this.sdkAuthority();
  }

  /** Loads the identity a previous run left, if any. */
  load(): Promise<IdentityMaterial | undefined> {
    return this.store.load();
  }

  /** Starts enrolling in the background. */
  begin(): void {
    this.enrolling = this.enrollLoop();
  }

  /** Cuts a backoff wait short and waits for the enrollment loop to end (the agent is stopping). */
  async stop(): Promise<void> {
    this.enrollWake?.();
    await this.enrolling;
  }

  /** Forgets the identity (after the files were wiped). */
  reset(): void {
    this.store = new IdentityStore(this.deps.files);
  }

  private sdkAuthority(): CertificateAuthority {
    const { config } = this.deps;
    const trust = () => [this.hubCaPem, ...(this.identity ? [this.identity.hubCa] : [])];
    return {
      enroll: (token, csr) =>
        createClient({ baseUrl: config.hubUrl, fetch: httpsFetch({ ca: trust() }) }).enroll({
          token,
          csr,
        }),
      claim: (body) =>
        createClient({
          baseUrl: config.hubUrl,
          fetch: httpsFetch({ ca: trust() }),
        }).provisioning.claim(body),
      renew: (csr, cur) =>
        createClient({
          baseUrl: config.hubUrl,
          fetch: httpsFetch({ ca: trust(), key: cur.keyPem, cert: cur.certPem + cur.chain[0] }),
        }).pki.renew(csr),
    };
  }

  private async credential(): Promise<Credential | undefined> {
    const e = this.deps.config.enrollment;
    if (e.factoryIdentityDir !== undefined) return { factoryIdentityDir: e.factoryIdentityDir };
    if (e.token !== undefined) return { token: e.token };
    if (e.claim !== undefined || e.claimFile !== undefined) return this.claimCredential();
    if (e.tokenFile !== undefined) {
      try {
        const token = (await readFile(e.tokenFile, 'utf8')).trim();
        return token === '' ? undefined : { token };
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** The claim, the hardware id and the device's type, read (from files: at every attempt). */
  private async claimCredential(): Promise<Credential | undefined> {
    const e = this.deps.config.enrollment;
    const read = async (file: string | undefined) => {
      if (file === undefined) return undefined;
      try {
        const v = (await readFile(file, 'utf8')).trim();
        return v === '' ? undefined : v;
      } catch {
        return undefined;
      }
    };
    const claim = e.claim ?? (await read(e.claimFile));
    const hardwareId = e.hardwareId ?? (await read(e.hardwareIdFile));
    if (claim === undefined || hardwareId === undefined) return undefined;
    // The device says what it is: a claim for another type is refused by the hub.
    return { claim, hardwareId, type: this.deps.config.device.type };
  }

  /** Tries to enroll until it works or the agent stops, backing off between attempts. */
  private async enrollLoop(): Promise<void> {
    const { config, log } = this.deps;
    const backoff = new Backoff(
      config.connection.backoffMinMs,
      config.connection.backoffMaxMs,
      this.deps.random,
    );
    while (this.deps.running() && this.identity === undefined) {
      const cred = await this.credential();
      try {
        if (cred === undefined)
          throw new Error('the device has no identity and no enrollment credential');
        const m = await this.store.enroll(cred, this.ca!);
        log('info', `enrolled as device ${m.deviceId}`);
        this.deps.emit('enrolled', m);
        break;
      } catch (err) {
        log('warn', `enrollment failed: ${(err as Error).message}`);
        this.deps.emit('enrollment-failed', err);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff.next());
          this.enrollWake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
    this.enrolling = undefined;
    if (this.deps.running() && this.identity !== undefined) this.deps.enrolled();
  }

  /** Schedules a renewal check `delayMs` from now (replacing any scheduled one). */
  scheduleRenewal(delayMs: number): void {
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => void this.maybeRenew(), delayMs);
  }

  /** Cancels the scheduled renewal check (going offline). */
  stopRenewal(): void {
    clearTimeout(this.renewTimer);
  }

  /** Checks right away if the certificate is already due (on each connection). */
  renewIfDue(): void {
    if (this.store.needsRenewal(this.deps.clock.now(), this.deps.config.renewal.atFraction))
      this.scheduleRenewal(0);
  }

  /** Renews the certificate once `renewal.atFraction` of its lifetime has passed. */
  async maybeRenew(): Promise<boolean> {
    const { clock, log } = this.deps;
    const m = this.identity;
    if (m === undefined || !this.deps.online()) return false;
    const f = this.deps.config.renewal.atFraction;
    // At most one renewal an hour: a device clock far ahead of the hub's would otherwise find
    // every fresh certificate already due and renew in a loop.
    const due = Math.max(
      m.notBefore + (m.notAfter - m.notBefore) * f,
      this.lastRenewalAt + RENEW_CHECK_MS,
    );
    if (clock.now() < due) {
      this.scheduleRenewal(Math.min(RENEW_CHECK_MS, due - clock.now()));
      return false;
    }
    this.lastRenewalAt = clock.now();
    try {
      const next = await this.store.renew(this.ca!);
      log('info', `certificate renewed (serial ${next.serial})`);
      this.deps.emit('renewed', next);
      this.deps.reconnect();
      if (this.deps.online()) this.scheduleRenewal(RENEW_CHECK_MS);
      return true;
    } catch (err) {
      log('warn', `certificate renewal failed: ${(err as Error).message}`);
      // Retried within minutes rather than hours: the certificate is already two-thirds through.
      this.lastRenewalAt = -Infinity;
      if (this.deps.online()) {
        const random = this.deps.random ?? Math.random;
        this.scheduleRenewal(Math.min(RENEW_CHECK_MS, 60_000 + random() * 240_000));
      }
      return false;
    }
  }
}
