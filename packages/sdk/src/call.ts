import type { OperationId } from '@bulwark/protocol';
import { ROUTE_WIRE, type WireRoute } from '@bulwark/protocol/lite';
import { apiErrorFrom, unreachable } from './errors.js';
import type { Call } from './types.js';

/** Where and how `createCall` sends requests. */
export interface CallOptions {
  /** The hub's origin, e.g. `https://127.0.0.1:8443`; `/api/v1` is appended. */
  baseUrl: string;
  /** An API key (`bwk_…`) or a user access token, sent as a Bearer token. */
  token?: string;
  /** The fetch to use (e.g. undici's, with a dispatcher that trusts the hub's CA). */
  fetch?: typeof fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

interface LooseInput {
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
  contentType?: string;
  range?: string;
  /** A streamed answer's resume point (the event stream's `Last-Event-ID`). */
  lastEventId?: string;
  /** Aborts the request, or a streamed answer being read. */
  signal?: AbortSignal;
}

/** A path or query value as text: strings as they are, numbers and booleans printed, else JSON. */
function scalar(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? '';
}

/**
 * Fills `:name` segments from params, each URI-encoded so an id can never add a path segment, and a
 * trailing `*` (a subtopic) from `params['*']`, encoded level by level so its `/`s stay separators.
 */
export function fillPath(path: string, params: Record<string, unknown> = {}): string {
  return path
    .replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined || value === null)
        throw new TypeError(`missing path parameter '${name}'`);
      return encodeURIComponent(scalar(value));
    })
    .replace(/\*$/, () =>
      scalar(params['*'] ?? '')
        .split('/')
        .map(encodeURIComponent)
        .join('/'),
    );
}

/** Serializes a query object: undefined values are skipped, arrays become repeated keys. */
export function toQueryString(query: Record<string, unknown> = {}): string {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const v of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (v !== undefined && v !== null) qs.append(key, scalar(v));
    }
  }
  const s = qs.toString();
  return s === '' ? '' : `?${s}`;
}

/** Builds the `call` function of a client from its options. */
export function createCall(opts: CallOptions): Call {
  const base = `${opts.baseUrl.replace(/\/+$/, '')}/api/v1`;
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);

  const call = async (op: OperationId, input: LooseInput = {}): Promise<unknown> => {
    const route: WireRoute = ROUTE_WIRE[op];
    const url = base + fillPath(route.path, input.params) + toQueryString(input.query);
    const headers: Record<string, string> = {
      accept: route.produces ?? 'application/json',
      ...opts.headers,
    };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    if (route.streamResponse && input.range !== undefined) headers.range = input.range;
    if (route.streamResponse && input.lastEventId !== undefined)
      headers['last-event-id'] = input.lastEventId;
    const init: RequestInit = { method: route.method, headers };
    if (input.signal !== undefined) init.signal = input.signal;
    // Only send a body (and its content type) where the route takes one: an empty body labelled
    // application/json is a malformed request.
    if (route.rawBody) {
      // Message ingest: the payload goes as is, labelled with its own content type.
      headers['content-type'] = input.contentType ?? 'application/octet-stream';
      init.body = input.body as Uint8Array;
    } else if (route.streamBody) {
      // A firmware image: bytes, or an async iterable of chunks (streamed; Node's fetch needs
      // half duplex for a streamed request body).
      headers['content-type'] = input.contentType ?? 'application/octet-stream';
      init.body = input.body as RequestInit['body'];
      if (!(input.body instanceof Uint8Array)) (init as { duplex?: string }).duplex = 'half';
    } else if (route.body === true) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(input.body ?? {});
    }

    let res: Response;
    try {
      res = await doFetch(url, init);
    } catch (err) {
      throw unreachable(opts.baseUrl, err);
    }
    if (route.streamResponse) {
      // Status, headers and the unread body (206 and 416 included): the caller streams it.
      if (!res.ok && res.status !== 416) throw await apiErrorFrom(res);
      const out: { status: number; headers: Record<string, string>; body?: unknown } = {
        status: res.status,
        headers: Object.fromEntries(res.headers),
      };
      if (res.status === 416) await res.body?.cancel();
      else if (res.body) out.body = res.body;
      return out;
    }
    if (!res.ok) throw await apiErrorFrom(res);
    if (res.status === 204 || route.status === 204) {
      await res.body?.cancel();
      return undefined;
    }
    if (route.produces !== undefined) return res.text();
    return res.json();
  };
  return call as Call;
}
