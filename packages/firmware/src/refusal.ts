/** Why signed firmware metadata, a root update or an install was refused. */
export type RefusalReason =
  | 'malformed'
  | 'unknown_key'
  | 'threshold_not_met'
  | 'bad_signature'
  | 'expired'
  | 'length_mismatch'
  | 'hash_mismatch'
  | 'version_not_next';

/** A precise refusal: a stable reason code and a sentence for the job history. */
export interface Refusal {
  readonly ok: false;
  readonly reason: RefusalReason;
  readonly message: string;
}

/** Builds a refusal. */
export function refuse(reason: RefusalReason, message: string): Refusal {
  return { ok: false, reason, message };
}

/** The verification result: the typed value when accepted, else the refusal. */
export type Verified<T> = ({ readonly ok: true } & T) | Refusal;
