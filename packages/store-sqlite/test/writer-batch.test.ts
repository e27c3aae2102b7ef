import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { newId, type Envelope } from '@bulwark/core';
import { packBatch, unpackBatch, type PackedBatch } from '../src/writer-batch.js';

describe('the writer thread batch format', () => {
  it('round-trips every field, payloads cut from shared socket chunks, through a real port', async () => {
    const chunk = Buffer.from('a'.repeat(100) + 'b'.repeat(7) + 'c'.repeat(65_000));
    const envelopes: Envelope[] = [
      {
        id: newId(),
        orgId: 'o1',
        channelId: 'c1',
        subtopic: 'room/1',
        publisher: { type: 'device', id: 'd1' },
        protocol: 'mqtt',
        contentType: 'application/senml+json',
        receivedAt: 1_735_689_600_123,
        payload: chunk.subarray(0, 100),
        // Every field of a record, each kind of value, and fields left out stay left out.
        senml: [
          { n: 'urn:dev:temp', t: 1_735_689_600, v: 21.5, u: 'Cel' },
          { n: 'urn:dev:door', t: 1_735_689_600.25, vb: false, ut: 60 },
          { n: 'urn:dev:label', t: 0, vs: '' },
          { n: 'urn:dev:blob', t: 1, vd: 'AAE', s: 3.5 },
          { n: 'urn:dev:sum', t: 2, s: 0 },
        ],
        origin: 'node-a',
      },
      {
        id: newId(),
        orgId: 'o2',
        channelId: 'c2',
        subtopic: '',
        publisher: { type: 'api_key', id: 'k1' },
        protocol: 'http',
        contentType: 'application/octet-stream',
        receivedAt: 1_735_689_600_124,
        payload: chunk.subarray(100, 107),
        origin: 'node-b',
      },
      {
        id: newId(),
        orgId: 'o1',
        channelId: 'c1',
        subtopic: 'x',
        publisher: { type: 'device', id: 'd2' },
        protocol: 'coap',
        contentType: 'text/plain',
        receivedAt: 1_735_689_600_125,
        payload: new Uint8Array(0),
        senml: [],
        origin: 'node-a',
      },
    ];
    const packed = packBatch(envelopes);
    assert.equal(packed.bytes.byteLength, 107, 'only the payloads are copied, not their chunks');
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<PackedBatch>((resolve) => port2.once('message', resolve));
    port1.postMessage(packed, [packed.bytes.buffer]);
    assert.equal(packed.bytes.byteLength, 0, 'the buffer was transferred, not cloned');
    const back = unpackBatch(await received);
    port1.close();
    assert.deepEqual(
      back.map((e) => ({ ...e, payload: Buffer.from(e.payload).toString() })),
      envelopes.map((e) => ({ ...e, payload: Buffer.from(e.payload).toString() })),
    );
    assert.equal('senml' in back[1]!, false, 'no SenML stays no SenML');
  });
});
