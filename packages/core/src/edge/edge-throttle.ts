/**
 * How the edge throttles failed device and application credentials (MQTT passwords and
 * certificates, HTTP ingest, DDI, CoAP): per source address, and per source + claimed subject,
 * with core's failure throttle (decision 0013). Device keys and API keys are 256-bit secrets, so
 * this is against floods and scanning — a thousand wrong keys a second from one address — not
 * guessing; a source that has shown it holds nothing valid waits before it may try again.
 */
import type { Clock } from '../ports/clock.js';
import { FailureThrottle, type ThrottlePolicy } from '../identity/failure-throttle.js';
import type { AdmissionThrottle } from './admission.js';

/** The two policies of the edge throttle. */
export interface EdgeThrottleConfig {
  /** Failures from one address, whatever it claims to be. */
  source: ThrottlePolicy;
  /** Failures from one address for one claimed device, organization or key. */
  subject: ThrottlePolicy;
}

/**
 * 20 failures a minute from one address: a fleet behind one NAT whose keys were all revoked at
 * once reconnects with backoff and stays under it for minutes; a scan does not (the review sent
 * 40 wrong keys in 390 ms). Blocks start at 10 s and double to 5 min. Five failures for one
 * subject block that pair sooner, so one misconfigured device does not block its whole site.
 */
export const DEFAULT_EDGE_THROTTLE: EdgeThrottleConfig = {
  source: {
    threshold: 20,
    windowMs: 60_000,
    baseBlockMs: 10_000,
    maxBlockMs: 5 * 60_000,
    maxKeys: 10_000,
  },
  subject: {
    threshold: 5,
    windowMs: 60_000,
    baseBlockMs: 10_000,
    maxBlockMs: 5 * 60_000,
    maxKeys: 10_000,
  },
};

/** The edge throttle: the source policy for `src:` keys, the subject policy for pair keys. */
export function createEdgeThrottle(config: EdgeThrottleConfig, clock: Clock): AdmissionThrottle {
  const source = new FailureThrottle(config.source, clock);
  const subject = new FailureThrottle(config.subject, clock);
  const split = (keys: readonly string[]) => ({
    s: keys.filter((k) => !k.includes('|')),
    p: keys.filter((k) => k.includes('|')),
  });
  return {
    retryAfterMs(keys) {
      const { s, p } = split(keys);
      return Math.max(source.retryAfterMs(s), subject.retryAfterMs(p));
    },
    failed(keys) {
      const { s, p } = split(keys);
      source.failed(s);
      subject.failed(p);
    },
    succeeded(keys) {
      const { s, p } = split(keys);
      source.succeeded(s);
      subject.succeeded(p);
    },
  };
}
