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
