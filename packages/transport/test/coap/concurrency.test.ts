/**
 * Pipelining over CoAP (decision record 0018): confirmable POSTs from one endpoint are processed
 * concurrently up to `maxPendingPerSource`, each answered by its own token once its ingest
 * resolved, whatever order the stores finish in; beyond the bound 5.03.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { path, startServer } from './helpers.js';
import { CON, RawClient } from './wire.js';

describe('CoAP: concurrent confirmable POSTs from one endpoint', () => {
  it('up to the bound at once, responses matched by token, 5.03 beyond it', async () => {
    const { server, hooks } = await startServer({ maxPendingPerSource: 8, retryAfterSeconds: 3 });
    const c = await RawClient.open(server.port);
    const held: Array<{ payload: string; release: () => void }> = [];
    hooks.ingestImpl = (m) =>
      new Promise<void>((release) =>
        held.push({ payload: Buffer.from(m.payload).toString(), release }),
      );
    try {
      const sent = Array.from({ length: 8 }, (_, i) => ({
        token: c.nextToken(),
        payload: `p${i}`,
      }));
      for (const s of sent) {
        c.send({
          type: CON,
          code: '0.02',
          mid: c.nextMid(),
          token: s.token,
          options: path(),
          payload: Buffer.from(s.payload),
        });
      }
      const deadline = Date.now() + 3000;
      while (held.length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(held.length, 8, 'all eight in ingest at once');
      // The ninth from the same endpoint is refused while eight are pending: bounded, visible.
      const ninth = await c.request('0.02', path(), 'p8');
      assert.equal(ninth.code, '5.03');
      // Stores finish in reverse order: each response still carries its own request's token.
      for (const h of [...held].reverse()) h.release();
      for (const s of sent) {
        const r = await c.wait((m) => m.code !== '0.00' && m.token.equals(s.token), 3000);
        assert.equal(r.code, '2.04', s.payload);
      }
      assert.deepEqual(
        hooks.ingested.map((x) => Buffer.from(x.m.payload).toString()),
        sent.map((s) => s.payload).reverse(),
      );
    } finally {
      c.close();
      await server.close();
    }
  });
});
