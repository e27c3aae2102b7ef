/**
 * Firmware over LwM2M, the pure parts (decision 0044): State / Update Result → job report, and the
 * Package URI links — issued, checked, altered, expired, foreign, ended.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import { fwReport, Lwm2mFirmwareUrls, type UpdateJobRecord } from '../src/index.js';

describe('LwM2M object 5 → job report', () => {
  it('maps State 1/2/3 onto downloading/downloaded/installing, 0 with no result onto nothing', () => {
    assert.equal(fwReport(1, 0)?.state, 'downloading');
    assert.equal(fwReport(2, 0)?.state, 'downloaded');
    assert.equal(fwReport(3, 0)?.state, 'installing');
    assert.equal(fwReport(0, 0), null);
    assert.equal(fwReport(undefined, undefined), null);
  });
  it('Update Result 1 is rebooting (a claim), never succeeded', () => {
    const r = fwReport(0, 1);
    assert.equal(r?.state, 'rebooting');
  });
  it('every failure result names its meaning; integrity and package type are rejections', () => {
    const want: Record<number, [string, string]> = {
      2: ['failed', 'not_enough_flash'],
      3: ['failed', 'out_of_ram'],
      4: ['failed', 'connection_lost'],
      5: ['rejected', 'integrity_check_failure'],
      6: ['rejected', 'unsupported_package_type'],
      7: ['failed', 'invalid_uri'],
      8: ['failed', 'update_failed'],
      9: ['failed', 'unsupported_protocol'],
    };
    for (const [code, [state, reason]] of Object.entries(want)) {
      // A failure result wins over whatever State the device is in.
      const r = fwReport(1, Number(code));
      assert.equal(r?.state, state, `result ${code}`);
      assert.equal(r?.reason, reason);
      assert.match(r?.message ?? '', new RegExp(`^LwM2M Update Result ${code}: `));
    }
    assert.equal(fwReport(0, 10), null, 'an unknown result is not a failure');
  });
});

describe('Package URI links', () => {
  const org = '01900000-0000-7000-8000-000000000001';
  const job = {
    id: '01900000-0000-7000-8000-0000000000aa',
    orgId: org,
    deviceId: '01900000-0000-7000-8000-0000000000d1',
    artifactId: 'art-1',
    state: 'downloading',
    deadline: Date.parse('2026-12-08T00:00:00Z'),
  } as UpdateJobRecord;
  const other = { ...job, id: '01900000-0000-7000-8000-0000000000bb', artifactId: 'art-2' };
  let now = Date.parse('2026-12-07T00:00:00Z');
  let deviceState = 'active';
  const jobs = new Map([
    [`${org}/${job.id}`, job],
    [`${org}/${other.id}`, other],
  ]);
  const urls = new Lwm2mFirmwareUrls({
    key: randomBytes(32),
    clock: { now: () => now },
    origin: () => 'https://hub.example:8443',
    storage: {
      updateJobs: { get: async (o: string, id: string) => jobs.get(`${o}/${id}`) },
      devices: {
        get: async (o: string, id: string) =>
          o === org ? { id, orgId: o, name: 'd', state: deviceState } : undefined,
      },
    } as never,
  });
  const parts = (u: string) => {
    const m =
      /^https:\/\/hub\.example:8443\/lwm2m\/firmware\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(u);
    assert.ok(m, u);
    return [m[1]!, m[2]!, m[3]!, m[4]!] as const;
  };
  const refused = async (p: Promise<unknown>, code: string, msg: RegExp) => {
    await assert.rejects(
      p,
      (e: unknown) => e instanceof BulwarkError && e.code === code && msg.test(e.message),
    );
  };

  it("opens its job's artifact for its device, an hour at most, under 255 bytes", async () => {
    const u = urls.issue(job);
    assert.ok(u.length <= 255, `${u.length} bytes`);
    const [o, j, exp, mac] = parts(u);
    assert.equal(Number(exp), now / 1000 + 3600);
    const g = await urls.resolve(o, j, exp, mac);
    assert.equal(g.artifactId, 'art-1');
    assert.equal(g.principal.kind, 'device');
    assert.equal(g.principal.id, job.deviceId);
  });
  it("never outlives the job's deadline", () => {
    const [, , exp] = parts(urls.issue({ ...job, deadline: now + 60_000 }));
    assert.equal(Number(exp), now / 1000 + 60);
  });
  it('refuses an altered MAC, another job, another organization, a later expiry', async () => {
    const [o, j, exp, mac] = parts(urls.issue(job));
    const flipped = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
    await refused(urls.resolve(o, j, exp, flipped), 'forbidden', /not valid/);
    await refused(urls.resolve(o, other.id, exp, mac), 'forbidden', /not valid/);
    await refused(
      urls.resolve('01900000-0000-7000-8000-000000000002', j, exp, mac),
      'forbidden',
      /not valid/,
    );
    await refused(urls.resolve(o, j, String(Number(exp) + 3600), mac), 'forbidden', /not valid/);
    await refused(urls.resolve(o, j, exp, 'short'), 'forbidden', /not a firmware download link/);
    await refused(urls.resolve('../etc', j, exp, mac), 'forbidden', /not a firmware download link/);
  });
  it('refuses an expired link, a link of an ended job and a device that may not take updates', async () => {
    const [o, j, exp, mac] = parts(urls.issue(job));
    now += 3600_000;
    await refused(urls.resolve(o, j, exp, mac), 'forbidden', /expired/);
    now -= 3600_000;
    jobs.set(`${org}/${job.id}`, { ...job, state: 'failed' });
    await refused(urls.resolve(o, j, exp, mac), 'not_found', /not open/);
    jobs.set(`${org}/${job.id}`, job);
    deviceState = 'decommissioned';
    await refused(urls.resolve(o, j, exp, mac), 'not_found', /may not take updates/);
    deviceState = 'quarantined'; // quarantine keeps the update plane
    assert.equal((await urls.resolve(o, j, exp, mac)).artifactId, 'art-1');
  });
});
