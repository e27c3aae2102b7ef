/** The TLS 1.2 pseudo-random function with HMAC-SHA256 (RFC 5246 §5), the PRF of every suite we offer. */
import { createHmac } from 'node:crypto';

/** PRF(secret, label, seed) = P_SHA256(secret, label + seed), truncated to `length` bytes. */
export function prf(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const out: Buffer[] = [];
  let total = 0;
  // RFC 5246 §5: A(0) = seed, A(i) = HMAC(secret, A(i-1)); output HMAC(secret, A(i) + seed), i ≥ 1.
  let a: Buffer = labelSeed;
  while (total < length) {
    a = createHmac('sha256', secret).update(a).digest();
    const block = createHmac('sha256', secret).update(a).update(labelSeed).digest();
    out.push(block);
    total += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** The PSK premaster secret (RFC 4279 §2): uint16 N, N zero bytes, uint16 N, the key. */
export function pskPremaster(psk: Uint8Array): Buffer {
  const n = psk.length;
  const b = Buffer.alloc(4 + 2 * n);
  b.writeUInt16BE(n, 0);
  b.writeUInt16BE(n, 2 + n);
  Buffer.from(psk).copy(b, 4 + n);
  return b;
}

/** The keys of one connection for the AES-128-CCM suites: no MAC keys, 16-byte keys, 4-byte IVs. */
export interface KeyBlock {
  clientKey: Buffer;
  serverKey: Buffer;
  clientIv: Buffer;
  serverIv: Buffer;
}

/** key_block = PRF(master, "key expansion", server_random + client_random) (RFC 5246 §6.3). */
export function keyBlock(master: Buffer, clientRandom: Buffer, serverRandom: Buffer): KeyBlock {
  const kb = prf(master, 'key expansion', Buffer.concat([serverRandom, clientRandom]), 40);
  return {
    clientKey: kb.subarray(0, 16),
    serverKey: kb.subarray(16, 32),
    clientIv: kb.subarray(32, 36),
    serverIv: kb.subarray(36, 40),
  };
}
