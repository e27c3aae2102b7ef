/**
 * The timing rules of notification delivery (decision 0030), pure so they are tested with a fake
 * clock: exponential backoff between attempts, and a per-endpoint circuit breaker.
 */
import type { NotificationEndpointRecord } from '../ports/notifications.js';

/** How a failed delivery is retried. */
export interface RetryPolicy {
  /** The wait after the first failure; each further failure doubles it. */
  baseMs: number;
  /** The longest wait between two attempts. */
  maxMs: number;
  /** Attempts before a delivery is dead-lettered. */
  maxAttempts: number;
  /** Up to this fraction is added at random, so retries of many deliveries spread out. */
  jitter: number;
}

/** 5 s, 10 s, 20 s … capped at 15 min; 8 attempts span about 11 minutes, then the dead letters. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseMs: 5_000,
  maxMs: 15 * 60_000,
  maxAttempts: 8,
  jitter: 0.2,
};

/** The wait after the `attempt`-th failed attempt (1-based); `random` in [0, 1). */
export function retryDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(Math.min(policy.maxMs, exp * (1 + policy.jitter * random())));
}

/** When an endpoint stops being tried. */
export interface BreakerPolicy {
  /** Failed attempts in a row that open the breaker. */
  threshold: number;
  /** How long it stays open the first time; each failed probe after that doubles it. */
  openMs: number;
  maxOpenMs: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = {
  threshold: 5,
  openMs: 30_000,
  maxOpenMs: 10 * 60_000,
};

/**
 * `closed`: deliveries go. `open`: nothing is sent until `breakerOpenUntil` (deliveries wait,
 * their attempts uncounted). `half_open`: the breaker's time ran out but the failures stand; one
 * delivery probes the endpoint — success closes the breaker, failure opens it again for longer.
 */
export type BreakerState = 'closed' | 'open' | 'half_open';

export function breakerState(
  e: Pick<NotificationEndpointRecord, 'consecutiveFailures' | 'breakerOpenUntil'>,
  now: number,
  policy: BreakerPolicy,
): BreakerState {
  if (e.consecutiveFailures < policy.threshold) return 'closed';
  return e.breakerOpenUntil > now ? 'open' : 'half_open';
}

/**
 * After a failure that made the count `consecutiveFailures`: until when the breaker is open, or
 * null while the count is below the threshold.
 */
export function breakerOpenUntil(
  consecutiveFailures: number,
  now: number,
  policy: BreakerPolicy,
): number | null {
  if (consecutiveFailures < policy.threshold) return null;
  const trips = consecutiveFailures - policy.threshold;
  return now + Math.min(policy.maxOpenMs, policy.openMs * 2 ** Math.min(trips, 30));
}
