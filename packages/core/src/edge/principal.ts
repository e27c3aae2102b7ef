import type { Permission } from '@bulwark/protocol';
import type { CredentialKind, EdgeTransport, RefusalReason } from '../ports/events.js';
import type { CertificateRecord, Device, DeviceState } from '../ports/records.js';
import { BulwarkError, type ErrorCode } from '@bulwark/protocol';

/** A credential as a transport received it. */
export type EdgeCredential =
  /** A client certificate the TLS layer received (DER) with the organization its subject names. */
  | { kind: 'certificate'; der: Uint8Array; claimedOrgId: string }
  /** A constrained device's id and random key (MQTT username/password, HTTP Basic, DDI token). */
  | { kind: 'device_key'; deviceId: string; secret: string }
  /** An application's API key (`bwk_…`). */
  | { kind: 'api_key'; secret: string }
  /**
   * A DTLS-PSK identity whose key the handshake proved (decision 0041), with the version (`ref`)
   * of the key it used: a key replaced since then no longer admits.
   */
  | { kind: 'psk'; identity: string; ref: string }
  /** A raw public key (RFC 7250; SPKI, DER) a DTLS handshake proved: admitted by its pin. */
  | { kind: 'rpk'; spki: Uint8Array };

/** How a device proved who it is, kept with its session so a revocation finds it. */
export type DeviceCredentialRef =
  | { kind: 'certificate'; serial: string; cert: CertificateRecord }
  | { kind: 'device_key'; keyId: string }
  | { kind: 'psk'; identity: string }
  | { kind: 'rpk'; fingerprint: string };

/** A device admitted at the edge, with its state at admission. */
export interface DevicePrincipal {
  type: 'device';
  id: string;
  orgId: string;
  state: DeviceState;
  device: Device;
  credential: DeviceCredentialRef;
}

/** An application admitted with an API key. */
export interface AppPrincipal {
  type: 'api_key';
  id: string;
  orgId: string;
  name: string;
  permissions: Permission[];
}

/** Whoever the edge admitted: a device or an application, always with its organization. */
export type EdgePrincipal = DevicePrincipal | AppPrincipal;

/** What a request says it is about (a DDI path names both, an MQTT username a device). */
export interface AdmissionClaims {
  orgId?: string;
  deviceId?: string;
}

/** One admission attempt. */
export interface AdmissionRequest {
  credential: EdgeCredential;
  transport: EdgeTransport;
  /** The remote address (for throttling and the auth.failed event). */
  source: string;
  claims?: AdmissionClaims;
}

/** The error code each refusal reason is answered with (one per reason, every transport). */
const CODES: Record<RefusalReason, ErrorCode> = {
  malformed: 'unauthenticated',
  unknown: 'unauthenticated',
  revoked: 'certificate_revoked',
  expired: 'certificate_expired',
  superseded: 'certificate_revoked',
  quarantined: 'device_quarantined',
  decommissioned: 'device_decommissioned',
  wrong_organization: 'wrong_organization',
  wrong_device: 'wrong_organization',
  locked: 'credential_locked',
  blocked: 'source_blocked',
};

/** A typed refusal: the reason every transport maps (MQTT reason code, HTTP status, CoAP code). */
export class AdmissionError extends BulwarkError {
  /** The organization the credential turned out to belong to, when known (for events only). */
  readonly orgId: string | null;

  constructor(
    readonly reason: RefusalReason,
    readonly credentialKind: CredentialKind,
    detail: string,
    options: {
      cause?: unknown;
      extra?: Record<string, unknown>;
      code?: ErrorCode;
      orgId?: string;
    } = {},
  ) {
    super(options.code ?? CODES[reason], detail, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      ...(options.extra === undefined ? {} : { extra: options.extra }),
    });
    this.orgId = options.orgId ?? null;
  }
}

/** The session-table key of a principal: only the same principal can resume or take it over. */
export function sessionKeyOf(p: EdgePrincipal, clientId: string): string {
  // A device has one session, keyed by its id: device ids are unique hub-wide (the devices
  // table's primary key, made by the hub), so the id alone names organization + device. An
  // application may hold several sessions, one per client id, all inside its own key's namespace
  // — a prefix no device id (a UUID) can take.
  return p.type === 'device' ? p.id : `app:${p.orgId}:${p.id}:${clientId}`;
}
