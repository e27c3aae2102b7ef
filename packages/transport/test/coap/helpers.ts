/** Fake hooks that record every call, a server started on loopback, and request builders. */
import { BulwarkError } from '@bulwark/protocol';
import {
  startCoapServer,
  type CoapClient,
  type CoapHooks,
  type CoapLimits,
  type CoapInbound,
  type CoapServer,
} from '../../src/coap/index.js';
import { opt } from './wire.js';

export const IN_CI = process.env['CI'] === 'true';
export const CHANNEL = '0b6c1c8e-3f1e-4a57-9a43-2f2d6a0e9c11';
export const OTHER_CHANNEL = '7d1f2e3c-4b5a-4968-8776-a5b4c3d2e1f0';
export const DEVICE = 'dev-1';
export const KEY = 's3cret';

/** Option numbers the tests use. */
export const O = {
  ETag: 4,
  Observe: 6,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  Size1: 60,
  RequestTag: 292,
} as const;

/** In-test hooks: one device, configurable refusals, every call recorded. */
export class FakeHooks implements CoapHooks {
  readonly ingested: { client: CoapClient; m: CoapInbound }[] = [];
  readonly authCalls: { deviceId: string; key: string }[] = [];
  /** Replace to refuse or delay ingest. */
  ingestImpl: (m: CoapInbound) => Promise<void> = async () => {};
  subscribable = new Set([CHANNEL, OTHER_CHANNEL]);

  async authenticate(deviceId: string, key: string): Promise<CoapClient | undefined> {
    this.authCalls.push({ deviceId, key });
    return deviceId.startsWith('dev-') && key === KEY
      ? { type: 'device', id: deviceId, orgId: 'org-1' }
      : undefined;
  }

  async ingest(client: CoapClient, m: CoapInbound): Promise<void> {
    await this.ingestImpl(m);
    this.ingested.push({ client, m });
  }

  async canSubscribe(_client: CoapClient, channelId: string): Promise<boolean> {
    return this.subscribable.has(channelId);
  }
}

/** A server on 127.0.0.1, any port, with fake hooks. */
export async function startServer(
  limits: Partial<CoapLimits> = {},
  maxPayloadBytes = 8192,
): Promise<{ server: CoapServer & { port: number }; hooks: FakeHooks }> {
  const hooks = new FakeHooks();
  const server = await startCoapServer({
    port: 0,
    host: '127.0.0.1',
    hooks,
    maxPayloadBytes,
    limits,
  });
  return { server, hooks };
}

/** Uri-Path options for /channels/{id}/messages[/sub…] and the auth Uri-Query. */
export function path(
  channel = CHANNEL,
  sub: string[] = [],
  auth: string | null = `${DEVICE}:${KEY}`,
): [number, Buffer][] {
  const segs = ['channels', channel, 'messages', ...sub].map((s) => opt(O.UriPath, s));
  return auth === null ? segs : [...segs, opt(O.UriQuery, `auth=${auth}`)];
}

/** A BulwarkError, for refusals from the fake ingest. */
export function refuse(code: ConstructorParameters<typeof BulwarkError>[0], extra = {}): never {
  throw new BulwarkError(code, undefined, { extra });
}

/** Resolves after ms. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until cond() holds (bounded). */
export async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
