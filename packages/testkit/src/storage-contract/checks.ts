import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  newId,
  type FindingRecord,
  type FirmwareArtifactRecord,
  type SuppressionRecord,
} from '@bulwark/core';
import { T0, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const findingFx = (orgId: string, over: Partial<FindingRecord> = {}): FindingRecord => ({
  id: newId(),
  orgId,
  checkId: 'certificate.expiring',
  key: `certificate:${randomBytes(8).toString('hex')}`,
  severity: 'medium',
  message: 'Certificate expires soon',
  resources: [{ type: 'device', id: newId() }],
  state: 'open',
  firstSeenAt: T0,
  lastSeenAt: T0,
  resolvedAt: null,
  ...over,
});

const suppressionFx = (
  orgId: string,
  over: Partial<SuppressionRecord> = {},
): SuppressionRecord => ({
  id: newId(),
  orgId,
  checkId: 'api_key.no_expiry',
  resource: null,
  reason: 'accepted risk',
  createdBy: newId(),
  createdAt: T0,
  expiresAt: T0 + 1000,
  ...over,
});

const artifactFx = (orgId: string): FirmwareArtifactRecord => ({
  id: newId(),
  orgId,
  name: 'fw.img',
  types: ['sensor'],
  hardware: [],
  version: '1.0.0',
  releaseCounter: 1,
  length: 10,
  sha256: randomBytes(32).toString('hex'),
  metadata: '{}',
  state: 'ready',
  blobKey: 'k',
  createdBy: newId(),
  createdAt: T0,
});

/** AuditCheckStore: findings keep their identity across runs; suppressions, advisories, leases. */
export function checksSuite(open: OpenStorage): void {
  describe('AuditCheckStore', () => {
    const s = useStorage(open);

    it('records a new finding, then updates it in place on the next sighting', async () => {
      const org = await seedOrg(s());
      const f = findingFx(org.id);
      const first = await s().checks.recordFinding(f);
      assert.equal(first.opened, true);
      assert.deepEqual(first.finding, f);
      // A later run makes a new id; the stored finding keeps the first one.
      const again = await s().checks.recordFinding({
        ...f,
        id: newId(),
        severity: 'high',
        message: 'now worse',
        resources: [{ type: 'device', id: 'x' }],
        firstSeenAt: T0 + 50,
        lastSeenAt: T0 + 50,
      });
      assert.equal(again.opened, false);
      assert.equal(again.finding.id, f.id);
      assert.equal(again.finding.firstSeenAt, T0);
      assert.equal(again.finding.lastSeenAt, T0 + 50);
      assert.equal(again.finding.severity, 'high');
      assert.deepEqual(await s().checks.getFinding(org.id, f.id), again.finding);
    });

    it('resolves open findings and reopens one that comes back under its id', async () => {
      const org = await seedOrg(s());
      const a = findingFx(org.id);
      const b = findingFx(org.id);
      await s().checks.recordFinding(a);
      await s().checks.recordFinding(b);
      assert.equal(await s().checks.resolveFindings(org.id, [a.id], T0 + 10), 1);
      assert.equal(await s().checks.resolveFindings(org.id, [a.id], T0 + 11), 0);
      const open = await s().checks.listOpenFindings(org.id);
      assert.deepEqual(
        open.map((f) => f.id),
        [b.id],
      );
      const resolved = await s().checks.getFinding(org.id, a.id);
      assert.equal(resolved?.state, 'resolved');
      assert.equal(resolved?.resolvedAt, T0 + 10);
      const back = await s().checks.recordFinding({ ...a, id: newId(), lastSeenAt: T0 + 20 });
      assert.equal(back.opened, true);
      assert.equal(back.finding.id, a.id);
      assert.equal(back.finding.state, 'open');
      assert.equal(back.finding.firstSeenAt, T0 + 20);
      assert.equal(back.finding.resolvedAt, null);
    });

    it('lists newest first with filters and pages, never another organization', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const made: FindingRecord[] = [];
      for (const severity of ['low', 'high', 'high', 'critical'] as const)
        made.push(findingFx(org.id, { severity }));
      made.push(findingFx(org.id, { checkId: 'api_key.unused', severity: 'high' }));
      for (const f of made) await s().checks.recordFinding(f);
      const foreign = findingFx(other.id);
      await s().checks.recordFinding(foreign);
      const all = await s().checks.listFindings(org.id, {}, { limit: 50 });
      assert.deepEqual(
        all.items.map((f) => f.id),
        made.map((f) => f.id).reverse(),
      );
      const high = await s().checks.listFindings(org.id, { severity: 'high' }, { limit: 2 });
      assert.equal(high.items.length, 2);
      assert.ok(high.nextCursor);
      const rest = await s().checks.listFindings(
        org.id,
        { severity: 'high' },
        { limit: 2, cursor: high.nextCursor },
      );
      assert.equal(rest.items.length, 1);
      assert.equal(rest.nextCursor, null);
      const byCheck = await s().checks.listFindings(
        org.id,
        { checkId: 'api_key.unused', state: 'open' },
        { limit: 50 },
      );
      assert.deepEqual(
        byCheck.items.map((f) => f.id),
        [made[4]!.id],
      );
      assert.equal(await s().checks.getFinding(org.id, foreign.id), undefined);
      assert.equal(await s().checks.resolveFindings(org.id, [foreign.id], T0), 0);
      assert.equal((await s().checks.getFinding(other.id, foreign.id))?.state, 'open');
    });

    it('keeps suppressions until they expire, per organization', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const live = suppressionFx(org.id, { resource: 'api_key:abc', expiresAt: T0 + 100 });
      const expired = suppressionFx(org.id, { expiresAt: T0 + 5 });
      await s().checks.createSuppression(live);
      await s().checks.createSuppression(expired);
      assert.deepEqual(await s().checks.listSuppressions(org.id, T0 + 10), [live]);
      assert.deepEqual(await s().checks.listSuppressions(other.id, T0 + 10), []);
      assert.equal(await s().checks.deleteSuppression(other.id, live.id), false);
      assert.equal(await s().checks.deleteSuppression(org.id, live.id), true);
      assert.equal(await s().checks.deleteSuppression(org.id, live.id), false);
      assert.deepEqual(await s().checks.listSuppressions(org.id, T0 + 10), []);
    });

    it('sets, replaces and clears firmware advisories; they go with their artifact', async () => {
      const org = await seedOrg(s());
      const a = artifactFx(org.id);
      await s().firmware.createArtifact(a);
      const adv = {
        orgId: org.id,
        artifactId: a.id,
        status: 'withdrawn' as const,
        reason: 'bricks rev-a boards',
        setBy: 'u1',
        setAt: T0,
      };
      await s().checks.putAdvisory(adv);
      await s().checks.putAdvisory({
        ...adv,
        status: 'vulnerable',
        reason: 'CVE-2026-1',
        setAt: T0 + 1,
      });
      assert.deepEqual(await s().checks.listAdvisories(org.id), [
        { ...adv, status: 'vulnerable', reason: 'CVE-2026-1', setAt: T0 + 1 },
      ]);
      assert.equal(await s().checks.deleteAdvisory(org.id, a.id), true);
      assert.equal(await s().checks.deleteAdvisory(org.id, a.id), false);
      await s().checks.putAdvisory(adv);
      assert.equal(await s().firmware.deleteArtifact(org.id, a.id), true);
      assert.deepEqual(await s().checks.listAdvisories(org.id), []);
    });

    it('leases to one holder at a time until expiry or release', async () => {
      const name = `pass-${newId()}`;
      assert.equal(await s().checks.lease(name, 'node-a', T0, T0 + 100), true);
      assert.equal(await s().checks.lease(name, 'node-b', T0 + 50, T0 + 150), false);
      assert.equal(await s().checks.lease(name, 'node-a', T0 + 50, T0 + 150), true);
      assert.equal(await s().checks.lease(name, 'node-b', T0 + 151, T0 + 250), true);
      await s().checks.releaseLease(name, 'node-a'); // not a's any more: nothing changes
      assert.equal(await s().checks.lease(name, 'node-a', T0 + 200, T0 + 300), false);
      await s().checks.releaseLease(name, 'node-b');
      assert.equal(await s().checks.lease(name, 'node-a', T0 + 200, T0 + 300), true);
    });
  });
}
