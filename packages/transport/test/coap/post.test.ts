/** POST publishes: ingest sees the right message, and 2.04 goes out only after ingest resolved. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CHANNEL, DEVICE, O, path, refuse, sleep, startServer, type FakeHooks } from './helpers.js';
import { ACK, CON, NON, RawClient, opt, option, uint } from './wire.js';
import type { CoapServer } from '../../src/coap/index.js';

describe('CoAP POST /channels/{id}/messages', () => {
  let server: CoapServer & { port: number };
  let hooks: FakeHooks;
  let c: RawClient;
  before(async () => {
    ({ server, hooks } = await startServer({ retryAfterSeconds: 7 }, 2048));
    c = await RawClient.open(server.port);
  });
  after(async () => {
    c.close();
    await server.close();
  });

  it('calls ingest with channel, subtopic, content type and payload, then answers 2.04', async () => {
    const body = '[{"n":"temp","v":21.5}]';
    const r = await c.request(
      '0.02',
      [...path(CHANNEL, ['room', 'a']), opt(O.ContentFormat, 110)],
      body,
    );
    assert.equal(r.code, '2.04');
    assert.equal(r.type, ACK, 'piggybacked on the ACK (RFC 7252 §5.2.1)');
    const last = hooks.ingested.at(-1);
    assert.deepEqual(last?.client, { type: 'device', id: DEVICE, orgId: 'org-1' });
    assert.equal(last?.m.channelId, CHANNEL);
    assert.equal(last?.m.subtopic, 'room/a');
    assert.equal(last?.m.contentType, 'application/senml+json');
    assert.equal(Buffer.from(last?.m.payload ?? []).toString(), body);
  });

  it('maps every accepted Content-Format; none leaves it to the channel', async () => {
    const formats: [number | undefined, string | undefined][] = [
      [0, 'text/plain'],
      [42, 'application/octet-stream'],
      [50, 'application/json'],
      [60, 'application/cbor'],
      [110, 'application/senml+json'],
      [112, 'application/senml+cbor'],
      [undefined, undefined],
    ];
    for (const [cf, type] of formats) {
      const extra = cf === undefined ? [] : [opt(O.ContentFormat, cf)];
      const r = await c.request('0.02', [...path(), ...extra], 'x');
      assert.equal(r.code, '2.04', `format ${cf}`);
      assert.equal(hooks.ingested.at(-1)?.m.contentType, type);
      assert.equal(hooks.ingested.at(-1)?.m.subtopic, '');
    }
  });

  it('refuses an unknown Content-Format with 4.15 without calling ingest', async () => {
    const n = hooks.ingested.length;
    const r = await c.request('0.02', [...path(), opt(O.ContentFormat, 41)], '<x/>');
    assert.equal(r.code, '4.15');
    assert.equal(hooks.ingested.length, n);
  });

  it('sends 2.04 only after ingest resolved (separate response after an empty ACK)', async () => {
    let release!: () => void;
    hooks.ingestImpl = () => new Promise<void>((r) => (release = r));
    try {
      const token = c.nextToken();
      const mid = c.nextMid();
      const from = c.received.length;
      c.send({
        type: CON,
        code: '0.02',
        mid,
        token,
        options: path(),
        payload: Buffer.from('slow'),
      });
      // RFC 7252 §5.2.2: the server ACKs the CON while the answer is pending.
      const ack = await c.wait((m) => m.type === ACK && m.mid === mid, 3000, from);
      assert.equal(ack.code, '0.00');
      await sleep(150);
      assert.equal(
        c.received.slice(from).filter((m) => m.token.equals(token)).length,
        0,
        'no response while ingest is pending',
      );
      release();
      const r = await c.wait((m) => m.token.equals(token), 3000, from);
      assert.equal(r.code, '2.04');
      assert.equal(r.type, CON, 'a separate response is Confirmable');
    } finally {
      hooks.ingestImpl = async () => {};
    }
  });

  it('answers a Non-confirmable POST with a Non-confirmable response', async () => {
    const r = await c.request('0.02', path(), 'non', NON);
    assert.equal(r.code, '2.04');
    assert.equal(r.type, NON);
  });

  describe('refusals map to their CoAP codes', () => {
    const cases: [string, () => never, string][] = [
      ['not_authorized', () => refuse('not_authorized'), '4.03'],
      ['senml_invalid', () => refuse('senml_invalid'), '4.00'],
      ['payload_too_large', () => refuse('payload_too_large'), '4.13'],
      ['quota_exceeded', () => refuse('quota_exceeded'), '5.03'],
      ['unavailable', () => refuse('unavailable'), '5.03'],
      ['topic_invalid', () => refuse('topic_invalid'), '4.00'],
      ['internal_error', () => refuse('internal_error'), '5.00'],
      [
        'a non-Bulwark error',
        () => {
          throw new Error('db exploded');
        },
        '5.00',
      ],
    ];
    for (const [name, thrower, code] of cases) {
      it(`${name} → ${code}`, async () => {
        hooks.ingestImpl = async () => thrower();
        try {
          const r = await c.request('0.02', path(), 'x');
          assert.equal(r.code, code);
          if (code === '4.00' || code === '4.03') {
            // RFC 7252 §5.5.2: a diagnostic payload, no Content-Format.
            assert.match(r.payload.toString(), new RegExp(name));
            assert.equal(option(r, O.ContentFormat), undefined);
          }
          if (code === '5.00') assert.equal(r.payload.length, 0, 'nothing internal leaks');
          if (code === '5.03') assert.equal(uint(option(r, O.MaxAge)), 7, 'Max-Age retry hint');
          if (code === '4.13') assert.equal(uint(option(r, O.Size1)), 2048, 'Size1 = limit');
        } finally {
          hooks.ingestImpl = async () => {};
        }
      });
    }
    it('quota_exceeded with retryAfter → Max-Age from the error', async () => {
      hooks.ingestImpl = async () => refuse('quota_exceeded', { retryAfter: 30 });
      try {
        const r = await c.request('0.02', path(), 'x');
        assert.equal(r.code, '5.03');
        assert.equal(uint(option(r, O.MaxAge)), 30);
      } finally {
        hooks.ingestImpl = async () => {};
      }
    });
  });

  it('answers 4.01 for missing, malformed or wrong credentials, before ingest', async () => {
    const n = hooks.ingested.length;
    for (const auth of [null, 'nokey', `${DEVICE}:`, `${DEVICE}:wrong`, 'intruder:s3cret']) {
      const r = await c.request('0.02', path(CHANNEL, [], auth), 'x');
      assert.equal(r.code, '4.01', `auth=${auth}`);
    }
    assert.equal(hooks.ingested.length, n);
  });

  it('answers 4.04 for unknown paths and a channel id that is not a UUID', async () => {
    const paths = [
      [opt(O.UriPath, 'nope')],
      [opt(O.UriPath, 'channels'), opt(O.UriPath, 'not-a-uuid'), opt(O.UriPath, 'messages')],
      [opt(O.UriPath, 'channels'), opt(O.UriPath, CHANNEL), opt(O.UriPath, 'other')],
      [],
    ];
    for (const p of paths) {
      const r = await c.request('0.02', [...p, opt(O.UriQuery, `auth=${DEVICE}:s3cret`)], 'x');
      assert.equal(r.code, '4.04');
    }
  });

  it('answers 4.00 for an empty or wildcard subtopic level', async () => {
    for (const sub of [['a', ''], ['+'], ['a', '#'], ['a/b']]) {
      const r = await c.request('0.02', path(CHANNEL, sub), 'x');
      assert.equal(r.code, '4.00', JSON.stringify(sub));
    }
  });

  it('answers 4.05 for PUT, DELETE, FETCH and unknown methods', async () => {
    for (const code of ['0.03', '0.04', '0.05', '0.07', '0.31']) {
      const r = await c.request(code, [...path(), opt(O.ContentFormat, 50)], '{}');
      assert.equal(r.code, '4.05', code);
    }
  });

  it('answers 4.02 for an unrecognized critical option and ignores an elective one', async () => {
    const bad = await c.request('0.02', [...path(), opt(2049 + 2, 'x')], 'x'); // odd: critical
    assert.equal(bad.code, '4.02');
    const ok = await c.request('0.02', [...path(), opt(2048 + 2, 'x')], 'x'); // even: elective
    assert.equal(ok.code, '2.04');
    const proxy = await c.request('0.02', [...path(), opt(35, 'coap://elsewhere/')], 'x');
    assert.equal(proxy.code, '5.05');
  });

  it('answers 4.13 with Size1 for a single-datagram body over the limit', async () => {
    const r = await c.request('0.02', path(), Buffer.alloc(2049, 1));
    assert.equal(r.code, '4.13');
    assert.equal(uint(option(r, O.Size1)), 2048);
  });

  it('answers a retransmitted CON once and ingests it once (RFC 7252 §4.5)', async () => {
    const n = hooks.ingested.length;
    const token = c.nextToken();
    const mid = c.nextMid();
    const m = { type: CON, code: '0.02', mid, token, options: path(), payload: Buffer.from('dup') };
    const from = c.received.length;
    c.send(m);
    c.send(m);
    await c.wait((x) => x.token.equals(token), 3000, from);
    await sleep(100);
    c.send(m);
    await sleep(100);
    assert.equal(hooks.ingested.length, n + 1);
    assert.ok(
      c.received
        .slice(from)
        .filter((x) => x.token.equals(token))
        .every((x) => x.code === '2.04'),
    );
  });

  it('closing with a request in flight neither crashes nor answers after close', async () => {
    const s2 = await startServer();
    const c2 = await RawClient.open(s2.server.port);
    s2.hooks.ingestImpl = () => sleep(200);
    try {
      c2.send({
        type: CON,
        code: '0.02',
        mid: 1,
        token: c2.nextToken(),
        options: path(),
        payload: Buffer.from('x'),
      });
      await sleep(10);
      await s2.server.close();
      await sleep(300); // past node-coap's 50 ms piggyback timer and the slow ingest
      assert.ok(c2.received.every((m) => m.code === '0.00'));
    } finally {
      c2.close();
    }
  });

  it('counts requests and refusals', () => {
    const s = server.stats();
    assert.ok(s.requests > 20);
    assert.ok(s.refused > 10);
  });
});
