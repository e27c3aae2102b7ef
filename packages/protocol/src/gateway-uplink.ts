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
  /**
   * A channel message the gateway evaluated the site's rules on (decision 0040, "local
   * operation"): the hub's rule engine skips it, so a crossing fires once, where it was seen.
   */
  ruled?: true;
  /**
   * Not a device's message: a rule the gateway evaluated fired or cleared on `device` — the
   * payload (base64) is a `RuleFiring` document; `channel` and `subtopic` are ''.
   */
  firing?: true;
  /** The payload, base64. */
  payload: string;
}

/** A rule fired (or cleared) on a gateway: what it did locally and what the hub is to do. */
export interface RuleFiring {
  v: 1;
  t: 'fire' | 'clear';
  ruleId: string;
  /** The version of the rule the gateway evaluated (its `updatedAt`). */
  ruleUpdatedAt: number;
  channelId: string;
  record: string;
  value: number | string | boolean;
  /** The uplink id of the message that made it fire or clear. */
  messageId: string;
  /** Epoch ms the gateway saw it fire (the message's acceptance time). */
  at: number;
  /** Commands the gateway handed to the device itself (the rule's `command` actions, in order). */
  commands: { id: string; name: string; params: Record<string, unknown>; deadline: number }[];
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
    if (x['ruled'] !== undefined && (x['ruled'] !== true || x['plane'] !== undefined))
      throw bad('ruled is true, on a channel message');
    if (x['firing'] !== undefined) {
      if (x['firing'] !== true || x['plane'] !== undefined || x['ruled'] !== undefined)
        throw bad('firing is true, alone');
      // The document itself is checked by parseRuleFiring when it is applied.
      if (x['channel'] !== '' || x['subtopic'] !== '') throw bad('a firing has no channel');
    } else if (x['plane'] !== undefined) {
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

const badFiring = (msg: string) =>
  new BulwarkError('device_payload_invalid', `rule firing: ${msg}`);
const isMs = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Parses and checks a `RuleFiring` document (shape only; the hub checks the rule and device). */
export function parseRuleFiring(bytes: Uint8Array): RuleFiring {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw badFiring('not JSON');
  }
  const f = doc as Record<string, unknown>;
  if (typeof doc !== 'object' || doc === null || f['v'] !== 1) throw badFiring('expected v 1');
  if (f['t'] !== 'fire' && f['t'] !== 'clear') throw badFiring('t is fire or clear');
  for (const k of ['ruleId', 'channelId', 'messageId'])
    if (!str(f[k], 36) || !ID.test(f[k])) throw badFiring(`${k} is not an id`);
  if (!str(f['record'], 256) || f['record'] === '') throw badFiring('record is not a name');
  const v = f['value'];
  if (!(typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || str(v, 200)))
    throw badFiring('value is not a number, string or boolean');
  if (!isMs(f['at']) || !isMs(f['ruleUpdatedAt'])) throw badFiring('at is not epoch ms');
  const cmds = f['commands'];
  if (!Array.isArray(cmds) || cmds.length > 5) throw badFiring('commands: at most 5');
  for (const c of cmds as Record<string, unknown>[]) {
    if (typeof c !== 'object' || c === null) throw badFiring('a command is not an object');
    if (!str(c['id'], 36) || uuidV7Time(c['id']) === undefined)
      throw badFiring('a command id is not a UUIDv7');
    if (!str(c['name'], 64) || !/^[A-Za-z][A-Za-z0-9._-]*$/.test(c['name']))
      throw badFiring('a command name is not a name');
    if (typeof c['params'] !== 'object' || c['params'] === null || Array.isArray(c['params']))
      throw badFiring('command params are an object');
    if (!isMs(c['deadline'])) throw badFiring('a command deadline is not epoch ms');
  }
  return doc as RuleFiring;
}
