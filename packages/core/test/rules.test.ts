/**
 * Rules on telemetry (decision 0035), without I/O: conditions, the (rule, device) state machine
 * with durations on a fake clock, re-arming, the index, and the meaning checks that refuse a bad
 * rule with the field named.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError, type RuleCondition } from '@bulwark/protocol';
import {
  RuleEvaluator,
  checkRuleDefinition,
  compileCondition,
  describeCondition,
  newId,
  twinPatchFor,
  type Envelope,
  type RuleDefinition,
  type RuleRecord,
  type SenmlRecord,
} from '@bulwark/core';

const ORG = newId();
const OTHER_ORG = newId();
const CHANNEL = newId();
const DEVICE = newId();

const rule = (over: Partial<RuleRecord> = {}): RuleRecord => ({
  id: newId(),
  orgId: ORG,
  name: 'hot',
  description: '',
  enabled: true,
  record: 'temp',
  condition: { op: 'gt', value: 80 },
  forSeconds: 60,
  scope: {},
  actions: [{ type: 'alert' }],
  createdBy: null,
  createdAt: 0,
  updatedAt: 0,
  ...over,
});

const env = (records: Array<Partial<SenmlRecord>>, over: Partial<Envelope> = {}): Envelope => ({
  id: newId(),
  orgId: ORG,
  channelId: CHANNEL,
  subtopic: '',
  publisher: { type: 'device', id: DEVICE },
  protocol: 'mqtt',
  contentType: 'application/senml+json',
  receivedAt: 0,
  payload: new Uint8Array(),
  senml: records.map((r) => ({ n: 'temp', t: 0, ...r })),
  origin: 'node',
  ...over,
});

describe('rule conditions', () => {
  const cases: Array<[RuleCondition, unknown, boolean | undefined]> = [
    [{ op: 'gt', value: 80 }, 81, true],
    [{ op: 'gt', value: 80 }, 80, false],
    [{ op: 'gte', value: 80 }, 80, true],
    [{ op: 'lt', value: 0 }, -0.5, true],
    [{ op: 'lte', value: 0 }, 0.1, false],
    [{ op: 'gt', value: 80 }, 'hot', undefined],
    [{ op: 'gt', value: 80 }, true, undefined],
    [{ op: 'between', min: 10, max: 20 }, 10, true],
    [{ op: 'between', min: 10, max: 20 }, 20.5, false],
    [{ op: 'outside', min: 10, max: 20 }, 9.99, true],
    [{ op: 'outside', min: 10, max: 20 }, 15, false],
    [{ op: 'eq', value: 'open' }, 'open', true],
    [{ op: 'eq', value: 'open' }, 'closed', false],
    [{ op: 'ne', value: 'open' }, 'closed', true],
    [{ op: 'eq', value: true }, true, true],
    [{ op: 'eq', value: true }, false, false],
    [{ op: 'eq', value: 3 }, 3, true],
    [{ op: 'eq', value: 3 }, '3', undefined],
    [{ op: 'eq', value: 'open' }, 1, undefined],
  ];
  for (const [c, v, want] of cases) {
    it(`${describeCondition(c)} on ${JSON.stringify(v)} is ${String(want)}`, () => {
      assert.equal(compileCondition(c)(v as number), want);
    });
  }
});

describe('rule state: durations, firing once, re-arming', () => {
  const setup = (over: Partial<RuleRecord> = {}, minRefireMs = 0) => {
    const ev = new RuleEvaluator({ minRefireMs });
    const r = rule(over);
    ev.setOrg(ORG, [r]);
    const cr = ev.rule(r.id);
    assert.ok(cr);
    return { ev, cr };
  };

  it('fires once the condition has held for the duration, and only once', () => {
    const { ev, cr } = setup();
    assert.equal(ev.step(cr, DEVICE, true, 1_000), undefined);
    assert.equal(ev.step(cr, DEVICE, true, 30_000), undefined);
    assert.equal(ev.step(cr, DEVICE, true, 60_999), undefined, '59.999 s is not 60 s');
    assert.equal(ev.step(cr, DEVICE, true, 61_000), 'fire');
    assert.equal(ev.step(cr, DEVICE, true, 120_000), undefined, 'no second firing while it holds');
  });

  it('a gap in the condition restarts the duration', () => {
    const { ev, cr } = setup();
    ev.step(cr, DEVICE, true, 0);
    assert.equal(ev.step(cr, DEVICE, false, 50_000), undefined, 'not fired: nothing to clear');
    assert.equal(ev.step(cr, DEVICE, true, 55_000), undefined);
    assert.equal(ev.step(cr, DEVICE, true, 100_000), undefined, 'only 45 s since it held again');
    assert.equal(ev.step(cr, DEVICE, true, 115_000), 'fire');
  });

  it('clears after firing, then re-arms and fires again', () => {
    const { ev, cr } = setup({ forSeconds: 10 });
    ev.step(cr, DEVICE, true, 0);
    assert.equal(ev.step(cr, DEVICE, true, 10_000), 'fire');
    assert.equal(ev.step(cr, DEVICE, false, 11_000), 'clear');
    assert.equal(ev.step(cr, DEVICE, false, 12_000), undefined);
    assert.equal(ev.step(cr, DEVICE, true, 13_000), undefined);
    assert.equal(ev.step(cr, DEVICE, true, 23_000), 'fire');
  });

  it('a pair fires again no sooner than the re-fire interval, then at its first message after', () => {
    const { ev, cr } = setup({ forSeconds: 0 }, 60_000);
    assert.equal(ev.step(cr, DEVICE, true, 0), 'fire');
    // A flapping value: each clear re-arms, but the next firing waits for the interval.
    for (let t = 1_000; t < 58_000; t += 2_000) {
      assert.equal(ev.step(cr, DEVICE, false, t), t === 1_000 ? 'clear' : undefined);
      assert.equal(ev.step(cr, DEVICE, true, t + 1_000), undefined, `held back at ${t + 1_000}`);
    }
    assert.equal(ev.step(cr, DEVICE, true, 60_000), 'fire');
  });

  it('a zero duration fires on the first record that holds', () => {
    const { ev, cr } = setup({ forSeconds: 0 });
    assert.equal(ev.step(cr, DEVICE, true, 5), 'fire');
    assert.equal(ev.step(cr, DEVICE, true, 6), undefined);
  });

  it('keeps each device apart', () => {
    const { ev, cr } = setup({ forSeconds: 0 });
    const other = newId();
    assert.equal(ev.step(cr, DEVICE, true, 0), 'fire');
    assert.equal(ev.step(cr, other, true, 0), 'fire');
    assert.equal(ev.step(cr, other, false, 1), 'clear');
    assert.equal(ev.step(cr, DEVICE, true, 2), undefined, 'the first device is still fired');
  });

  it('a changed rule starts afresh; an unchanged reload keeps the state', () => {
    const { ev, cr } = setup();
    ev.step(cr, DEVICE, true, 0);
    ev.setOrg(ORG, [cr.rule]);
    assert.equal(ev.pairCount, 1, 'same updatedAt: kept');
    const changed = { ...cr.rule, forSeconds: 30, updatedAt: 1 };
    ev.setOrg(ORG, [changed]);
    assert.equal(ev.pairCount, 0);
    const ccr = ev.rule(changed.id);
    assert.ok(ccr && ccr !== cr);
    assert.equal(ev.step(ccr, DEVICE, true, 40_000), undefined, 'the old start is forgotten');
    ev.setOrg(ORG, []);
    assert.equal(ev.size, 0);
  });

  it('bounds the devices tracked per rule', () => {
    const ev = new RuleEvaluator({ maxDevicesPerRule: 3 });
    const r = rule();
    ev.setOrg(ORG, [r]);
    const cr = ev.rule(r.id);
    assert.ok(cr);
    for (let i = 0; i < 10; i++) ev.step(cr, `d${i}`, true, 0);
    assert.equal(ev.pairCount, 3);
  });
});

describe('rule index', () => {
  it('an organization without rules, or a record no rule names, matches nothing', () => {
    const ev = new RuleEvaluator();
    ev.setOrg(ORG, [rule()]);
    assert.equal(ev.match(env([{ v: 90 }], { orgId: OTHER_ORG })), undefined);
    assert.equal(ev.match(env([{ n: 'humidity', v: 90 }])), undefined);
    assert.equal(ev.match(env([{ vd: 'AAA' }])), undefined, 'a data value is not compared');
  });

  it('finds the rules of a record name, with whether each holds', () => {
    const ev = new RuleEvaluator();
    const hot = rule();
    const cold = rule({ name: 'cold', condition: { op: 'lt', value: 0 } });
    const door = rule({ name: 'door', record: 'door', condition: { op: 'eq', value: 'open' } });
    ev.setOrg(ORG, [hot, cold, door]);
    const hits = ev.match(env([{ v: 90 }, { n: 'door', vs: 'open' }, { n: 'x', v: 1 }])) ?? [];
    assert.deepEqual(
      hits.map((h) => [h.rule.rule.name, h.value, h.holds]),
      [
        ['hot', 90, true],
        ['cold', 90, false],
        ['door', 'open', true],
      ],
    );
  });

  it('applies the channel and device scope; the group scope is flagged for the caller', () => {
    const ev = new RuleEvaluator();
    const onChannel = rule({ name: 'chan', scope: { channelId: newId() } });
    const onDevice = rule({ name: 'dev', scope: { deviceId: DEVICE } });
    const onTag = rule({ name: 'tag', scope: { tag: 'boiler' } });
    ev.setOrg(ORG, [onChannel, onDevice, onTag]);
    const hits = ev.match(env([{ v: 90 }])) ?? [];
    assert.deepEqual(
      hits.map((h) => [h.rule.rule.name, h.rule.group]),
      [
        ['dev', false],
        ['tag', true],
      ],
    );
    assert.equal(
      ev.match(env([{ v: 90 }], { publisher: { type: 'device', id: newId() } }))?.length,
      1,
    );
  });

  it("ignores an application's messages, disabled rules and other organizations' rules", () => {
    const ev = new RuleEvaluator();
    ev.setOrg(ORG, [rule({ enabled: false }), rule({ orgId: OTHER_ORG })]);
    assert.equal(ev.size, 0);
    ev.setOrg(ORG, [rule()]);
    assert.equal(
      ev.match(env([{ v: 90 }], { publisher: { type: 'api_key', id: newId() } })),
      undefined,
    );
  });
});

describe('one-pass evaluate (the engine hot path)', () => {
  it('undefined when no rule looks, null when nothing is due, the transitions otherwise', () => {
    const ev = new RuleEvaluator();
    const r = rule({ forSeconds: 0 });
    const tagged = rule({ name: 'tagged', forSeconds: 0, scope: { tag: 'boiler' } });
    ev.setOrg(ORG, [r, tagged]);
    const unknown = () => undefined;
    assert.equal(ev.evaluate(env([{ n: 'other', v: 99 }]), unknown), undefined);
    assert.equal(
      ev.evaluate(env([{ v: 10 }]), () => true),
      null,
      'looked, nothing holds',
    );
    const out = ev.evaluate(env([{ v: 90 }], { receivedAt: 5 }), unknown);
    assert.deepEqual(
      out?.due.map((d) => [d.hit.rule.rule.id, d.t]),
      [[r.id, 'fire']],
    );
    assert.deepEqual(
      out?.unknown.map((h) => h.rule.rule.id),
      [tagged.id],
      'a group it cannot decide from the cache is left to the caller, not stepped',
    );
    assert.equal(
      ev.evaluate(env([{ v: 91 }]), () => false),
      null,
      'fired already; not in group',
    );
    const cleared = ev.evaluate(env([{ v: 1 }]), () => false);
    assert.deepEqual(
      cleared?.due.map((d) => d.t),
      ['clear'],
    );
  });
});

describe('rule checks refuse with the field named', () => {
  const def = (over: Partial<RuleDefinition> = {}): RuleDefinition => ({
    record: 'temp',
    condition: { op: 'gt', value: 80 },
    forSeconds: 60,
    scope: {},
    actions: [{ type: 'alert' }],
    ...over,
  });
  const refused = (d: RuleDefinition, field: string, re: RegExp) =>
    assert.throws(
      () => checkRuleDefinition(d),
      (e: unknown) => {
        assert.ok(e instanceof BulwarkError);
        assert.equal(e.code, 'rule_invalid');
        assert.equal(e.extra['field'], field);
        assert.match(e.message, re);
        return true;
      },
    );

  it('accepts a good rule of each action', () => {
    checkRuleDefinition(
      def({
        actions: [
          { type: 'alert', resolveOnClear: true },
          { type: 'command', name: 'fan.on', params: { speed: 3 } },
          { type: 'twin', path: 'cooling.mode', value: 'max' },
        ],
      }),
    );
  });
  it('a comparison needs a numeric value', () => {
    refused(def({ condition: { op: 'gt', value: 'hot' } }), 'condition.value', /compares numbers/);
    refused(def({ condition: { op: 'lt' } }), 'condition.value', /needs a value/);
    refused(def({ condition: { op: 'gt', value: 1, min: 0 } }), 'condition.min', /value only/);
  });
  it('a range needs min ≤ max and no value', () => {
    refused(def({ condition: { op: 'between', min: 5 } }), 'condition.max', /numeric max/);
    refused(def({ condition: { op: 'outside', min: 5, max: 1 } }), 'condition.min', /above max/);
    refused(
      def({ condition: { op: 'between', value: 3, min: 1, max: 5 } }),
      'condition.value',
      /min and max/,
    );
  });
  it('bounds the duration', () => {
    refused(def({ forSeconds: 86_401 }), 'forSeconds', /0\.\.86400/);
    refused(def({ forSeconds: -1 }), 'forSeconds', /0\.\.86400/);
    refused(def({ forSeconds: 1.5 }), 'forSeconds', /whole number/);
  });
  it('refuses bad and reserved twin paths, and a null value', () => {
    refused(
      def({ actions: [{ type: 'twin', path: 'a..b', value: 1 }] }),
      'actions[0].path',
      /"" is not a twin key/,
    );
    refused(
      def({ actions: [{ type: 'twin', path: 'a.$b', value: 1 }] }),
      'actions[0].path',
      /"\$b"/,
    );
    refused(
      def({ actions: [{ type: 'twin', path: 'tickets.revoked', value: [] }] }),
      'actions[0].path',
      /tickets section is not writable/,
    );
    refused(
      def({ actions: [{ type: 'twin', path: 'network.allowlist', value: [] }] }),
      'actions[0].path',
      /network section/,
    );
    refused(
      def({ actions: [{ type: 'twin', path: 'a', value: null }] }),
      'actions[0].value',
      /delete/,
    );
    refused(
      def({ actions: [{ type: 'twin', path: Array(17).fill('a').join('.'), value: 1 }] }),
      'actions[0].path',
      /levels deep/,
    );
    refused(
      def({
        actions: [
          { type: 'twin', path: 'a.b', value: 1 },
          { type: 'twin', path: 'a', value: 2 },
        ],
      }),
      'actions',
      /two twin actions/,
    );
  });
  it('refuses a bad command and two webhooks to one endpoint', () => {
    refused(
      def({ actions: [{ type: 'command', name: '9lives' }] }),
      'actions[0].name',
      /command name/,
    );
    refused(
      def({ actions: [{ type: 'command', name: 'x', params: { a: Number.NaN } }] }),
      'actions[0].params',
      /finite/,
    );
    const endpointId = '0190a0a0-0000-7000-8000-000000000001';
    refused(
      def({
        actions: [
          { type: 'webhook', endpointId },
          { type: 'webhook', endpointId },
        ],
      }),
      'actions',
      /same endpoint/,
    );
    refused(def({ actions: [] }), 'actions', /1\.\.5/);
    refused(def({ actions: [{ type: 'alert' }, { type: 'alert' }] }), 'actions', /one alert/);
  });
  it('builds the merge patch of a twin path', () => {
    assert.deepEqual(twinPatchFor('a.b.c', 1), { a: { b: { c: 1 } } });
    assert.deepEqual(twinPatchFor('a', { x: true }), { a: { x: true } });
  });
});
