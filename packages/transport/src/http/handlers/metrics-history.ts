import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { iso } from '../views.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A device's health history in buckets (decision 0038 third amendment of 2026-12-07). */
export function metricsHistoryHandlers(s: HttpServices): Pick<Handlers, 'getMetricsHistory'> {
  return {
    getMetricsHistory: async ({ params, query }, ctx) => {
      // The schema checked the formats: RFC 3339 times and `<n><s|m|h|d>` (≤ 6 digits).
      const m = query?.bucket ? /^(\d+)([smhd])$/.exec(query.bucket) : null;
      const h = await s.metricsHistory.history(principalOf(ctx).orgId, params.id, {
        ...(query?.from ? { from: Date.parse(query.from) } : {}),
        ...(query?.to ? { to: Date.parse(query.to) } : {}),
        ...(m ? { bucketMs: Number(m[1]) * UNIT_MS[m[2]!]! } : {}),
      });
      return {
        deviceId: params.id,
        from: iso(h.from),
        to: iso(h.to),
        bucketSeconds: h.bucketMs / 1000,
        buckets: h.buckets.map((b) => ({ start: iso(b.start), count: b.count, ...b.series })),
      };
    },
  };
}
