/** DetectStore (decision 0034): rule settings per organization, baselines per device, upserts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectBaselineRecord } from '@bulwark/core';
import { T0, seedDevice, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const baseline = (
  orgId: string,
  deviceId: string,
  key: string,
  data: string,
  updatedAt = T0,
): DetectBaselineRecord => ({ orgId, deviceId, key, data, updatedAt });

export function detectSuite(open: OpenStorage): void {
  describe('DetectStore', () => {
    const s = useStorage(open);

    it('keeps one settings row per organization and rule, replaced on change', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      assert.deepEqual(await s().detect.listRuleSettings(org.id), []);
      await s().detect.putRuleSetting({
        orgId: org.id,
        ruleId: 'message_flood',
        settings: '{"threshold":100}',
        updatedBy: 'u1',
        updatedAt: T0,
      });
      await s().detect.putRuleSetting({
        orgId: org.id,
        ruleId: 'auth_bruteforce',
        settings: '{"enabled":false}',
        updatedBy: null,
        updatedAt: T0 + 1,
      });
      await s().detect.putRuleSetting({
        orgId: org.id,
        ruleId: 'message_flood',
        settings: '{"threshold":200,"k":4}',
        updatedBy: 'u2',
        updatedAt: T0 + 2,
      });
      assert.deepEqual(await s().detect.listRuleSettings(org.id), [
        {
          orgId: org.id,
          ruleId: 'auth_bruteforce',
          settings: '{"enabled":false}',
          updatedBy: null,
          updatedAt: T0 + 1,
        },
        {
          orgId: org.id,
          ruleId: 'message_flood',
          settings: '{"threshold":200,"k":4}',
          updatedBy: 'u2',
          updatedAt: T0 + 2,
        },
      ]);
      assert.deepEqual(await s().detect.listRuleSettings(other.id), []);
    });

    it('upserts baselines per device and key, many at once, never across organizations', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const a = await seedDevice(s(), org.id);
      const b = await seedDevice(s(), org.id);
      const c = await seedDevice(s(), other.id);
      // 450 rows: more than one statement's worth.
      const many: DetectBaselineRecord[] = [];
      for (let i = 0; i < 450; i++) many.push(baseline(org.id, a.id, `k${i}`, `{"s":[${i}]}`));
      await s().detect.putBaselines(many);
      await s().detect.putBaselines([
        baseline(org.id, a.id, 'message_flood', '{"s":[1,2],"f":1}'),
        baseline(org.id, b.id, 'listening_ports', '{"p":[22],"f":1}'),
        baseline(other.id, c.id, 'message_flood', '{"s":[9],"f":1}'),
      ]);
      // Replaced in place; the same key twice in one call: the last one wins.
      await s().detect.putBaselines([
        baseline(org.id, a.id, 'message_flood', '{"s":[1,2,3],"f":1}', T0 + 5),
        baseline(org.id, a.id, 'message_flood', '{"s":[1,2,3,4],"f":1}', T0 + 6),
      ]);
      const rowsA = await s().detect.getBaselines(org.id, a.id);
      assert.equal(rowsA.length, 451);
      assert.deepEqual(
        rowsA.find((r) => r.key === 'message_flood'),
        baseline(org.id, a.id, 'message_flood', '{"s":[1,2,3,4],"f":1}', T0 + 6),
      );
      assert.equal(rowsA.find((r) => r.key === 'k449')?.data, '{"s":[449]}');
      assert.deepEqual(await s().detect.getBaselines(org.id, b.id), [
        baseline(org.id, b.id, 'listening_ports', '{"p":[22],"f":1}'),
      ]);
      // Another organization's device id under this organization reads nothing.
      assert.deepEqual(await s().detect.getBaselines(org.id, c.id), []);
      assert.equal((await s().detect.getBaselines(other.id, c.id)).length, 1);
      await s().detect.putBaselines([]);
    });
  });
}
