import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SENML_CONTENT_TYPES, isSenmlContentType, senmlFormatOf } from '@bulwark/senml';

describe('SenML content types (RFC 8428 §12.3)', () => {
  it('names the JSON and CBOR media types', () => {
    assert.deepEqual(SENML_CONTENT_TYPES, {
      json: 'application/senml+json',
      cbor: 'application/senml+cbor',
    });
  });

  it('matches case-insensitively and ignores parameters', () => {
    for (const ct of [
      'application/senml+json',
      'APPLICATION/SENML+JSON',
      'application/senml+json; charset=utf-8',
      ' application/senml+cbor ',
    ]) {
      assert.equal(isSenmlContentType(ct), true, ct);
    }
    assert.equal(senmlFormatOf('Application/Senml+Cbor;x=y'), 'cbor');
    assert.equal(senmlFormatOf('application/senml+json;charset=UTF-8'), 'json');
  });

  it('does not match other types, including the SenML forms it does not parse', () => {
    for (const ct of [
      'application/json',
      'application/cbor',
      'application/senml+xml',
      'application/senml-exi',
      'application/sensml+json',
      'application/senml+jsonx',
      '',
    ]) {
      assert.equal(isSenmlContentType(ct), false, ct);
      assert.equal(senmlFormatOf(ct), undefined, ct);
    }
  });
});
