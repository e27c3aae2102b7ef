/**
 * The hub serves its AsyncAPI 3.0 document beside the OpenAPI one (decision 0015): generated from
 * the device-plane grammar of @bulwark/protocol, with the hub's version.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEVICE_PLANE_KINDS } from '@bulwark/protocol';
import { asyncApiDocument } from '@bulwark/transport';
import { raw, startTestHub, type TestHub } from './helpers.js';

describe('AsyncAPI document', () => {
  let t: TestHub;
  before(async () => (t = await startTestHub()));
  after(() => t.close());

  it('is served at /api/v1/asyncapi.json with every device-plane channel', async () => {
    const r = await raw(t, 'GET', '/asyncapi.json');
    assert.equal(r.status, 200);
    const doc = r.json as {
      asyncapi: string;
      info: { version: string };
      channels: Record<string, { address: string }>;
    };
    assert.equal(doc.asyncapi, '3.0.0');
    assert.deepEqual(doc, asyncApiDocument({ version: doc.info.version }));
    const openapi = (await raw(t, 'GET', '/openapi.json')).json as { info: { version: string } };
    assert.equal(doc.info.version, openapi.info.version);
    for (const kind of DEVICE_PLANE_KINDS)
      assert.match(doc.channels[kind]?.address ?? '', /^\$devices\/\{deviceId\}\//, kind);
  });
});
