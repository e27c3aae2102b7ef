/**
 * The LwM2M endpoint over DTLS (decision 0043, 2026-12-07): a request to a peer with no
 * association fails at once — nothing is sent, nothing retransmitted for 30 s — and one whose
 * association ends while it waits fails at its next retransmission.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { CoapEndpoint } from '../../src/lwm2m/endpoint.js';

/** A dgram-like socket that counts what it is asked to send. */
class CountingSocket extends EventEmitter {
  sent = 0;
  send(): void {
    this.sent++;
  }
  close(cb?: () => void): void {
    cb?.();
  }
}

const log = { debug: () => undefined, warn: () => undefined };
const GET = { method: 'GET' as const, path: ['3', '0'] };

describe('LwM2M requests over DTLS follow the association', () => {
  it('no association: rejected at once, nothing sent', async () => {
    const socket = new CountingSocket();
    const ep = new CoapEndpoint({
      onRequest: () => Promise.resolve({ code: '2.05' }),
      log,
      socket,
      securityOf: () => undefined,
    });
    const started = Date.now();
    await assert.rejects(ep.request('127.0.0.1', 5684, GET), /no DTLS association/);
    assert.ok(Date.now() - started < 500);
    assert.equal(socket.sent, 0);
    await ep.close();
  });

  it('an association that ends while the request waits: rejected at the next retransmission', async () => {
    const socket = new CountingSocket();
    let open = true;
    const ep = new CoapEndpoint({
      onRequest: () => Promise.resolve({ code: '2.05' }),
      log,
      socket,
      securityOf: () => (open ? { identity: 'id', pskRef: 'r' } : undefined),
    });
    const pending = ep.request('127.0.0.1', 5684, GET);
    assert.equal(socket.sent, 1);
    open = false;
    const started = Date.now();
    // ACK_TIMEOUT × [1, 1.5): the first retransmission is due within 3 s.
    await assert.rejects(pending, /no DTLS association/);
    assert.ok(Date.now() - started < 3_500);
    assert.equal(socket.sent, 1);
    await ep.close();
  });
});
