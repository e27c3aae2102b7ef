/** The registration interface's records and the wire port the LwM2M service drives (decision 0043). */
import type { DeviceCredentialRef, EdgeCredential } from '../edge/principal.js';
import type { Device } from '../ports/records.js';
import type { Lwm2mRecord } from './content.js';
import type { Lwm2mObjectLink } from './link-format.js';
import type { Lwm2mValue } from './tlv.js';

/** A client's registration as the wire adapter holds it (Core §6.2.1). */
export interface Lwm2mRegistration {
  /** The Location-Path the server assigned: "rd/<id>". */
  location: string;
  /** The endpoint client name (`ep`). */
  endpoint: string;
  /** Seconds (`lt`, default 86400). */
  lifetime: number;
  /** The LwM2M version (`lwm2m`, default "1.0"). */
  version: string;
  /** The binding mode (`b`, default "U"). */
  binding: string;
  /** Queue mode (`Q` in 1.1, or a 1.0 binding with Q). */
  queueMode: boolean;
  objects: Lwm2mObjectLink[];
  /** "ip:port" the client registered from; requests go there. */
  address: string;
  registeredAt: number;
  updatedAt: number;
  /** Over DTLS: the credential the association proved (decision 0041). */
  security?: Lwm2mSecurity;
}

/**
 * The security context of a request that came over DTLS: a pre-shared key's identity and version,
 * or (`credential`) the device certificate or raw public key the handshake proved, with an empty
 * identity and ref (decision 0043, 2026-12-07).
 */
export interface Lwm2mSecurity {
  identity: string;
  /** The version of the key at the handshake: a replaced key makes it stale. */
  pskRef: string;
  /** A certificate or raw public key session: what admission judges instead of the PSK. */
  credential?: Extract<EdgeCredential, { kind: 'certificate' | 'rpk' }>;
}

/** The Bulwark device an endpoint is bound to. */
export interface Lwm2mBinding {
  orgId: string;
  deviceId: string;
  /** The device record at binding (for access changes' matching). */
  device: Device;
  /** Over DTLS: the credential admission found (a revocation or removed pin cuts by it). */
  credential?: DeviceCredentialRef;
}

/** Why a registration ended. */
export type Lwm2mEnd = 'deregistered' | 'expired' | 'replaced' | 'shutdown' | 'cut';

/**
 * What the server asks of a registered client, by registration location (the wire adapter
 * implements it over CoAP). Every call fails with an `Lwm2mRequestError` (a 4.xx/5.xx answer) or a
 * timeout error.
 */
export interface Lwm2mLink {
  read(location: string, path: string): Promise<Lwm2mRecord[]>;
  /** Write (Replace) of one resource. */
  write(location: string, path: string, value: Lwm2mValue): Promise<void>;
  execute(location: string, path: string, args?: string): Promise<void>;
  /** The link-format answer of a Discover. */
  discover(location: string, path: string): Promise<string>;
  /**
   * Create (Core §6.3.5): a new instance of object `objectPath` ("/31024") with these resource
   * values (resource id → value); `instance` chosen by the client when absent. The new instance's
   * path.
   */
  create(
    location: string,
    objectPath: string,
    values: ReadonlyMap<number, Lwm2mValue>,
    instance?: number,
  ): Promise<string>;
  /** Delete (Core §6.3.6) of an object instance ("/31024/5"). */
  delete(location: string, path: string): Promise<void>;
  /** Write-Attributes (Core §6.3.4): `PUT path?pmin=…&pmax=…` (notification attributes). */
  writeAttributes(location: string, path: string, attributes: Lwm2mAttributes): Promise<void>;
  /** Starts an observation; each notification (and the first answer) goes to `onRecords`. */
  observe(
    location: string,
    path: string,
    onRecords: (records: Lwm2mRecord[]) => void,
  ): Promise<Lwm2mRecord[]>;
}

/**
 * Notification attributes (Core §5.1.2): periods in seconds, thresholds; `null` removes one
 * (`?pmin` without a value).
 */
export interface Lwm2mAttributes {
  pmin?: number | null;
  pmax?: number | null;
  gt?: number | null;
  lt?: number | null;
  st?: number | null;
}

/** A device's refusal of a request: its CoAP response code ("4.04"). */
export class Lwm2mRequestError extends Error {
  override readonly name = 'Lwm2mRequestError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
