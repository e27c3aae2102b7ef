/**
 * Several session-ticket keys on one Node TLS server (decision 0022, issue 12): the active key
 * seals new tickets, the previous ones still open theirs until those expire — so a device holding
 * a ticket from before a rotation resumes, and gets a ticket under the active key in return.
 *
 * Node's `tls.Server` exposes one key (`setTicketKeys`). Its native secure context has had, since
 * Node 0.11, the multi-key form of OpenSSL's ticket callback (`SSL_CTX_set_tlsext_ticket_key_cb`):
 * `enableTicketKeyCallback()` makes OpenSSL call the context's `onticketkeycallback(name, iv,
 * encrypt)`, which answers `[result, hmacKey, aesKey, name, iv]` (the last two when encrypting);
 * result 1 = use these, 2 = opened with an old key so issue a new ticket, 0 = unknown key (a full
 * handshake). That surface is internal: when it is missing, the server keeps the one active key
 * (`setTicketKeys`) and `multiKey` says so; hub/test/tickets.test.ts proves it on every Node the
 * suite runs on (a ticket from before a rotation resumes).
 */
import { randomBytes } from 'node:crypto';
import type { Server as TlsServer } from 'node:tls';

/** Node's ticket key: 16 bytes key name, 16 bytes HMAC secret, 16 bytes AES key. */
const PART = 16;
const split = (k: Buffer) => ({
  name: k.subarray(0, PART),
  hmac: k.subarray(PART, 2 * PART),
  aes: k.subarray(2 * PART, 3 * PART),
});
const UNUSED = Buffer.alloc(PART);

interface NativeContext {
  enableTicketKeyCallback?: () => void;
  onticketkeycallback?: (name: Buffer, iv: Buffer, encrypt: boolean) => unknown[];
}

/** The ticket keys of one server, swappable on rotation. */
export interface ServerTicketKeys {
  /** Whether previous keys are honoured (Node's internal callback was found). */
  readonly multiKey: boolean;
  set(active: Buffer, previous: readonly Buffer[]): void;
}

/** Installs `active` (sealing) and `previous` (opening only) on `server`. */
export function serverTicketKeys(
  server: TlsServer,
  active: Buffer,
  previous: readonly Buffer[],
): ServerTicketKeys {
  server.setTicketKeys(active);
  const creds = (server as unknown as { _sharedCreds?: { context?: NativeContext } })._sharedCreds;
  const ctx = creds?.context;
  if (typeof ctx?.enableTicketKeyCallback !== 'function') {
    return { multiKey: false, set: (a) => server.setTicketKeys(a) };
  }
  let cur = split(active);
  let old = previous.map(split);
  ctx.onticketkeycallback = (name, _iv, encrypt) => {
    if (encrypt) return [1, cur.hmac, cur.aes, cur.name, randomBytes(PART)];
    if (name.equals(cur.name)) return [1, cur.hmac, cur.aes];
    for (const k of old) if (name.equals(k.name)) return [2, k.hmac, k.aes];
    return [0, UNUSED, UNUSED];
  };
  ctx.enableTicketKeyCallback();
  return {
    multiKey: true,
    set(a, p) {
      cur = split(a);
      old = p.map(split);
      // What getTicketKeys() reports, and the key if the callback were ever lost.
      server.setTicketKeys(a);
    },
  };
}
