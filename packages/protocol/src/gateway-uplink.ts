/**
 * The gateway's store-and-forward uplink (decision 0040): a gateway publishes batches of its site
 * devices' channel messages, QoS 1, on its own device plane at `$devices/{gatewayId}/uplink`. Each
 * message carries the id the gateway gave it when it became durable there (a UUIDv7, whose time is
 * the message's time): the hub stores it under that id, so a batch sent again after a reconnect
 * adds nothing. Per device, messages are sent in the order the gateway accepted them.
 */
import { BulwarkError } from './errors.js';
import { relayedReport } from './gateway-plane.js';

/** The device-plane topic level of the uplink. */
export const GATEWAY_UPLINK = 'uplink';
/** At most this many messages in one batch. */
export const MAX_UPLINK_BATCH = 1000;

/** One message a site device published to the gateway. */
export interface UplinkMessage {
  /** UUIDv7 given by the gateway at acceptance. */
  id: string;
  /** The publishing device (a member of the gateway's site). */
  device: string;
  /** A channel message: its channel and subtopic (empty when `plane` is set). */
  channel: string;
  subtopic: string;
  /**
   * A message of the device's own plane instead (`twin/reported`, `commands/{id}/status` …: the
   * levels after `$devices/{device}/`, gateway-plane.ts); `channel` and `subtopic` are then ''.
   */
  plane?: string;
  contentType?: string;
  /** The payload, base64. */
  payload: string;
}

export interface UplinkBatch {
  v: 1;
  messages: UplinkMessage[];
}

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The millisecond time of a UUIDv7, or undefined when `id` is not one. */
export function uuidV7Time(id: string): number | undefined {
  if (!UUID7.test(id)) return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

const bad = (msg: string) => new BulwarkError('device_payload_invalid', `uplink batch: ${msg}`);
const str = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

/** Parses and checks a batch (shape only; who may send what is the hub's to decide). */
export function parseUplinkBatch(bytes: Uint8Array): UplinkBatch {
  let doc: unknown;
  try {
    doc = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
    );
  } catch {
    throw bad('not JSON');
  }
  const b = doc as { v?: unknown; messages?: unknown };
  if (typeof doc !== 'object' || doc === null || b.v !== 1 || !Array.isArray(b.messages))
    throw bad('expected {"v":1,"messages":[…]}');
  if (b.messages.length > MAX_UPLINK_BATCH) throw bad(`more than ${MAX_UPLINK_BATCH} messages`);
  for (const m of b.messages as unknown[]) {
    const x = m as Record<string, unknown>;
    if (typeof m !== 'object' || m === null) throw bad('a message is not an object');
    if (!str(x['id'], 36) || uuidV7Time(x['id']) === undefined) throw bad('id is not a UUIDv7');
    if (!str(x['device'], 36) || !ID.test(x['device'])) throw bad('device is not an id');
    if (x['plane'] !== undefined) {
      if (!str(x['plane'], 128) || relayedReport(x['plane']) === undefined)
        throw bad('plane is not a device report');
      if (x['channel'] !== '' || x['subtopic'] !== '')
        throw bad('a plane message has no channel or subtopic');
    } else {
      if (!str(x['channel'], 36) || !ID.test(x['channel'])) throw bad('channel is not an id');
      if (!str(x['subtopic'], 1024)) throw bad('subtopic is not a string');
    }
    if (x['contentType'] !== undefined && !str(x['contentType'], 255))
      throw bad('contentType is not a string');
    if (typeof x['payload'] !== 'string' || !B64.test(x['payload']))
      throw bad('payload is not base64');
  }
  return doc as UplinkBatch;
}
