/**
 * Firmware over LwM2M at the hub (decision 0044), against a scripted client on raw UDP: the server
 * writes the Package URI, the client downloads the image over HTTPS with Range from it and checks
 * it, reports State 1 → 2, the server executes Update, the client reports 3 → 0 with Update Result 1
 * and its new Firmware Version → the job succeeds. Update Result failures, a device still on its
 * old version after "success", a job waiting for its device's Register, a rollout, and the download
 * link's refusals (altered, another job's, another organization's, an ended job). Waits bounded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { UpdateJobRecord } from '@bulwark/core';
import { PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { ScriptClient } from './lwm2m-script-client.js';
import { firmwarePublisher } from './rollout-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Polls `fn` until it returns a value, at most `ms`. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end && i < 500; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe(
  'firmware over LwM2M (scripted client, HTTPS download with Range)',
  { timeout: 120_000 },
  () => {
    let t: TestHub;
    let s: Awaited<ReturnType<typeof setupOwner>>;
    let port: number;
    let pub: Awaited<ReturnType<typeof firmwarePublisher>>;
    let v2: { id: string; sha256: string };
    const clients: ScriptClient[] = [];
    let get: typeof fetch;

    const job = async (id: string): Promise<UpdateJobRecord> => {
      const j = await t.hub.storage.updateJobs.get(s.orgId, id);
      assert.ok(j);
      return j;
    };
    const ended = (id: string) =>
      until(`job ${id} to end`, async () => {
        const j = await job(id);
        return ['succeeded', 'failed', 'rejected', 'canceled', 'timed_out'].includes(j.state)
          ? j
          : undefined;
      });

    /** A device with the lwm2m tag and its scripted client (not yet registered). */
    async function device(name: string, version = '1.0.0', orgApi = s.owner) {
      const d = await orgApi.devices.create({ name, type: 'meter', tags: ['lwm2m'] });
      const c = new ScriptClient(port, d.id, {
        '/3/0/0': 'Bulwark test',
        '/3/0/3': version,
        '/5/0/1': '',
        '/5/0/3': 0,
        '/5/0/5': 0,
      });
      await c.open();
      clients.push(c);
      return { id: d.id, c };
    }

    /** Downloads in two ranges (resume), checking 206 and Content-Range. */
    async function download(uri: string): Promise<Buffer> {
      const head = await get(uri, { method: 'HEAD' });
      assert.equal(head.status, 200);
      const len = Number(head.headers.get('content-length'));
      const half = Math.floor(len / 2);
      const a = await get(uri, { headers: { range: `bytes=0-${half - 1}` } });
      assert.equal(a.status, 206);
      assert.equal(a.headers.get('content-range'), `bytes 0-${half - 1}/${len}`);
      const b = await get(uri, { headers: { range: `bytes=${half}-` } });
      assert.equal(b.status, 206);
      return Buffer.concat([
        Buffer.from(await a.arrayBuffer()),
        Buffer.from(await b.arrayBuffer()),
      ]);
    }

    /**
     * The client's script: on a Package URI, State 1, download, check the SHA-256 (`expect`), State 2
     * (or State 0 with Update Result 5); on Update, State 3, then `runs` as its version, State 0 with
     * Update Result 1, and a registration Update (as after a restart).
     */
    function script(c: ScriptClient, expect: string, runs: string, uris: string[] = []) {
      c.onWrite = (path, uri) => {
        if (path !== '/5/0/1' || uri === '') return;
        uris.push(uri);
        void (async () => {
          c.set('/5/0/5', 0);
          c.set('/5/0/3', 1);
          const img = await download(uri);
          if (sha256(img) !== expect) {
            c.set('/5/0/3', 0);
            c.set('/5/0/5', 5);
            return;
          }
          c.set('/5/0/3', 2);
        })();
      };
      c.onExecute = (path) => {
        if (path !== '/5/0/2' || c.values.get('/5/0/3') !== 2) return '4.00';
        setTimeout(() => {
          void (async () => {
            c.set('/5/0/3', 3);
            await sleep(200);
            c.values.set('/3/0/3', runs);
            c.set('/5/0/5', 1);
            c.set('/5/0/3', 0);
            await sleep(300);
            await c.update();
          })();
        }, 50);
        return '2.04';
      };
    }

    before(async () => {
      t = await startTestHub(['--lwm2m-port', '0']);
      s = await setupOwner(t);
      port = t.hub.info.lwm2mPort!;
      get = t.fetchWith();
      pub = await firmwarePublisher(s.owner);
      const a = await pub.publish('2.0.0', ['meter'], 2);
      v2 = { id: a.id, sha256: a.sha256 };
    });
    after(async () => {
      for (const c of clients) c.close();
      await t.close();
    });

    it('queues while unregistered; at Register: URI written, downloaded with Range, Update executed, new version → succeeded', async () => {
      const { id, c } = await device('m-ok');
      const uris: string[] = [];
      script(c, v2.sha256, '2.0.0', uris);
      const j0 = await s.owner.updates.deploy(id, v2.id);
      await sleep(600);
      assert.equal(
        (await job(j0.id)).state,
        'queued',
        'nothing happens before the device registers',
      );
      assert.equal(await c.register(), '2.01');
      const j = await ended(j0.id);
      const first = c.seen.indexOf('GET /3/0/3');
      assert.ok(first >= 0 && first < c.seen.indexOf('PUT /5/0/1'), 'version read at Register');
      assert.equal(j.state, 'succeeded', JSON.stringify(j.history));
      assert.deepEqual(
        j.history.filter((h) => !h.event).map((h) => h.state),
        [
          'queued',
          'delivered',
          'downloading',
          'downloaded',
          'installing',
          'rebooting',
          'succeeded',
        ],
      );
      assert.match(j.history.at(-1)!.message ?? '', /runs 2\.0\.0/);
      // The server's sequence on the wire.
      const order = [
        'PUT /5/0/1',
        'GET /5/0/3 observe',
        'GET /5/0/5 observe',
        'POST /5/0/2',
        'GET /3/0/3',
      ];
      const at = order.map((x) => c.seen.lastIndexOf(x));
      assert.ok(
        at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!)),
        c.seen.join(', '),
      );
      assert.equal(uris.length, 1);
      assert.ok(uris[0]!.startsWith(`${t.url}/lwm2m/firmware/${s.orgId}/${j0.id}/`), uris[0]);
      assert.equal((await s.api.devices.get(id)).firmwareVersion, '2.0.0');
      // The link dies with the job.
      const gone = await get(uris[0]!);
      assert.equal(gone.status, 404);
      await gone.arrayBuffer();
    });

    it('a device that restarts mid-download (Idle at its Register) gets a fresh link and finishes', async () => {
      const { id, c } = await device('m-restart');
      const first: string[] = [];
      c.onWrite = (path, uri) => {
        if (path === '/5/0/1' && uri !== '') {
          first.push(uri);
          c.set('/5/0/3', 1); // starts, then "loses power"
        }
      };
      assert.equal(await c.register(), '2.01');
      const j0 = await s.owner.updates.deploy(id, v2.id);
      await until('downloading', async () =>
        (await job(j0.id)).state === 'downloading' ? true : undefined,
      );
      // Back from the restart: Idle, no result, a new registration.
      const uris: string[] = [];
      script(c, v2.sha256, '2.0.0', uris);
      c.values.set('/5/0/3', 0);
      t.clock.advance(10_000);
      assert.equal(await c.register(), '2.01');
      const j = await ended(j0.id);
      assert.equal(j.state, 'succeeded', JSON.stringify(j.history));
      assert.equal(first.length, 1);
      assert.equal(uris.length, 1);
      assert.notEqual(uris[0], first[0], 'a fresh link (a later expiry)');
    });

    it('Update Result failures fail the job with their meaning (5 integrity, 7 invalid URI, 9 protocol)', async () => {
      // 5: the client's integrity check fails (it expects another image).
      const bad = await device('m-integrity');
      script(bad.c, '00'.repeat(32), '2.0.0');
      assert.equal(await bad.c.register(), '2.01');
      const j5 = await ended((await s.owner.updates.deploy(bad.id, v2.id)).id);
      assert.equal(j5.state, 'rejected');
      assert.equal(j5.reason, 'integrity_check_failure');
      assert.match(j5.message ?? '', /Update Result 5: the integrity check/);
      for (const [code, reason] of [
        [7, 'invalid_uri'],
        [9, 'unsupported_protocol'],
      ] as const) {
        const d = await device(`m-r${code}`);
        d.c.onWrite = (path, uri) => {
          if (path === '/5/0/1' && uri !== '') setTimeout(() => d.c.set('/5/0/5', code), 50);
        };
        assert.equal(await d.c.register(), '2.01');
        const j = await ended((await s.owner.updates.deploy(d.id, v2.id)).id);
        assert.equal(j.state, 'failed');
        assert.equal(j.reason, reason);
        assert.match(j.message ?? '', new RegExp(`^LwM2M Update Result ${code}: `));
        assert.ok(!d.c.seen.includes('POST /5/0/2'), 'no Update after a failure');
      }
    });

    it('a device that claims success but still reports its old version fails the job (version_mismatch)', async () => {
      const { id, c } = await device('m-liar');
      script(c, v2.sha256, '1.0.0');
      assert.equal(await c.register(), '2.01');
      const j = await ended((await s.owner.updates.deploy(id, v2.id)).id);
      assert.equal(j.state, 'failed');
      assert.equal(j.reason, 'version_mismatch');
      assert.match(j.message ?? '', /"1\.0\.0".*not 2\.0\.0/);
      assert.ok(
        j.history.some((h) => h.state === 'rebooting'),
        'Update Result 1 was heard',
      );
      assert.notEqual((await s.api.devices.get(id)).firmwareVersion, '2.0.0');
    });

    it('a rollout targets LwM2M devices through the same jobs', async () => {
      const { id, c } = await device('m-rollout');
      script(c, v2.sha256, '2.0.0');
      assert.equal(await c.register(), '2.01');
      // A device already on 2.0.0 (its /3/0/3 at Register) is current: no job.
      const cur = await device('m-current', '2.0.0');
      assert.equal(await cur.c.register(), '2.01');
      await until('its version recorded', async () =>
        (await s.owner.devices.get(cur.id)).firmwareVersion === '2.0.0' ? true : undefined,
      );
      const r = await s.owner.rollouts.create({
        artifactId: v2.id,
        target: { deviceIds: [id, cur.id] },
      });
      const jobId = await until('the rollout job', async () => {
        const l = await s.owner.updates.list({ deviceId: id });
        return l.items[0]?.id;
      });
      assert.equal((await ended(jobId)).state, 'succeeded');
      await until('the rollout to complete', async () =>
        (await s.owner.rollouts.get(r.id)).state === 'completed' ? true : undefined,
      );
      assert.equal((await s.owner.updates.list({ deviceId: cur.id })).items.length, 0);
      assert.ok(!cur.c.seen.includes('PUT /5/0/1'));
    });

    it("refuses an altered link, another job's, another organization's; honours Range (416) and HEAD", async () => {
      // A device that takes the URI and never downloads: its job stays open, its link valid.
      const { id, c } = await device('m-link');
      const uris: string[] = [];
      c.onWrite = (path, uri) => {
        if (path === '/5/0/1' && uri !== '') uris.push(uri);
      };
      assert.equal(await c.register(), '2.01');
      const j = await s.owner.updates.deploy(id, v2.id);
      const uri = await until('the Package URI', async () => uris[0]);
      const ok = await get(uri, { headers: { range: 'bytes=0-9' } });
      assert.equal(ok.status, 206);
      assert.equal((await ok.arrayBuffer()).byteLength, 10);
      const past = await get(uri, { headers: { range: 'bytes=999999-' } });
      assert.equal(past.status, 416);
      await past.arrayBuffer();

      // Another organization with its own LwM2M device, artifact and job: its valid link opens
      // only its own job; spliced with this organization's names it is refused.
      const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
      const login = await t
        .client()
        .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id });
      const api2 = t.client(login.accessToken);
      const pub2 = await firmwarePublisher(api2);
      const a2 = await pub2.publish('2.0.0', ['meter'], 2);
      const d2 = await device('theirs', '1.0.0', api2);
      const uris2: string[] = [];
      d2.c.onWrite = (path, u) => {
        if (path === '/5/0/1' && u !== '') uris2.push(u);
      };
      assert.equal(await d2.c.register(), '2.01');
      const j2 = await api2.updates.deploy(d2.id, a2.id);
      const theirs = await until('their Package URI', async () => uris2[0]);
      assert.ok(theirs.includes(`/${org2.id}/${j2.id}/`));
      const [, , , , , org, jobId, exp, mac] = theirs.split('/');
      const mine = uri.split('/');
      const tries = {
        'their MAC on our job': `${t.url}/lwm2m/firmware/${s.orgId}/${j.id}/${exp}/${mac}`,
        'their job under our organization': `${t.url}/lwm2m/firmware/${s.orgId}/${jobId}/${exp}/${mac}`,
        'our job under their organization': `${t.url}/lwm2m/firmware/${org}/${j.id}/${mine[7]}/${mine[8]}`,
        'an altered MAC': `${uri.slice(0, -1)}${uri.endsWith('A') ? 'B' : 'A'}`,
        'a later expiry': `${t.url}/lwm2m/firmware/${s.orgId}/${j.id}/${Number(mine[7]) + 60}/${mine[8]}`,
      };
      for (const [what, u] of Object.entries(tries)) {
        const r = await get(u);
        assert.equal(r.status, 403, what);
        assert.equal(((await r.json()) as { code: string }).code, 'forbidden', what);
      }
      // An hour later (the hub's clock) the link has expired.
      t.clock.advance(3601_000);
      const late = await get(uri);
      assert.equal(late.status, 403);
      assert.match(((await late.json()) as { detail: string }).detail, /expired/);
      t.clock.t -= 3601_000;
      const own = await get(theirs, { headers: { range: 'bytes=0-3' } });
      assert.equal(own.status, 206, 'their link opens their image');
      await own.arrayBuffer();

      // Canceled (the device confirms by clearing the URI), the link is dead.
      await s.owner.updates.cancel(j.id);
      const c1 = await until('the cancel', async () => {
        const x = await job(j.id);
        return x.state === 'canceled' ? x : undefined;
      });
      assert.equal(c.values.get('/5/0/1'), '', 'the Package URI was cleared');
      assert.equal(c1.reason, 'canceled');
      const dead = await get(uri);
      assert.equal(dead.status, 404);
      await dead.arrayBuffer();
    });
  },
);
