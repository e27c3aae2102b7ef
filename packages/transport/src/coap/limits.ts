/** Every bound of the CoAP adapter, with the reason for its default. */
export interface CoapLimits {
  /** Observations one device may hold at once (a device watching every subtopic of its channels). */
  maxObserversPerClient: number;
  /** Observations in total: each costs a few hundred bytes and a fan-out send per message. */
  maxObservers: number;
  /** Concurrent Block1 uploads from one IP address (RFC 7959 §2.3 lets a client run several). */
  maxTransfersPerSource: number;
  /** Concurrent Block1 uploads in total: each holds up to maxPayloadBytes until it completes. */
  maxTransfers: number;
  /** A Block1 upload not finished within this time is dropped (RFC 7959 §2.3; ≈ EXCHANGE_LIFETIME/8). */
  transferTimeoutMs: number;
  /** Requests from one IP address awaiting a hook at once; beyond it 5.03 (the device feels backpressure). */
  maxPendingPerSource: number;
  /** Largest large notifications kept for their Block2 follow-up GETs (RFC 7959 §2.6), by count. */
  maxRepresentations: number;
  /** How long a large notification stays fetchable block by block. */
  representationTtlMs: number;
  /** A Confirmable notification at least this often per observer (RFC 7641 §4.5: at least every 24 h). */
  confirmIntervalMs: number;
  /**
   * Bytes of node-coap's response cache (message deduplication, RFC 7252 §4.5). It counts only the
   * encoded bytes (≈5–20 per response) while each entry costs ≈4.5 KB of heap (measured, see
   * docs/decisions/0004-coap.md), so the default keeps the worst case near 30–60 MB.
   */
  dedupCacheBytes: number;
  /** Max-Age (seconds) sent with a 5.03 when the refusal carries no retryAfter (RFC 7252 §5.9.3.4). */
  retryAfterSeconds: number;
}

/** The defaults: sized for a hub on a small machine serving a few thousand constrained devices. */
export const DEFAULT_COAP_LIMITS: Readonly<CoapLimits> = Object.freeze({
  maxObserversPerClient: 16,
  maxObservers: 10_000,
  maxTransfersPerSource: 4,
  maxTransfers: 256,
  transferTimeoutMs: 30_000,
  maxPendingPerSource: 16,
  maxRepresentations: 64,
  representationTtlMs: 60_000,
  confirmIntervalMs: 24 * 3600_000,
  dedupCacheBytes: 64 * 1024,
  retryAfterSeconds: 5,
});

/** The defaults with the given overrides; every value must be a positive finite number. */
export function resolveCoapLimits(overrides: Partial<CoapLimits> = {}): Readonly<CoapLimits> {
  const out = { ...DEFAULT_COAP_LIMITS, ...overrides };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new RangeError(`CoAP limit ${k} must be a positive number`);
    }
  }
  return Object.freeze(out);
}
