/** Resolution of a pack into resolved records (RFC 8428 §4.6). */
import { addFinite, checkName, checkRecordShape } from './validate.js';
import type { RawRecord, SenmlRecord } from './types.js';

/** RFC 8428 §4.5.3: times below 2^28 seconds are relative to "now"; from 2^28 on, epoch seconds. */
export const RELATIVE_TIME_LIMIT = 2 ** 28;

/** Applies base fields, makes times absolute and orders by time, checking every record first. */
export function resolvePack(pack: readonly RawRecord[], nowMs: number): SenmlRecord[] {
  const nowSeconds = nowMs / 1000;
  // RFC 8428 §4.1: a base field applies to its own record and every later one, until replaced.
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  let bv = 0;
  let bs = 0;
  const out: SenmlRecord[] = [];
  pack.forEach((r, index) => {
    const shape = checkRecordShape(r, index);
    if (r.bn !== undefined) bn = r.bn;
    if (r.bt !== undefined) bt = r.bt;
    if (r.bu !== undefined) bu = r.bu;
    if (r.bv !== undefined) bv = r.bv;
    if (r.bs !== undefined) bs = r.bs;
    if (shape === 'base') return;

    // §4.5.1: the name is bn + n, and it is the concatenation that must be well formed.
    const n = bn + (r.n ?? '');
    checkName(n, index);
    // §4.5.3: a missing bt or t counts as 0; the sum decides whether the time is relative.
    let t = addFinite(bt, r.t ?? 0, index, 't');
    if (t < RELATIVE_TIME_LIMIT) t = addFinite(nowSeconds, t, index, 't');

    const resolved: SenmlRecord = { n, t };
    // §4.5.2: a record's own unit wins over the base unit.
    const u = r.u ?? bu;
    if (u !== undefined) resolved.u = u;
    // §4.5.4: bv is added to a numeric value, bs to a sum; neither creates a field the record lacks.
    if (r.v !== undefined) resolved.v = addFinite(bv, r.v, index, 'v');
    if (r.vs !== undefined) resolved.vs = r.vs;
    if (r.vb !== undefined) resolved.vb = r.vb;
    if (r.vd !== undefined) resolved.vd = r.vd;
    if (r.s !== undefined) resolved.s = addFinite(bs, r.s, index, 's');
    if (r.ut !== undefined) resolved.ut = r.ut;
    out.push(resolved);
  });
  // §4.6: resolved records are in chronological order; the sort is stable, so ties keep pack order.
  return out.sort((a, b) => a.t - b.t);
}
