import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, base32Encode, hotp, totp, verifyTotp } from '@bulwark/core';

const SECRET = Buffer.from('12345678901234567890');

describe('HOTP (RFC 4226 appendix D)', () => {
  it('produces the published codes for counters 0–9', () => {
    const expected = [
      '755224',
      '287082',
      '359152',
      '969429',
      '338314',
      '254676',
      '287922',
      '162583',
      '399871',
      '520489',
    ];
    expected.forEach((code, counter) => assert.equal(hotp(SECRET, counter), code));
  });
});

describe('TOTP (RFC 6238 appendix B, SHA-1)', () => {
  it('produces the published 8-digit codes', () => {
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [t, code] of vectors) assert.equal(totp(SECRET, t * 1000, 8), code);
  });
  it('accepts one step of drift either way and nothing further', () => {
    const now = 1_700_000_000_000;
    const code = totp(SECRET, now);
    assert.notEqual(verifyTotp(SECRET, code, now + 30_000), null);
    assert.notEqual(verifyTotp(SECRET, code, now - 30_000), null);
    assert.equal(verifyTotp(SECRET, code, now + 95_000), null);
  });
});

describe('base32 (RFC 4648 §10)', () => {
  it('encodes the test vectors (unpadded)', () => {
    assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
    assert.equal(base32Encode(Buffer.from('f')), 'MY');
  });
  it('round-trips and ignores case, spaces and padding', () => {
    assert.deepEqual(base32Decode('mzxw 6ytb oi======'), Buffer.from('foobar'));
    assert.throws(() => base32Decode('M1'), /not base32/);
  });
});
