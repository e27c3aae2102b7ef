/**
 * Offline verification of an access ticket (device-plane.ts `AccessTicketClaims`): a compact JWS
 * (RFC 7515) signed ES256 (RFC 7518 §3.4) with the organization's issuing CA key, whose certificate
 * the device holds from enrollment. Nothing here talks to the hub.
 */
import { X509Certificate, verify, type KeyObject } from 'node:crypto';
import { isTunnelTarget, type AccessTicketClaims } from '@bulwark/protocol';

/** Why a ticket is refused; each is the `ERR <code>` the client sees. */
export type TicketRefusalCode =
  | 'ticket_required'
  | 'ticket_malformed'
  | 'ticket_foreign'
  | 'ticket_wrong_device'
  | 'ticket_bad_signature'
  | 'ticket_not_yet_valid'
  | 'ticket_expired'
  | 'ticket_revoked'
  | 'ticket_reused'
  | 'ticket_wrong_target';

/** A refused ticket: the code and a message a person can act on. */
export class TicketRefusal extends Error {
  override readonly name = 'TicketRefusal';
  constructor(
    readonly code: TicketRefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/** What the device checks a ticket against. */
export interface TicketCheck {
  deviceId: string;
  orgId: string;
  /** PEM certificates whose keys may sign tickets (the org's issuing CA). */
  issuers: readonly string[];
  /** Epoch ms, device clock. */
  now: number;
  /** Clock difference tolerated between hub and device, in seconds. */
  skewSeconds: number;
}

/** The longest lifetime a ticket may claim (backup tickets: 90 days), plus slack for skew. */
export const MAX_LIFETIME_SECONDS = 90 * 86_400 + 3600;
/** A ticket is a few hundred bytes; anything far larger is not one. */
const MAX_TICKET_LENGTH = 4096;
const PERMS: ReadonlySet<string> = new Set(['read', 'operate', 'admin']);
const B64URL = /^[A-Za-z0-9_-]+$/;

const malformed = (why: string) => new TicketRefusal('ticket_malformed', why);

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw malformed(`the ${what} is not base64url JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw malformed(`the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

const isSeconds = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** The claims of a ticket, shape-checked but not yet trusted. */
function parseClaims(payload: Record<string, unknown>): AccessTicketClaims {
  const { typ, jti, sub, org, perm, by, iat, exp, backup, tgt } = payload;
  if (typ !== 'bulwark-ticket') throw malformed('this is not a Bulwark access ticket (typ)');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128)
    throw malformed('the ticket has no valid id (jti)');
  if (typeof sub !== 'string' || typeof org !== 'string' || typeof by !== 'string')
    throw malformed('the ticket lacks sub, org or by');
  if (typeof perm !== 'string' || !PERMS.has(perm))
    throw malformed('the ticket has no valid permission level (perm)');
  if (!isSeconds(iat) || !isSeconds(exp) || exp <= iat || exp - iat > MAX_LIFETIME_SECONDS)
    throw malformed('the ticket has no valid iat/exp');
  if (backup !== undefined && typeof backup !== 'boolean')
    throw malformed('the ticket has an invalid backup flag');
  if (tgt !== undefined && (typeof tgt !== 'string' || !isTunnelTarget(tgt)))
    throw malformed('the ticket has an invalid target (tgt)');
  return {
    typ,
    jti,
    sub,
    org,
    perm: perm as AccessTicketClaims['perm'],
    by,
    iat,
    exp,
    ...(backup === true ? { backup: true } : {}),
    ...(typeof tgt === 'string' ? { tgt } : {}),
  };
}

/** The public keys of the issuer certificates (unreadable ones are skipped). */
export function issuerKeys(pems: readonly string[]): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const pem of pems) {
    try {
      keys.push(new X509Certificate(pem).publicKey);
    } catch {
      /* not a certificate: it cannot vouch for any ticket */
    }
  }
  return keys;
}

/**
 * Checks a ticket's form, audience (organization, device), signature and validity window. Throws
 * TicketRefusal; the caller checks revocation and one-time use, which need its own state.
 *
 * The audience is compared before the signature only to name the refusal precisely (a ticket for
 * another organization is signed by another CA and would otherwise read as a bad signature); a
 * ticket is admitted only after every check, the signature included, has passed.
 */
export function verifyTicket(jws: string, check: TicketCheck): AccessTicketClaims {
  if (jws.length > MAX_TICKET_LENGTH) throw malformed('the ticket is too long');
  const parts = jws.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p)))
    throw malformed('a ticket is a compact JWS: three base64url parts joined by dots');
  const [h = '', p = '', s = ''] = parts;
  const header = decodeJson(h, 'header');
  // RFC 8725 §3.1: the algorithm is fixed, never taken from the token.
  if (header['alg'] !== 'ES256') throw malformed('the ticket is not signed with ES256');
  const claims = parseClaims(decodeJson(p, 'payload'));
  if (claims.org !== check.orgId)
    throw new TicketRefusal('ticket_foreign', 'the ticket is for another organization');
  if (claims.sub !== check.deviceId)
    throw new TicketRefusal('ticket_wrong_device', 'the ticket is for another device');
  const signature = Buffer.from(s, 'base64url');
  const input = Buffer.from(`${h}.${p}`);
  const signed = issuerKeys(check.issuers).some((key) => {
    try {
      return verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature);
    } catch {
      return false;
    }
  });
  if (!signed)
    throw new TicketRefusal(
      'ticket_bad_signature',
      "the ticket's signature does not verify against the organization's issuing CA",
    );
  const nowSeconds = Math.floor(check.now / 1000);
  if (claims.iat > nowSeconds + check.skewSeconds)
    throw new TicketRefusal(
      'ticket_not_yet_valid',
      "the ticket was issued in the future: check the device's clock",
    );
  if (claims.exp + check.skewSeconds <= nowSeconds)
    throw new TicketRefusal(
      'ticket_expired',
      `the ticket expired at ${new Date(claims.exp * 1000).toISOString()}`,
    );
  return claims;
}
