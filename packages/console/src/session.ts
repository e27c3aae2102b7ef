/**
 * The signed-in session (decision 0038): the access and refresh tokens live in this module's
 * memory only — never in localStorage, sessionStorage or a readable cookie — so a reload signs the
 * user out. The access token is renewed with the refresh token shortly before it expires.
 */
import { createClient, type BulwarkClient } from '@bulwark/sdk/browser';

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

let current: Session | null = null;
let accessToken: string | null = null;
let refreshToken: string | null = null;
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
  refreshToken = tokens.refreshToken;
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
  if (refreshToken === null) return;
  try {
    await adopt(await anonymous.auth.refresh(refreshToken));
  } catch {
    forget();
  }
}

function forget(): void {
  clearTimeout(timer);
  refreshToken = null;
  accessToken = null;
  publish(null);
}

export async function signIn(email: string, password: string, totp?: string): Promise<Session> {
  const tokens = await anonymous.auth.login({
    email,
    password,
    ...(totp !== undefined && totp !== '' ? { totp } : {}),
  });
  return adopt(tokens);
}

/** Revokes the refresh token on the hub, then drops both tokens. */
export async function signOut(): Promise<void> {
  const token = refreshToken;
  forget();
  if (token !== null) await anonymous.auth.logout(token).catch(() => undefined);
}

/** Whether the signed-in principal holds a permission (the API checks again). */
export function can(s: Session | null, permission: string): boolean {
  return s !== null && (s.me.permissions as readonly string[]).includes(permission);
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
