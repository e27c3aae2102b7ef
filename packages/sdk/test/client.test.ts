import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BulwarkError, type DeviceView } from '@bulwark/protocol';
import { ApiError, createClient, fillPath, toQueryString } from '@bulwark/sdk';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
interface Reply {
  status: number;
  type?: string;
  body?: string;
}

/** A real HTTP server that records each request and answers from a queue of canned replies. */
function fakeHub() {
  const seen: Seen[] = [];
  const replies: Reply[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const r = replies.shift() ?? { status: 500, body: 'no canned reply' };
      res.writeHead(r.status, r.type === undefined ? {} : { 'content-type': r.type });
      res.end(r.body);
    });
  });
  return {
    seen,
    reply: (r: Reply) => replies.push(r),
    json: (status: number, value: unknown) =>
      replies.push({ status, type: 'application/json', body: JSON.stringify(value) }),
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    last: () => {
      const s = seen.at(-1);
      assert.ok(s, 'the server saw a request');
      return s;
    },
  };
}

const ID = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e';
const device: DeviceView = {
  id: ID,
  name: 'pump-1',
  type: 'pump',
  firmwareType: null,
  firmwareVersion: null,
  tags: ['north'],
  mode: 'autonomous',
  state: 'provisioned',
  locationId: null,
  lastSeenAt: null,
  createdAt: '2025-01-02T03:04:05.678Z',
  updatedAt: '2025-01-02T03:04:05.678Z',
};

describe('sdk client', () => {
  const hub = fakeHub();
  let baseUrl = '';
  before(async () => {
    baseUrl = await hub.start();
  });
  after(() => hub.stop());

  test('sends the bearer token and parses a JSON response', async () => {
    const client = createClient({ baseUrl: `${baseUrl}/`, token: 'bwk_secret' });
    hub.json(200, device);
    const got = await client.devices.get(ID);
    assert.deepEqual(got, device);
    const req = hub.last();
    assert.equal(req.method, 'GET');
    assert.equal(req.url, `/api/v1/devices/${ID}`);
    assert.equal(req.headers.authorization, 'Bearer bwk_secret');
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.headers['content-type'], undefined, 'no body, no content type');
  });

  test('serializes the query, repeating array keys and skipping undefined', async () => {
    const client = createClient({ baseUrl });
    hub.json(200, { items: [device], nextCursor: null });
    const page = await client.devices.list({
      tag: ['a', 'b'],
      state: 'active',
      limit: 10,
      q: undefined,
    });
    assert.equal(page.items[0]?.name, 'pump-1');
    assert.equal(hub.last().url, '/api/v1/devices?tag=a&tag=b&state=active&limit=10');
    assert.equal(hub.last().headers.authorization, undefined, 'no token, no header');
  });

  test('sends a JSON body with its content type', async () => {
    const client = createClient({ baseUrl, token: 't', headers: { 'x-request-id': 'r1' } });
    hub.json(201, device);
    await client.devices.create({ name: 'pump-1', type: 'pump', tags: ['north'] });
    const req = hub.last();
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/api/v1/devices');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['x-request-id'], 'r1');
    assert.deepEqual(JSON.parse(req.body), { name: 'pump-1', type: 'pump', tags: ['north'] });
  });

  test('URI-encodes path parameters and sends {} for empty-body routes', async () => {
    const client = createClient({ baseUrl });
    hub.json(200, { ...device, state: 'decommissioned' });
    await client.devices.decommission('a/b?c');
    assert.equal(hub.last().url, '/api/v1/devices/a%2Fb%3Fc/decommission');
    assert.equal(hub.last().body, '{}');
    hub.json(200, {});
    await client.devices.revokeCertificate(ID, 'ab12', 'keyCompromise');
    assert.equal(hub.last().url, `/api/v1/devices/${ID}/certificates/ab12/revoke`);
    assert.deepEqual(JSON.parse(hub.last().body), { reason: 'keyCompromise' });
  });

  test('a 204 resolves to undefined', async () => {
    const client = createClient({ baseUrl, token: 't' });
    hub.reply({ status: 204 });
    assert.equal(await client.apiKeys.revoke(ID), undefined);
    assert.equal(hub.last().method, 'DELETE');
    assert.equal(hub.last().url, `/api/v1/api-keys/${ID}`);
    hub.reply({ status: 204 });
    assert.equal(await client.auth.logout('rt'), undefined);
    assert.deepEqual(JSON.parse(hub.last().body), { refreshToken: 'rt' });
  });

  test('a non-JSON route resolves to its text', async () => {
    const pem = '-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n';
    const client = createClient({ baseUrl });
    hub.reply({ status: 200, type: 'application/x-pem-file', body: pem });
    assert.equal(await client.pki.crl(ID), pem);
    assert.equal(hub.last().url, `/api/v1/orgs/${ID}/crl`);
    assert.equal(hub.last().headers.accept, 'application/x-pem-file');
  });

  test('a problem+json response throws ApiError with its code, status and detail', async () => {
    const client = createClient({ baseUrl, token: 't' });
    hub.reply({
      status: 409,
      type: 'application/problem+json',
      body: JSON.stringify({
        type: 'urn:bulwark:problem:device_name_taken',
        title: 'A device with this name already exists',
        status: 409,
        detail: "a device named 'pump-1' already exists",
        code: 'device_name_taken',
      }),
    });
    const err = await client.devices
      .create({ name: 'pump-1', type: 'pump' })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.ok(err instanceof BulwarkError);
    assert.equal(err.status, 409);
    assert.equal(err.code, 'device_name_taken');
    assert.equal(err.kind, 'conflict');
    assert.equal(err.message, "a device named 'pump-1' already exists");
    assert.equal(err.problem.detail, "a device named 'pump-1' already exists");
  });

  test('an unknown code or a non-JSON error body becomes internal_error', async () => {
    const client = createClient({ baseUrl });
    hub.reply({
      status: 418,
      type: 'application/problem+json',
      body: JSON.stringify({ status: 418, detail: 'teapot', code: 'from_the_future' }),
    });
    const a = await client.me().catch((e: unknown) => e);
    assert.ok(a instanceof ApiError);
    assert.equal(a.code, 'internal_error');
    assert.equal(a.status, 418);
    assert.equal(a.message, 'teapot');

    hub.reply({ status: 502, type: 'text/html', body: '<h1>Bad Gateway</h1>' });
    const b = await client.me().catch((e: unknown) => e);
    assert.ok(b instanceof ApiError);
    assert.equal(b.code, 'internal_error');
    assert.equal(b.status, 502);
    assert.equal(b.problem.detail, '<h1>Bad Gateway</h1>');
  });

  test('a hub that cannot be reached is a BulwarkError unavailable', async () => {
    const dead = createServer();
    const url = await new Promise<string>((resolve) =>
      dead.listen(0, '127.0.0.1', () =>
        resolve(`http://127.0.0.1:${(dead.address() as AddressInfo).port}`),
      ),
    );
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const err = await createClient({ baseUrl: url })
      .setup.status()
      .catch((e: unknown) => e);
    assert.ok(err instanceof BulwarkError);
    assert.ok(!(err instanceof ApiError));
    assert.equal(err.code, 'unavailable');
    assert.match(err.message, /cannot reach .*ECONNREFUSED/);
  });

  test('the injected fetch is used', async () => {
    const urls: string[] = [];
    const client = createClient({
      baseUrl: 'https://hub.example',
      fetch: async (input) => {
        urls.push(
          typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
        );
        return new Response(JSON.stringify({ required: true }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      },
    });
    assert.deepEqual(await client.setup.status(), { required: true });
    assert.deepEqual(urls, ['https://hub.example/api/v1/setup']);
  });

  test('all() follows nextCursor until it is null', async () => {
    const client = createClient({ baseUrl, token: 't' });
    hub.json(200, { items: [device, { ...device, name: 'pump-2' }], nextCursor: 'c1' });
    hub.json(200, { items: [{ ...device, name: 'pump-3' }], nextCursor: 'c 2' });
    hub.json(200, { items: [], nextCursor: null });
    const before = hub.seen.length;
    const names: string[] = [];
    for await (const d of client.devices.all({ type: 'pump', limit: 2 })) names.push(d.name);
    assert.deepEqual(names, ['pump-1', 'pump-2', 'pump-3']);
    assert.deepEqual(
      hub.seen.slice(before).map((s) => s.url),
      [
        '/api/v1/devices?type=pump&limit=2',
        '/api/v1/devices?type=pump&limit=2&cursor=c1',
        '/api/v1/devices?type=pump&limit=2&cursor=c+2',
      ],
    );
  });

  test('audit.all() pages through audit events', async () => {
    const client = createClient({ baseUrl, token: 't' });
    const ev = { seq: 1, action: 'device.create' };
    hub.json(200, { items: [ev], nextCursor: 'x' });
    hub.json(200, { items: [{ ...ev, seq: 2 }], nextCursor: null });
    const seqs: number[] = [];
    for await (const e of client.audit.all({ action: 'device.create' })) seqs.push(e.seq);
    assert.deepEqual(seqs, [1, 2]);
    assert.equal(hub.last().url, '/api/v1/audit?action=device.create&cursor=x');
  });

  test('call() is typed by operation id', async () => {
    const client = createClient({ baseUrl, token: 't' });
    hub.json(200, [{ id: ID }]);
    const keys = await client.call('listDeviceKeys', { params: { id: ID } });
    assert.equal(keys[0]?.id, ID);
    // Compile-time checks: required input, and no stray members.
    // @ts-expect-error getDevice needs params
    const missing = () => client.call('getDevice');
    // @ts-expect-error listDevices has no body
    const wrong = () => client.devices.list({ state: 'sleeping' });
    assert.equal(typeof missing, 'function');
    assert.equal(typeof wrong, 'function');
  });
});

describe('request building', () => {
  test('fillPath rejects a missing parameter', () => {
    assert.throws(() => fillPath('/devices/:id', {}), /missing path parameter 'id'/);
    assert.equal(
      fillPath('/devices/:id/keys/:keyId', { id: 'a b', keyId: 'k' }),
      '/devices/a%20b/keys/k',
    );
  });
  test('toQueryString is empty for an empty query', () => {
    assert.equal(toQueryString({}), '');
    assert.equal(toQueryString({ a: [], b: undefined }), '');
    assert.equal(toQueryString({ limit: 5, on: true }), '?limit=5&on=true');
  });
});
