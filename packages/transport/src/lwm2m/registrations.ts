/**
 * The registration interface (Core §6.2, transport binding §8.2.3 of the 1.1 Transport spec):
 * Register POST /rd?ep&lt&lwm2m&b[&Q] → 2.01 with Location-Path rd/{id}; Update POST /rd/{id}
 * → 2.04; De-register DELETE /rd/{id} → 2.02; and the Send operation POST /dp → 2.04.
 */
import { randomBytes } from 'node:crypto';
import { BulwarkError, type ErrorKind } from '@bulwark/protocol';
import {
  decodeContent,
  parseObjectLinks,
  type Lwm2mBinding,
  type Lwm2mEnd,
  type Lwm2mRegistration,
} from '@bulwark/core';
import type { CoapReply, CoapRequestIn } from './endpoint.js';
import type { Lwm2mHooks, Lwm2mLimits } from './hooks.js';

/** Versions this server speaks; another gets 4.12 Precondition Failed (Core §6.2.1). */
const VERSIONS = new Set(['1.0', '1.1']);
const DEFAULT_LIFETIME = 86_400;
/** Lifetimes above ~68 years make no sense and overflow timers. */
const MAX_LIFETIME = 2 ** 31 - 1;
/** Grace after the lifetime before a registration is removed: an Update in flight is not lost. */
export const EXPIRY_GRACE_MS = 1000;
const LINK_FORMAT = 40;

/** The registration table of one endpoint socket. */
export class RegistrationTable {
  readonly byLocation = new Map<string, Lwm2mRegistration>();
  readonly #byEndpoint = new Map<string, string>();

  constructor(
    private readonly d: {
      hooks: Lwm2mHooks;
      limits: Lwm2mLimits;
      onEnd(location: string): void;
      /** An Update was refused because the device must bootstrap again (its 4.04 goes out first). */
      onRebootstrap?(source: string): void;
    },
  ) {}

  /** Handles a request on the registration interface or /dp. */
  async handle(req: CoapRequestIn): Promise<CoapReply> {
    try {
      if (req.payload.length > this.d.limits.maxPayloadBytes) return { code: '4.13' };
      const [first, id, ...rest] = req.path;
      if (first === 'rd' && rest.length === 0) {
        if (id === undefined && req.method === 'POST') return await this.#register(req);
        if (id !== undefined && req.method === 'POST') return await this.#update(id, req);
        if (id !== undefined && req.method === 'DELETE') return await this.#deregister(id, req);
        return { code: '4.05' };
      }
      if (first === 'dp' && id === undefined) {
        return req.method === 'POST' ? await this.#send(req) : { code: '4.05' };
      }
      return { code: '4.04' };
    } catch (err) {
      return replyFor(err);
    }
  }

  /** Removes registrations whose lifetime passed; returns how many. */
  async expire(now: number): Promise<number> {
    let n = 0;
    for (const reg of [...this.byLocation.values()]) {
      if (reg.updatedAt + reg.lifetime * 1000 + EXPIRY_GRACE_MS > now) continue;
      n++;
      await this.#end(reg, 'expired');
    }
    return n;
  }

  /** Ends a registration the hub no longer allows (an access change); its next Update gets 4.04. */
  async cut(location: string): Promise<boolean> {
    const reg = this.byLocation.get(location);
    if (!reg) return false;
    await this.#end(reg, 'cut');
    return true;
  }

  /** Ends every registration quietly (the hub stops). */
  async shutdown(): Promise<void> {
    for (const reg of [...this.byLocation.values()]) await this.#end(reg, 'shutdown');
  }

  async #register(req: CoapRequestIn): Promise<CoapReply> {
    const q = queryOf(req.query);
    const ep = q.get('ep');
    if (!ep || ep.length > this.d.limits.maxEndpointLength) {
      throw new BulwarkError('validation_failed', 'ep is required (at most 128 characters)');
    }
    const version = q.get('lwm2m') ?? '1.0';
    if (!VERSIONS.has(version)) return { code: '4.12', payload: Buffer.from(`lwm2m ${version}`) };
    const lifetime = lifetimeOf(q.get('lt'));
    const binding = bindingOf(q.get('b'));
    if (req.contentFormat !== undefined && req.contentFormat !== LINK_FORMAT)
      return { code: '4.15' };
    const objects = parseObjectLinks(req.payload.toString('utf8'));
    const old = this.#byEndpoint.get(ep);
    if (old === undefined && this.byLocation.size >= this.d.limits.maxRegistrations) {
      return { code: '5.03', options: [{ name: 'Max-Age', value: Buffer.from([60]) }] };
    }
    const b: Lwm2mBinding = await this.d.hooks.bind(ep, req.source, req.security);
    // Core §6.2.1: a Register of an endpoint already registered replaces that registration.
    const prev = old === undefined ? undefined : this.byLocation.get(old);
    if (prev) await this.#end(prev, 'replaced');
    const now = Date.now();
    const reg: Lwm2mRegistration = {
      location: `rd/${randomBytes(8).toString('hex')}`,
      endpoint: ep,
      lifetime,
      version,
      binding: binding.replace('Q', '') || 'U',
      queueMode: q.has('Q') || binding.includes('Q'),
      objects,
      address: req.source,
      registeredAt: now,
      updatedAt: now,
      ...(req.security ? { security: req.security } : {}),
    };
    this.byLocation.set(reg.location, reg);
    this.#byEndpoint.set(ep, reg.location);
    // The client answers our requests only once it has its 2.01: tell the service after it left.
    setImmediate(() => void this.d.hooks.registered(reg, b).catch(() => undefined));
    return {
      code: '2.01',
      options: reg.location
        .split('/')
        .map((s) => ({ name: 'Location-Path', value: Buffer.from(s) })),
    };
  }

  async #update(id: string, req: CoapRequestIn): Promise<CoapReply> {
    const reg = this.byLocation.get(`rd/${id}`);
    if (!reg || !sameSecurity(reg, req)) return { code: '4.04' };
    const q = queryOf(req.query);
    const next: Lwm2mRegistration = {
      ...reg,
      // Core §6.2.2: the client may come back from a new address (a NAT rebinding).
      address: req.source,
      updatedAt: Date.now(),
      ...(q.has('lt') ? { lifetime: lifetimeOf(q.get('lt')) } : {}),
      ...(q.has('b') ? { binding: bindingOf(q.get('b')).replace('Q', '') || 'U' } : {}),
      ...(req.payload.length > 0
        ? { objects: parseObjectLinks(req.payload.toString('utf8')) }
        : {}),
    };
    this.byLocation.set(next.location, next);
    try {
      await this.d.hooks.updated(next);
    } catch (err) {
      // The hub no longer admits this client (its key was replaced, its device decommissioned):
      // the registration ends; it must register again and be admitted afresh. `gone`: an operator
      // asked it to bootstrap again (decision 0045 amendment) — 4.04 makes the client do so.
      if (err instanceof BulwarkError && (err.kind === 'forbidden' || err.kind === 'gone'))
        await this.#end(next, 'cut');
      if (err instanceof BulwarkError && err.kind === 'gone') this.d.onRebootstrap?.(req.source);
      throw err;
    }
    return { code: '2.04' };
  }

  async #deregister(id: string, req: CoapRequestIn): Promise<CoapReply> {
    const reg = this.byLocation.get(`rd/${id}`);
    if (!reg || !sameSecurity(reg, req)) return { code: '4.04' };
    await this.#end(reg, 'deregistered');
    return { code: '2.02' };
  }

  async #send(req: CoapRequestIn): Promise<CoapReply> {
    // Plain CoAP has no security context: the client is the registration at this address.
    const reg = [...this.byLocation.values()].find(
      (r) => r.address === req.source && sameSecurity(r, req),
    );
    if (!reg) return { code: '4.04', payload: Buffer.from('not registered') };
    // Send carries SenML JSON (110) or SenML CBOR (112) (Core §6.4.7); malformed is 4.00.
    if (req.contentFormat !== 110 && req.contentFormat !== 112) return { code: '4.15' };
    const records = decodeContent(req.contentFormat, req.payload, []);
    await this.d.hooks.sent(reg.location, records);
    return { code: '2.04' };
  }

  async #end(reg: Lwm2mRegistration, why: Lwm2mEnd) {
    if (this.byLocation.get(reg.location) === undefined) return;
    this.byLocation.delete(reg.location);
    if (this.#byEndpoint.get(reg.endpoint) === reg.location) this.#byEndpoint.delete(reg.endpoint);
    this.d.onEnd(reg.location);
    await this.d.hooks.ended(reg, why).catch(() => undefined);
  }
}

/**
 * Over DTLS a registration is the association's: Update, De-register and Send must come with the
 * same PSK identity and key version, or the same certificate or raw public key, it registered
 * with (a location learned is not enough, and a replaced key must register again, admitted
 * afresh). On plain UDP all are absent.
 */
function sameSecurity(reg: Lwm2mRegistration, req: CoapRequestIn): boolean {
  return (
    reg.security?.identity === req.security?.identity &&
    reg.security?.pskRef === req.security?.pskRef &&
    credentialBytes(reg.security?.credential) === credentialBytes(req.security?.credential)
  );
}

const credentialBytes = (c: NonNullable<Lwm2mRegistration['security']>['credential']): string =>
  c === undefined
    ? ''
    : `${c.kind}:${Buffer.from(c.kind === 'certificate' ? c.der : c.spki).toString('hex')}`;

export function queryOf(q: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of q) {
    const i = s.indexOf('=');
    if (i < 0) m.set(s, '');
    else m.set(s.slice(0, i), s.slice(i + 1));
  }
  return m;
}

function lifetimeOf(s: string | undefined): number {
  if (s === undefined) return DEFAULT_LIFETIME;
  if (!/^\d{1,10}$/.test(s) || Number(s) < 1 || Number(s) > MAX_LIFETIME) {
    throw new BulwarkError('validation_failed', `lt must be 1..${MAX_LIFETIME} seconds`);
  }
  return Number(s);
}

function bindingOf(s: string | undefined): string {
  if (s === undefined) return 'U';
  // 1.1 bindings U, M, H, T, S, N; Q is 1.0's queue mode (Core §6.2.1.1, Table 6.2.1.1-1).
  if (!/^[UMHTSNQ]{1,7}$/.test(s))
    throw new BulwarkError('validation_failed', `binding "${s}" is unknown`);
  return s;
}

/** The one mapping of error kinds to CoAP codes on the LwM2M interface (as coap/status.ts). */
export function replyFor(err: unknown): CoapReply {
  if (!(err instanceof BulwarkError)) return { code: '5.00' };
  const code = CODE_OF[err.kind] ?? '5.00';
  const diag = code === '5.00' ? '' : `${err.code}: ${err.message}`.slice(0, 160);
  return { code, ...(diag ? { payload: Buffer.from(diag) } : {}) };
}

const CODE_OF: Partial<Record<ErrorKind, string>> = {
  invalid: '4.00',
  unauthenticated: '4.01',
  forbidden: '4.03',
  not_found: '4.04',
  gone: '4.04',
  conflict: '4.09',
  too_large: '4.13',
  unsupported_media: '4.15',
  rate_limited: '5.03',
  unavailable: '5.03',
};
