/** The narrow interface between the LwM2M wire adapter and the service that wires it (decision 0043). */
import type {
  Lwm2mBinding,
  Lwm2mBootstrapPlan,
  Lwm2mEnd,
  Lwm2mRecord,
  Lwm2mRegistration,
  Lwm2mSecurity,
} from '@bulwark/core';

/** What the adapter asks of the hub; each throws a BulwarkError to refuse. */
export interface Lwm2mHooks {
  /**
   * May this endpoint register from `source` (over DTLS: with this PSK identity)? Throw
   * `forbidden` to refuse (4.03).
   */
  bind(endpoint: string, source: string, security?: Lwm2mSecurity): Promise<Lwm2mBinding>;
  /** After the 2.01 went out. */
  registered(reg: Lwm2mRegistration, binding: Lwm2mBinding): Promise<void>;
  updated(reg: Lwm2mRegistration): Promise<void>;
  ended(reg: Lwm2mRegistration, why: Lwm2mEnd): Promise<void>;
  /** A Send (POST /dp) of a registered client. */
  sent(location: string, records: Lwm2mRecord[]): Promise<void>;
  /**
   * A Bootstrap-Request (POST /bs?ep=…, decision 0045): the plan to run, or throw `forbidden`.
   * Absent: the socket offers no bootstrap (4.04).
   */
  bootstrap?(
    endpoint: string,
    source: string,
    security?: Lwm2mSecurity,
  ): Promise<Lwm2mBootstrapPlan>;
}

/** Limits of the adapter, each with its reason. */
export interface Lwm2mLimits {
  /** Registrations held: beyond it, Register gets 5.03 (issue 17's goal is 10,000 per hub). */
  maxRegistrations: number;
  /** Longest endpoint name accepted (a device id is 36 characters; 1.1 names are URNs). */
  maxEndpointLength: number;
  /** Largest registration or Send payload (one datagram; no Block1 on the registration interface). */
  maxPayloadBytes: number;
}

export const DEFAULT_LWM2M_LIMITS: Lwm2mLimits = {
  maxRegistrations: 20_000,
  maxEndpointLength: 128,
  maxPayloadBytes: 1024,
};
