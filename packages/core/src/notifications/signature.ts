/**
 * Webhook signatures (decision 0030): `Bulwark-Signature: t=<unix seconds>,v1=<hex>` where the
 * hex is HMAC-SHA256 under the endpoint's secret of `<t>.<body>`. A receiver recomputes it over
 * the raw body, compares in constant time, and refuses a timestamp outside its tolerance (replay
 * of an old capture) and a delivery id it has already seen (`Bulwark-Delivery`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header carrying the signature. */
export const SIGNATURE_HEADER = 'bulwark-signature';
/** The header carrying the delivery id (the same on every retry: receivers deduplicate on it). */
export const DELIVERY_HEADER = 'bulwark-delivery';
/** The header naming the event (`alert.opened`, `alert.resolved`, `alert.escalated`, `test`). */
export const EVENT_HEADER = 'bulwark-event';
/** A receiver's default tolerance for the timestamp, either way. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

const hmac = (secret: string, t: number, body: string): string =>
  createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');

/** The header value for `body` signed at `unixSeconds`. */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmac(secret, unixSeconds, body)}`;
}

/**
 * Checks a signature header as a receiver does: well-formed, timestamp within `toleranceSeconds`
 * of `nowSeconds`, and one `v1` value (several are allowed, for secret rotation) matching.
 */
export function verifyWebhook(
  header: string,
  body: string,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const want = Buffer.from(hmac(secret, t, body), 'hex');
  return parts
    .filter(([k, v]) => k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/.test(v))
    .some(([, v]) => timingSafeEqual(Buffer.from(v!, 'hex'), want));
}
