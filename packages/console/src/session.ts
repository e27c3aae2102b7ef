/**
 * The signed-in session (decision 0038): the access token lives in this module's memory only —
 * never in localStorage, sessionStorage or a readable cookie. The refresh token is never seen by
 * script at all: the hub keeps it in an HttpOnly, `SameSite=Strict`, `__Host-` cookie (the
 * requests say `X-Bulwark-Session: cookie`), so a reload restores the session with a refresh
 * (`restore`), and the access token is renewed the same way shortly before it expires.
 */
import {
  createClient,
  locationChainIn,
  permissionsAt,
  type BulwarkClient,
} from '@bulwark/sdk/browser';

export type Me = Awaited<ReturnType<BulwarkClient['me']>>;
type Tokens = Awaited<ReturnType<BulwarkClient['auth']['login']>>;

export interface Session {
  client: BulwarkClient;
  me: Me;
}

/** The hub that served this page: the API is on the same origin. */
const origin = (): string => window.location.origin;

/** A client without credentials: setup status, setup, login. */
export const anonymous: BulwarkClient = createClient({ baseUrl: origin() });

/** Login, refresh and logout of the browser session: the refresh token is the hub's cookie. */
const cookieSession: BulwarkClient = createClient({
  baseUrl: origin(),
  headers: { 'x-bulwark-session': 'cookie' },
});

let current: Session | null = null;
let accessToken: string | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<(s: Session | null) => void>();

export function session(): Session | null {
  return current;
}

export function onSession(fn: (s: Session | null) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function publish(s: Session | null): void {
  current = s;
  for (const fn of listeners) fn(s);
}

async function adopt(tokens: Tokens): Promise<Session> {
  const client = createClient({ baseUrl: origin(), token: tokens.accessToken });
  const me = await client.me();
  accessToken = tokens.accessToken;
  clearTimeout(timer);
  // Renew a minute before expiry (at least 10 s from now); a failed renewal signs out.
  const inMs = Math.max(10, tokens.expiresIn - 60) * 1000;
  timer = setTimeout(() => {
    void renew();
  }, inMs);
  const s = { client, me };
  publish(s);
  return s;
}

async function renew(): Promise<void> {
  if (accessToken === null) return;
  try {
    await adopt(await cookieSession.auth.refresh());
  } catch {
    forget();
  }
}

function forget(): void {
  clearTimeout(timer);
  accessToken = null;
  publish(null);
}

/**
 * On start: a refresh with the session cookie, if the browser holds one, restores the session
 * after a reload. No cookie leaves the user signed out without an error; a dead one (its session
 * revoked elsewhere) is refused once and cleared by the hub.
 */
export async function restore(): Promise<Session | null> {
  try {
    // Asked first so that a browser without a session makes no failing request.
    if (!(await cookieSession.auth.sessionCookie()).cookie) return null;
    return await adopt(await cookieSession.auth.refresh());
  } catch {
    return null;
  }
}

export async function signIn(email: string, password: string, totp?: string): Promise<Session> {
  const tokens = await cookieSession.auth.login({
    email,
    password,
    ...(totp !== undefined && totp !== '' ? { totp } : {}),
  });
  return adopt(tokens);
}

/**
 * Revokes the session on the hub (which clears its cookie), then drops the access token: the
 * cookie is gone before the sign-in page shows, so a reload right after does not sign back in.
 */
export async function signOut(): Promise<void> {
  await cookieSession.auth.logout().catch(() => undefined);
  forget();
}

/** Whether the signed-in principal holds a permission (the API checks again). */
export function can(s: Session | null, permission: string): boolean {
  return s !== null && (s.me.permissions as readonly string[]).includes(permission);
}

/** Whether the principal holds any scoped grant (decision 0046): then device pages load the tree. */
export function hasScopedGrants(s: Session | null): boolean {
  return (s?.me.scopedGrants?.length ?? 0) > 0;
}

/**
 * Whether the principal holds a permission anywhere: organization-wide or on some device group
 * (decision 0046). For actions on a selection, which the hub then refuses device by device.
 */
export function canSomewhere(s: Session | null, permission: string): boolean {
  return (
    can(s, permission) ||
    (s?.me.scopedGrants ?? []).some((g) =>
      (g.permissions as readonly string[]).includes(permission),
    )
  );
}

/**
 * Whether the principal holds a permission on one device: organization-wide, or by a scoped grant
 * whose group (location subtree and/or tag) contains the device — the hub's rule, from the
 * protocol (decision 0046). `tree` is the organization's locations (the API checks again).
 */
export function canOnDevice(
  s: Session | null,
  permission: string,
  device: { locationId: string | null; tags: readonly string[] } | null,
  tree: readonly { id: string; parentId: string | null }[],
): boolean {
  if (can(s, permission)) return true;
  if (s === null || device === null) return false;
  const place = { locations: locationChainIn(tree, device.locationId), tags: device.tags };
  return permissionsAt(s.me, place).includes(permission);
}

/**
 * A client of the signed-in session whose requests go through XMLHttpRequest, so an upload
 * reports its progress (fetch has no upload progress): used for firmware images.
 */
export function uploadingClient(onProgress: (sent: number, total: number) => void): BulwarkClient {
  if (accessToken === null) throw new Error('not signed in');
  const xhrFetch = (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      // The SDK passes the URL as a string.
      xhr.open(init.method ?? 'GET', input as string);
      for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>))
        xhr.setRequestHeader(k, v);
      xhr.responseType = 'arraybuffer';
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
      xhr.onload = () => {
        const headers = new Headers();
        for (const line of xhr
          .getAllResponseHeaders()
          .trim()
          .split(/[\r\n]+/)) {
          const i = line.indexOf(':');
          if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
        }
        resolve(new Response(xhr.response as ArrayBuffer, { status: xhr.status, headers }));
      };
      xhr.onerror = () => reject(new TypeError('the upload failed (network)'));
      xhr.send(init.body as XMLHttpRequestBodyInit | null);
    });
  return createClient({ baseUrl: origin(), token: accessToken, fetch: xhrFetch });
}
