/**
 * The firmware repository over real HTTPS (decision 0007): root push, two-step upload, a flipped
 * byte refused with nothing stored, a device resuming a download over mutual TLS with Range, 416,
 * tenancy, and curl --range interop.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { PASSWORD, raw, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { signingKeys } from './signing-fixture.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('firmware repository over HTTPS', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let token: string;
  let device: { cert: string; key: string };
  const keys = signingKeys();
  const img = randomBytes(300_000);

  const rootDoc = () => keys.root;
  const releaseDoc = (image: Uint8Array, name = 'gw-1.0.0.img') =>
    keys.release(image, { name, version: '1.0.0', releaseCounter: 1 });
  const upload = (id: string, body: Uint8Array, tok = token) =>
    t.fetchWith()(`${t.url}/api/v1/firmware/artifacts/${id}/image`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/octet-stream' },
      body,
    });
  const blobFiles = async () => {
    const dir = join(t.dir, 'blobs');
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n !== 'tmp');
    const out: string[] = [];
    for (const n of names) out.push(...(await readdir(join(dir, n))));
    return out;
  };
  let artifactId: string;

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    token = s.tokens.accessToken;
    const d = await s.api.devices.create({ name: 'gw', type: 'gateway' });
    const { token: enrol } = await s.api.devices.createEnrollmentToken(d.id, {});
    const k = await generateDeviceKeyAndCsr();
    device = {
      cert: (await t.client().enroll({ token: enrol, csr: k.csrPem })).certificate,
      key: k.keyPem,
    };
  });
  after(() => t.close());

  it('refuses a release before any root, then trusts the pushed root', async () => {
    const early = await raw(t, 'POST', '/firmware/artifacts', releaseDoc(img), token);
    assert.equal(early.json['code'], 'firmware_root_missing');
    const root = rootDoc();
    const r = await raw(t, 'POST', '/firmware/root', root, token);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json['version'], 1);
    const g = await raw(t, 'GET', '/firmware/root', undefined, token);
    assert.equal(g.status, 200);
    assert.deepEqual(g.json['root'], root);
    const byDevice = await t.fetchWith(device)(`${t.url}/api/v1/firmware/root`);
    assert.equal(byDevice.status, 200);
    assert.deepEqual(((await byDevice.json()) as { root: unknown }).root, root);
  });

  it('refuses an image with one flipped byte with the precise code and stores nothing', async () => {
    const other = randomBytes(50_000);
    const c = await raw(t, 'POST', '/firmware/artifacts', releaseDoc(other, 'x.img'), token);
    assert.equal(c.status, 201, c.text);
    const bad = Buffer.from(other);
    bad[1234] = (bad[1234] ?? 0) ^ 1;
    const res = await upload(String(c.json['id']), bad);
    const problem = (await res.json()) as { code: string };
    assert.equal(res.status >= 400, true);
    assert.equal(problem.code, 'firmware_hash_mismatch');
    assert.deepEqual(await blobFiles(), []);
    assert.deepEqual(await readdir(join(t.dir, 'blobs', 'tmp')).catch(() => []), []);
    const got = await raw(
      t,
      'GET',
      `/firmware/artifacts/${String(c.json['id'])}`,
      undefined,
      token,
    );
    assert.equal(got.json['state'], 'pending');
    assert.equal(
      (await raw(t, 'DELETE', `/firmware/artifacts/${String(c.json['id'])}`, undefined, token))
        .status,
      204,
    );
  });

  it('uploads an image in two steps (pending, then ready)', async () => {
    const c = await raw(t, 'POST', '/firmware/artifacts', releaseDoc(img), token);
    assert.equal(c.status, 201, c.text);
    assert.equal(c.json['state'], 'pending');
    artifactId = String(c.json['id']);
    const res = await upload(artifactId, img);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body['state'], 'ready');
    assert.deepEqual(await blobFiles(), [sha(img)]);
    const list = await raw(t, 'GET', '/firmware/artifacts', undefined, token);
    assert.deepEqual(
      (list.json['items'] as { id: string }[]).map((a) => a.id),
      [artifactId],
    );
  });

  it('refuses metadata or a root nested 100,000 levels deep with a precise 400, storing nothing', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const before = await raw(t, 'GET', '/firmware/artifacts', undefined, token);
    const bodies = [
      `{"signed":{"custom":${deep}},"signatures":[]}`,
      `{"signed":{},"signatures":[${deep}]}`,
    ];
    for (const body of bodies) {
      for (const path of ['/firmware/artifacts', '/firmware/root']) {
        const r = await raw(t, 'POST', path, body, token);
        assert.equal(r.status, 400, `${path}: ${r.text.slice(0, 200)}`);
        assert.equal(r.json['code'], 'json_too_deep');
        assert.equal(r.json['limit'], 32);
      }
    }
    const after = await raw(t, 'GET', '/firmware/artifacts', undefined, token);
    assert.deepEqual(after.json['items'], before.json['items']);
    const root = await raw(t, 'GET', '/firmware/root', undefined, token);
    assert.equal(root.json['version'], 1);
  });

  it('lets a device resume a download over mutual TLS with Range', async () => {
    const f = t.fetchWith(device);
    const url = `${t.url}/api/v1/firmware/artifacts/${artifactId}/image`;
    const half = 123_457;
    const first = await f(url, { headers: { range: `bytes=0-${half - 1}` } });
    assert.equal(first.status, 206);
    assert.equal(first.headers.get('content-range'), `bytes 0-${half - 1}/${img.byteLength}`);
    const a = Buffer.from(await first.arrayBuffer());
    assert.equal(a.byteLength, half);
    const rest = await f(url, { headers: { range: `bytes=${half}-` } });
    assert.equal(rest.status, 206);
    const b = Buffer.from(await rest.arrayBuffer());
    assert.equal(sha(Buffer.concat([a, b])), sha(img));
    const full = await f(url);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    assert.equal(full.headers.get('etag'), `"${sha(img)}"`);
    assert.equal(sha(Buffer.from(await full.arrayBuffer())), sha(img));
    const past = await f(url, { headers: { range: `bytes=${img.byteLength}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${img.byteLength}`);
    await past.arrayBuffer();
    // a device may not write
    const w = await f(`${t.url}/api/v1/firmware/artifacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(releaseDoc(img)),
    });
    assert.equal(w.status, 401);
    await w.arrayBuffer();
  });

  it('keeps organizations apart and needs firmware:update to write', async () => {
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const tokens = await t.client().auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: org2.id,
    });
    const other = tokens.accessToken;
    const got = await raw(t, 'GET', `/firmware/artifacts/${artifactId}`, undefined, other);
    assert.equal(got.status, 404);
    const dl = await raw(t, 'GET', `/firmware/artifacts/${artifactId}/image`, undefined, other);
    assert.equal(dl.status, 404);
    const list = await raw(t, 'GET', '/firmware/artifacts', undefined, other);
    assert.deepEqual(list.json['items'], []);
    // the API key of setupOwner lacks firmware:update
    const res = await upload(artifactId, img, s.apiKey);
    assert.equal(res.status, 403);
    await res.arrayBuffer();
  });

  it('serves curl --range', async () => {
    const { stdout } = await promisify(execFile)(
      'curl',
      [
        '-sS',
        '--fail',
        '--cacert',
        t.hub.info.caFile,
        '-H',
        `authorization: Bearer ${token}`,
        '--range',
        '100-199',
        `${t.url}/api/v1/firmware/artifacts/${artifactId}/image`,
      ],
      { encoding: 'buffer' },
    );
    assert.deepEqual(stdout, img.subarray(100, 200));
  });

  it('works through the SDK (streamed upload from chunks, ranged download)', async () => {
    const api = t.client(token);
    const image = randomBytes(70_000);
    const a = await api.firmware.create(releaseDoc(image, 'sdk.img'));
    assert.equal(a.state, 'pending');
    async function* chunks() {
      for (let i = 0; i < image.byteLength; i += 16_384) yield image.subarray(i, i + 16_384);
    }
    assert.equal((await api.firmware.uploadImage(a.id, chunks())).state, 'ready');
    assert.equal((await api.firmware.get(a.id)).sha256, sha(image));
    const d = await api.firmware.download(a.id, 'bytes=-1000');
    assert.equal(d.status, 206);
    const parts: Uint8Array[] = [];
    for await (const c of d.body ?? []) parts.push(c);
    assert.deepEqual(Buffer.concat(parts), image.subarray(image.byteLength - 1000));
    assert.equal((await api.firmware.download(a.id, 'bytes=999999-')).status, 416);
    await api.firmware.delete(a.id);
    assert.equal((await api.firmware.list()).items.length, 1);
  });
  it('never serves a stored image damaged on disk: a whole download is cut short, a range refused', async () => {
    const api = t.client(token);
    const image = randomBytes(200_000);
    const a = await api.firmware.uploadImage(
      (await api.firmware.create(releaseDoc(image, 'damaged.img'))).id,
      image,
    );
    const file = join(t.dir, 'blobs', a.sha256.slice(0, 2), a.sha256);
    const flip = async () => {
      const fh = await open(file, 'r+');
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, 150_000);
      b[0] = b[0]! ^ 0xff;
      await fh.write(b, 0, 1, 150_000);
      await fh.close();
    };
    await flip();
    const f = t.fetchWith(device);
    const url = `${t.url}/api/v1/firmware/artifacts/${a.id}/image`;
    // A whole download is hashed as it streams: the damaged bytes never complete a response.
    const whole = await f(url);
    const body = await whole.arrayBuffer().then(
      (buf) => Buffer.from(buf),
      () => undefined,
    );
    assert.ok(body === undefined || sha(body) !== sha(image), 'the damaged image was served whole');
    assert.ok(body === undefined, 'the response must be cut short, not completed');
    // Known corrupt now: a range (and a whole read) is refused before any byte.
    for (const headers of [{ range: 'bytes=0-99' }, {}] as Record<string, string>[]) {
      const res = await f(url, { headers });
      assert.equal(res.status, 500);
      assert.equal(((await res.json()) as { code: string }).code, 'firmware_image_corrupt');
    }
    const audit = await api.audit.list({ action: 'firmware.image_corrupt' });
    assert.equal(audit.items.filter((e) => e.targetId === a.id).length, 1, 'audited once');

    // Restored from a backup: served again once the minute's recheck comes round.
    await flip();
    t.clock.advance(61_000);
    const again = await f(url, { headers: { range: 'bytes=149990-150009' } });
    assert.equal(again.status, 206);
    assert.deepEqual(Buffer.from(await again.arrayBuffer()), image.subarray(149_990, 150_010));
  });

  it('checks an image before serving its first range (one never served before, cut by one byte)', async () => {
    const api = t.client(token);
    const image = randomBytes(100_000);
    const a = await api.firmware.uploadImage(
      (await api.firmware.create(releaseDoc(image, 'tail.img'))).id,
      image,
    );
    await truncate(join(t.dir, 'blobs', a.sha256.slice(0, 2), a.sha256), 99_999);
    const res = await t.fetchWith(device)(`${t.url}/api/v1/firmware/artifacts/${a.id}/image`, {
      headers: { range: 'bytes=0-99' },
    });
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as { code: string }).code, 'firmware_image_corrupt');
  });
});
