/**
 * Rules on telemetry through core's services on real stores — SQLite in a temp dir — without the
 * network (decision 0035): the limit per organization, a change checked as a whole, the test
 * endpoint's refusals, scopes by location subtree and tag (the device cache), the origin rule,
 * and an action that fails being audited as a failure without stopping the next.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AlertService,
  AuditService,
  CommandService,
  DeviceService,
  LocationService,
  ManagementSignals,
  RuleActions,
  RuleEngine,
  RuleService,
  TwinService,
  newId,
  type Device,
  type Envelope,
  type Organization,
  type Storage,
} from '@bulwark/core';
import { BulwarkError, type CreateRuleRequest } from '@bulwark/protocol';
import { parseSenml } from '@bulwark/senml';
import { openSqliteStorage } from '@bulwark/store-sqlite';
import { T0, channelFx, deviceFx, locationFx, orgFx } from '@bulwark/testkit';

const NODE = 'node-a';

describe('rules on telemetry through the services, on SQLite', () => {
  let dir: string;
  let storage: Storage;
  let org: Organization;
  let now = T0;
  const clock = { now: () => now };
  let rules: RuleService;
  let engine: RuleEngine;
  let channelId: string;

  const make = (maxPerOrg?: number) => {
    const locations = new LocationService({ storage, clock });
    const devices = new DeviceService({ storage, clock, locations });
    const audit = new AuditService({ store: storage.audit, clock, key: new Uint8Array(32) });
    const signals = new ManagementSignals();
    engine = new RuleEngine({
      store: storage.rules,
      storage,
      clock,
      nodeId: NODE,
      actions: new RuleActions({
        alerts: new AlertService({ storage, clock }),
        commands: new CommandService({ storage, clock, devices, signals }),
        twins: new TwinService({ storage, clock, devices, audit, signals }),
        audit,
        clock,
      }),
    });
    rules = new RuleService({
      storage,
      clock,
      parseSenml: (payload, at) => parseSenml('application/senml+json', payload, { now: at }),
      onChange: (orgId) => engine.reloadOrg(orgId),
      ...(maxPerOrg === undefined ? {} : { maxPerOrg }),
    });
  };
  const refused = async (p: Promise<unknown>, code: string, field?: string) => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof BulwarkError, String(e));
      assert.equal(e.code, code);
      if (field !== undefined) assert.equal(e.extra['field'], field);
      return true;
    });
  };
  const hot = (over: Partial<CreateRuleRequest> = {}): CreateRuleRequest => ({
    name: 'hot',
    record: 'temp',
    condition: { op: 'gt', value: 80 },
    actions: [{ type: 'alert' }],
    ...over,
  });
  const device = async (over: Partial<Device> = {}) => {
    const d = deviceFx(org.id, { state: 'active', ...over });
    await storage.devices.create(d);
    return d;
  };
  const envelope = (deviceId: string, v: number, over: Partial<Envelope> = {}): Envelope => ({
    id: newId(now),
    orgId: org.id,
    channelId,
    subtopic: '',
    publisher: { type: 'device', id: deviceId },
    protocol: 'mqtt',
    contentType: 'application/senml+json',
    receivedAt: now,
    payload: new Uint8Array(),
    senml: [{ n: 'temp', v, t: now / 1000 }],
    origin: NODE,
    ...over,
  });
  const deliver = async (env: Envelope) => {
    await engine.handle(env);
  };
  const audited = async (action: string) =>
    (await storage.audit.list(org.id, { action }, { limit: 50, cursor: null })).items;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-rules-'));
    storage = await openSqliteStorage({ path: join(dir, 'hub.db') });
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    now = T0;
    org = orgFx();
    await storage.organizations.create(org);
    const ch = channelFx(org.id);
    await storage.channels.create(ch);
    channelId = ch.id;
    make();
    await engine.start();
  });

  it('refuses a rule past the limit per organization, with the limit', async () => {
    make(2);
    await rules.create(org.id, null, hot());
    await rules.create(org.id, null, hot());
    await assert.rejects(rules.create(org.id, null, hot()), (e: unknown) => {
      assert.ok(e instanceof BulwarkError);
      assert.equal(e.code, 'rule_limit');
      assert.equal(e.extra['limit'], 2);
      assert.match(e.message, /at most 2 rules/);
      return true;
    });
    assert.equal(await storage.rules.count(org.id), 2);
  });

  it('checks a change as a whole and leaves the rule as it was when refused', async () => {
    const r = await rules.create(org.id, null, hot());
    await refused(
      rules.update(org.id, r.id, { condition: { op: 'between', min: 1 } }),
      'rule_invalid',
      'condition.max',
    );
    const other = orgFx();
    await storage.organizations.create(other);
    const foreign = locationFx(other.id);
    await storage.locations.create(foreign);
    await refused(
      rules.update(org.id, r.id, { scope: { location: foreign.id } }),
      'rule_invalid',
      'scope.location',
    );
    assert.deepEqual(await rules.get(org.id, r.id), r);
    await refused(rules.update(other.id, r.id, { name: 'x' }), 'not_found');
  });

  it('the test call wants exactly one of a stored rule and a draft', async () => {
    const r = await rules.create(org.id, null, hot());
    const senml = [{ n: 'temp', v: 90 }];
    await refused(rules.test(org.id, { senml }), 'rule_invalid', 'rule');
    await refused(
      rules.test(org.id, { senml, ruleId: r.id, rule: hot() }),
      'rule_invalid',
      'ruleId',
    );
    await refused(rules.test(org.id, { senml: [{ n: 5 }] }), 'rule_invalid', 'rule');
    await refused(rules.test(org.id, { senml: [{ n: 5 }], ruleId: r.id }), 'senml_invalid');
    const other = orgFx();
    await storage.organizations.create(other);
    await refused(rules.test(other.id, { senml, ruleId: r.id }), 'not_found');
  });

  it('a location scope takes the subtree; a tag scope the tag; others are not touched', async () => {
    const site = locationFx(org.id);
    const room = locationFx(org.id, { parentId: site.id, kind: 'building' });
    const elsewhere = locationFx(org.id);
    for (const l of [site, room, elsewhere]) await storage.locations.create(l);
    const inRoom = await device({ locationId: room.id, tags: [] });
    const outside = await device({ locationId: elsewhere.id, tags: ['boiler'] });
    const nowhere = await device({ locationId: null, tags: [] });
    await rules.create(org.id, null, hot({ name: 'site', scope: { location: site.id } }));
    await rules.create(org.id, null, hot({ name: 'tag', scope: { tag: 'boiler' } }));
    for (const d of [inRoom, outside, nowhere]) await deliver(envelope(d.id, 95));
    const fired = (await audited('rule.alert')).map((e) => [e.targetId, e.detail]);
    assert.deepEqual(
      fired.map(([id]) => id).sort(),
      [inRoom.id, outside.id].sort(),
      'the room is under the site; the tag matches outside',
    );
    // Cached now: the next decision is synchronous (no promise) while nothing is due.
    assert.equal(engine.handle(envelope(inRoom.id, 96)), undefined);
  });

  it('evaluates only envelopes this node accepted', async () => {
    const d = await device();
    await rules.create(org.id, null, hot());
    await deliver(envelope(d.id, 95, { origin: 'node-b' }));
    assert.equal(engine.stats.matched, 0);
    await deliver(envelope(d.id, 95));
    assert.equal(engine.stats.fired, 1);
  });

  it('an action that fails is audited as a failure and the next still runs', async () => {
    const d = await device({ state: 'decommissioned' });
    await rules.create(
      org.id,
      null,
      hot({
        actions: [{ type: 'command', name: 'fan.on' }, { type: 'alert' }],
      }),
    );
    await deliver(envelope(d.id, 95));
    const [cmd] = await audited('rule.command');
    assert.equal(cmd?.result, 'failure');
    assert.match(cmd?.detail ?? '', /device_decommissioned/);
    const [alert] = await audited('rule.alert');
    assert.equal(alert?.result, 'success');
  });
});
