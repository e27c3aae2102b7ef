/** The one mapping from errors to CoAP codes (RFC 7252 §5.9), kind by kind. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BulwarkError, type ErrorCode } from '@bulwark/protocol';
import { CoapFault, coapReply } from '../../src/coap/index.js';

const ctx = { maxPayloadBytes: 512, retryAfterSeconds: 3 };

describe('coapReply', () => {
  const cases: [ErrorCode, string][] = [
    ['senml_invalid', '4.00'],
    ['validation_failed', '4.00'],
    ['unauthenticated', '4.01'],
    ['not_authorized', '4.03'],
    ['route_not_found', '4.04'],
    ['conflict', '4.09'],
    ['payload_too_large', '4.13'],
    ['unsupported_media_type', '4.15'],
    ['quota_exceeded', '5.03'],
    ['unavailable', '5.03'],
    ['internal_error', '5.00'],
  ];
  for (const [code, coap] of cases) {
    it(`${code} → ${coap}`, () => {
      const r = coapReply(new BulwarkError(code), ctx);
      assert.equal(r.code, coap);
      if (coap === '4.13') assert.deepEqual(r.options, [[60, Buffer.from([2, 0])]]); // Size1 512
      if (coap === '5.03') assert.deepEqual(r.options, [[14, Buffer.from([3])]]); // Max-Age 3
      if (coap === '5.00') assert.equal(r.diagnostic, '');
      else assert.match(r.diagnostic, new RegExp(`^${code}: `));
    });
  }

  it('CoAP-only faults keep their code; anything unknown is a bare 5.00', () => {
    assert.equal(coapReply(new CoapFault('4.08', 'gap'), ctx).code, '4.08');
    assert.deepEqual(coapReply(new Error('secret detail'), ctx), {
      code: '5.00',
      options: [],
      diagnostic: '',
    });
  });

  it('keeps diagnostics short enough for one datagram', () => {
    const r = coapReply(new BulwarkError('senml_invalid', 'x'.repeat(5000)), ctx);
    assert.ok(Buffer.byteLength(r.diagnostic) <= 160);
  });
});
