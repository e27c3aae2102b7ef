/**
 * The hawkBit DDI device API over real HTTPS (decision 0012): polling base, deployment base,
 * feedback driving job states, artifact download with Range and .MD5SUM, config data, and every
 * refusal (bad credentials, other controllers and tenants, bad input) changing nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { raw } from './helpers.js';
import { feedback, link, startDdiFixture, type DdiFixture } from './ddi-fixture.js';

const hash = (alg: string, b: Uint8Array) => createHash(alg).update(b).digest('hex');

describe('hawkBit DDI device API', () => {
  let f: DdiFixture;
  let dev: { id: string; key: string };
  let other: { id: string; key: string };
  const image = randomBytes(200_000);
  let artifactId: string;

  before(async () => {
    f = await startDdiFixture();
    dev = await f.device('ddi-gw');
    other = await f.device('ddi-other');
    artifactId = await f.artifact(image, 'gw-2.0.0.swu', '2.0.0', 2);
  });
  after(() => f.close());

  it('answers a poll with the interval and no deployment while there is no job', async () => {
    const r = await f.ddi(dev.id, dev.key, 'GET');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json['config'], { polling: { sleep: '00:00:02' } });
    assert.equal(link(r.json, 'deploymentBase'), undefined);
    assert.equal(link(r.json, 'cancelAction'), undefined);
    // no attributes yet: the hub asks for them
    assert.match(link(r.json, 'configData') ?? '', new RegExp(`/${dev.id}/configData$`));
  });

  it('refuses missing, wrong and foreign credentials with hawkBit-style errors', async () => {
    const none = await f.ddi(dev.id, null, 'GET');
    assert.equal(none.status, 401);
    assert.equal(none.json['code'], 'unauthenticated');
    assert.equal(typeof none.json['errorCode'], 'string');
    assert.equal(typeof none.json['message'], 'string');
    const wrong = await f.ddi(dev.id, 'not-the-key', 'GET');
    assert.equal(wrong.status, 401);
    // another device's key does not open this controller
    assert.equal((await f.ddi(dev.id, other.key, 'GET')).status, 401);
    const gw = await f.ddi(dev.id, null, 'GET', '', {
      headers: { authorization: `GatewayToken ${dev.key}` },
    });
    assert.equal(gw.status, 401);
    // the right key under another tenant: the admission rule refuses the mismatch
    const tenant = await f.ddi(dev.id, dev.key, 'GET', '', {
      tenant: '00000000-0000-7000-8000-000000000000',
    });
    assert.equal(tenant.status, 403);
    assert.equal(tenant.json['code'], 'wrong_organization');
  });

  it('authenticates a controller by its client certificate, for its own id only', async () => {
    const d = await f.t.client(f.token).devices.create({ name: 'ddi-mtls', type: 'gateway' });
    const api = f.t.client(f.token);
    const { token: enrol } = await api.devices.createEnrollmentToken(d.id, {});
    const k = await generateDeviceKeyAndCsr();
    const cert = (await f.t.client().enroll({ token: enrol, csr: k.csrPem })).certificate;
    const fetchMtls = f.t.fetchWith({ cert, key: k.keyPem });
    const own = await fetchMtls(`${f.t.url}/${f.orgId}/controller/v1/${d.id}`);
    assert.equal(own.status, 200);
    await own.arrayBuffer();
    const foreign = await fetchMtls(`${f.t.url}/${f.orgId}/controller/v1/${dev.id}`);
    assert.equal(foreign.status, 403);
    assert.equal(((await foreign.json()) as { code: string }).code, 'wrong_organization');
  });

  it('stores config data as reported attributes (merge, replace, remove) and refuses bad bodies', async () => {
    const put = (body: unknown) => f.ddi(dev.id, dev.key, 'PUT', '/configData', { body });
    const twin = async () =>
      (await raw(f.t, 'GET', `/devices/${dev.id}/twin`, undefined, f.token)).json['reported'] as {
        state: { ddi?: { attributes: Record<string, string> } };
      } | null;
    assert.equal((await put({ data: { hwRevision: '3', serial: 'A1' } })).status, 200);
    assert.equal((await put({ mode: 'merge', data: { serial: 'A2' } })).status, 200);
    assert.deepEqual((await twin())?.state.ddi?.attributes, { hwRevision: '3', serial: 'A2' });
    for (const bad of [
      { data: { n: 1 } },
      { mode: 'upsert', data: {} },
      { data: [] },
      [],
      '{"data":',
    ]) {
      const r = await put(bad);
      assert.equal(r.status, 400, `${JSON.stringify(bad)} → ${r.text}`);
    }
    assert.deepEqual((await twin())?.state.ddi?.attributes, { hwRevision: '3', serial: 'A2' });
    assert.equal((await put({ mode: 'remove', data: { serial: '' } })).status, 200);
    assert.deepEqual((await twin())?.state.ddi?.attributes, { hwRevision: '3' });
    assert.equal((await put({ mode: 'replace', data: { os: 'linux' } })).status, 200);
    assert.deepEqual((await twin())?.state.ddi?.attributes, { os: 'linux' });
    // attributes known: the poll no longer asks
    assert.equal(link((await f.ddi(dev.id, dev.key, 'GET')).json, 'configData'), undefined);
  });

  let actionId: number;
  let jobId: string;

  it('offers a deployed job as deploymentBase with the artifact, its hashes and links', async () => {
    const job = await f.deploy(dev.id, artifactId);
    jobId = job.id;
    actionId = job.actionId;
    assert.ok(Number.isSafeInteger(actionId) && actionId > 0);
    const poll = await f.ddi(dev.id, dev.key, 'GET');
    const href = link(poll.json, 'deploymentBase');
    assert.match(href ?? '', new RegExp(`/deploymentBase/${actionId}\\?c=[0-9a-f]+$`));
    const r = await f.t.fetchWith()(href!, {
      headers: { authorization: `TargetToken ${dev.key}` },
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as {
      id: string;
      deployment: {
        download: string;
        update: string;
        chunks: {
          part: string;
          version: string;
          name: string;
          artifacts: {
            filename: string;
            size: number;
            hashes: Record<string, string>;
            _links: Record<string, { href: string }>;
          }[];
        }[];
      };
    };
    assert.equal(body.id, String(actionId));
    assert.equal(body.deployment.download, 'forced');
    assert.equal(body.deployment.update, 'forced');
    const chunk = body.deployment.chunks[0]!;
    assert.equal(chunk.part, 'os');
    assert.equal(chunk.version, '2.0.0');
    const a = chunk.artifacts[0]!;
    assert.equal(a.filename, 'gw-2.0.0.swu');
    assert.equal(a.size, image.byteLength);
    assert.deepEqual(a.hashes, {
      sha1: hash('sha1', image),
      md5: hash('md5', image),
      sha256: hash('sha256', image),
    });
    assert.match(
      a._links['download']!.href,
      /\/softwaremodules\/[^/]+\/artifacts\/gw-2\.0\.0\.swu$/,
    );
    assert.equal((await f.job(jobId)).state, 'delivered');
    // another controller cannot see this action
    const foreign = await f.ddi(other.id, other.key, 'GET', `/deploymentBase/${actionId}`);
    assert.equal(foreign.status, 404);
  });

  it('serves the artifact with Range (resume, 416), HEAD and .MD5SUM', async () => {
    const base = `/softwaremodules/${artifactId}/artifacts/gw-2.0.0.swu`;
    const half = 77_777;
    const first = await f.ddi(dev.id, dev.key, 'GET', base, {
      headers: { range: `bytes=0-${half - 1}` },
    });
    assert.equal(first.status, 206);
    assert.equal(first.headers.get('content-range'), `bytes 0-${half - 1}/${image.byteLength}`);
    const rest = await f.ddi(dev.id, dev.key, 'GET', base, {
      headers: { range: `bytes=${half}-` },
    });
    assert.equal(rest.status, 206);
    assert.deepEqual(Buffer.concat([first.bytes, rest.bytes]), image);
    const full = await f.ddi(dev.id, dev.key, 'GET', base);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    assert.deepEqual(full.bytes, image);
    const past = await f.ddi(dev.id, dev.key, 'GET', base, {
      headers: { range: `bytes=${image.byteLength}-` },
    });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${image.byteLength}`);
    const head = await f.ddi(dev.id, dev.key, 'HEAD', base);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(image.byteLength));
    const md5 = await f.ddi(dev.id, dev.key, 'GET', `${base}.MD5SUM`);
    assert.equal(md5.status, 200);
    assert.equal(md5.text, `${hash('md5', image)}  gw-2.0.0.swu\n`);
    const wrongName = await f.ddi(
      dev.id,
      dev.key,
      'GET',
      `/softwaremodules/${artifactId}/artifacts/x.swu`,
    );
    assert.equal(wrongName.status, 404);
    assert.equal((await f.ddi(dev.id, null, 'GET', base)).status, 401);
  });

  it('refuses bad feedback precisely and changes nothing', async () => {
    const post = (body: unknown, id: number | string = actionId) =>
      f.ddi(dev.id, dev.key, 'POST', `/deploymentBase/${id}/feedback`, { body });
    const before = await f.job(jobId);
    const cases: [unknown, number | string, number, string][] = [
      ['{"id":', actionId, 400, 'malformed_body'],
      [{ id: actionId }, actionId, 400, 'validation_failed'],
      [{ ...feedback(actionId, 'flying') }, actionId, 400, 'validation_failed'],
      [{ ...feedback(actionId, 'closed', 'maybe') }, actionId, 400, 'validation_failed'],
      [{ ...feedback(actionId + 1, 'proceeding') }, actionId, 400, 'validation_failed'],
      [
        {
          id: actionId,
          status: { execution: 'closed', result: { finished: 'failure' }, details: [1] },
        },
        actionId,
        400,
        'validation_failed',
      ],
      [feedback(99999, 'proceeding'), 99999, 404, 'not_found'],
      [feedback(actionId, 'proceeding'), 'abc', 400, 'validation_failed'],
      [feedback(actionId, 'proceeding'), '0', 400, 'validation_failed'],
      [
        feedback(actionId, 'closed', 'failure', ['x'.repeat(300_000)]),
        actionId,
        413,
        'body_too_large',
      ],
    ];
    for (const [body, id, status, code] of cases) {
      const r = await post(body, id);
      assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)} → ${r.text}`);
      assert.equal(r.json['code'], code);
    }
    // another controller's feedback on this action
    const foreign = await f.ddi(
      other.id,
      other.key,
      'POST',
      `/deploymentBase/${actionId}/feedback`,
      {
        body: feedback(actionId, 'closed', 'success'),
      },
    );
    assert.equal(foreign.status, 404);
    assert.deepEqual(await f.job(jobId), before);
  });

  it('moves the job with the feedback sequence; a closed action stays closed', async () => {
    const post = (body: unknown) =>
      f.ddi(dev.id, dev.key, 'POST', `/deploymentBase/${actionId}/feedback`, { body });
    assert.equal((await post(feedback(actionId, 'proceeding', 'none', ['starting']))).status, 200);
    assert.equal((await f.job(jobId)).state, 'downloading');
    assert.equal((await post(feedback(actionId, 'scheduled'))).status, 200);
    assert.equal((await f.job(jobId)).state, 'downloading');
    assert.equal(
      (await post({ ...feedback(actionId, 'downloaded'), id: String(actionId) })).status,
      200,
    );
    assert.equal((await f.job(jobId)).state, 'downloaded');
    // progress the job is past: acknowledged, no step back
    assert.equal((await post(feedback(actionId, 'proceeding'))).status, 200);
    assert.equal((await f.job(jobId)).state, 'downloaded');
    assert.equal((await post(feedback(actionId, 'closed', 'success', ['installed']))).status, 200);
    const done = await f.job(jobId);
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(
      done.history.map((h) => h.state),
      ['queued', 'delivered', 'downloading', 'downloaded', 'succeeded'],
    );
    const again = await post(feedback(actionId, 'closed', 'failure'));
    assert.equal(again.status, 410);
    assert.equal(again.json['code'], 'update_action_closed');
    assert.equal((await f.job(jobId)).state, 'succeeded');
    assert.equal((await f.ddi(dev.id, dev.key, 'GET', `/deploymentBase/${actionId}`)).status, 410);
    assert.equal(link((await f.ddi(dev.id, dev.key, 'GET')).json, 'deploymentBase'), undefined);
  });

  it('records a failure with the details as its message, and a rejection', async () => {
    const a2 = await f.artifact(randomBytes(10_000), 'gw-2.1.0.swu', '2.1.0', 3);
    const j2 = await f.deploy(dev.id, a2);
    const post = (id: number, body: unknown) =>
      f.ddi(dev.id, dev.key, 'POST', `/deploymentBase/${id}/feedback`, { body });
    const r = await post(
      j2.actionId,
      feedback(j2.actionId, 'closed', 'failure', [
        'ERROR : Signature verification failed',
        'ERROR : Image invalid',
      ]),
    );
    assert.equal(r.status, 200, r.text);
    const failed = await f.job(j2.id);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.reason, 'install_failed');
    assert.match(failed.message ?? '', /Signature verification failed; ERROR : Image invalid/);
    const j3 = await f.deploy(dev.id, a2);
    assert.equal(
      (await post(j3.actionId, feedback(j3.actionId, 'rejected', 'none', ['busy']))).status,
      200,
    );
    const rejected = await f.job(j3.id);
    assert.equal(rejected.state, 'rejected');
    assert.equal(rejected.message, 'busy');
  });
});
