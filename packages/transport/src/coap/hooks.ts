/** The narrow interface between the CoAP adapter and the hub that wires it. */

/** An authenticated CoAP client: always a device (device-key auth, RFC 7252 has no other here). */
export interface CoapClient {
  type: 'device';
  id: string;
  orgId: string;
  /** Whatever the hub admitted it as (opaque here; access changes match on it). */
  principal?: unknown;
}

/** One message as the adapter hands it to the hub, or the hub hands it back for delivery. */
export interface CoapMessage {
  channelId: string;
  /** '' when the message has no subtopic; otherwise levels joined with '/'. */
  subtopic: string;
  /** A media type from the Content-Format table (`content-format.ts`). */
  /** A media type from the Content-Format table (`content-format.ts`). */
  contentType: string;
  payload: Uint8Array;
}

/** A message a device posts: `contentType` undefined when it had no Content-Format (the channel's
 * payload format applies). */
export type CoapInbound = Omit<CoapMessage, 'contentType'> & { contentType: string | undefined };

/** The security and ingest decisions the hub makes for the adapter; each denies unless it allows. */
export interface CoapHooks {
  /**
   * Device-key auth: the `auth` Uri-Query is "<deviceId>:<deviceKey>", `source` the sender's
   * address. Return the client, or undefined or throw a BulwarkError (e.g. rate_limited) to refuse.
   */
  authenticate(deviceId: string, key: string, source: string): Promise<CoapClient | undefined>;
  /**
   * Over DTLS: the association's PSK identity and the version of the key its handshake used.
   * Called at every request; undefined or a BulwarkError refuses. Absent: DTLS refuses everyone.
   */
  authenticatePsk?(identity: string, ref: string, source: string): Promise<CoapClient | undefined>;
  /**
   * Over DTLS with a certificate: the client certificate (leaf, DER) the handshake proved. Called
   * at every request (a revocation or a device state takes effect on an open association).
   */
  authenticateCertificate?(der: Buffer, source: string): Promise<CoapClient | undefined>;
  /** Over DTLS with a raw public key (RFC 7250; SPKI, DER): as a certificate, at every request. */
  authenticateRawKey?(spki: Buffer, source: string): Promise<CoapClient | undefined>;
  /** Accept a message; throw a BulwarkError (not_authorized, payload_too_large, senml_invalid, quota_exceeded, …) to refuse. */
  ingest(client: CoapClient, m: CoapInbound): Promise<void>;
  /** May this client observe this channel? */
  canSubscribe(client: CoapClient, channelId: string): Promise<boolean>;
}

/** Where the adapter reports what an operator should see (same shape as the MQTT engine's logger). */
export interface CoapLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Counters the hub exports as metrics. */
export interface CoapStats {
  /** Observations currently registered. */
  observers: number;
  /** Requests handed to a resource handler (each block of a block-wise transfer counts). */
  requests: number;
  /** Requests answered with a 4.xx/5.xx code, plus observations refused by a limit. */
  refused: number;
}

/** A running CoAP endpoint. */
export interface CoapServer {
  /** Deliver a message to every observer of (channelId, subtopic) — the hub calls this for every envelope from its bus. */
  deliver(m: CoapMessage): void;
  /** Current counters. */
  stats(): CoapStats;
  /**
   * Ends the observations of the clients matching with a final notification carrying `code`
   * (RFC 7641 §3.2: a non-2.xx notification ends an observation); returns how many.
   */
  endObservations(match: (c: CoapClient) => boolean, code?: string): number;
  /** Asks `canSubscribe` again for every observation of the clients matching; ends refused ones. */
  reauthorize(match: (c: CoapClient) => boolean): Promise<number>;
  /** Ends every observation and closes the UDP socket. */
  close(): Promise<void>;
}
