import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError, type TwinState, type TwinValue } from '@bulwark/protocol';
import {
  checkTwinState,
  mergePatch,
  parseCommandStatus,
  parseDeviceEvents,
  parseDeviceMetrics,
  parsePresence,
  parseReportedTwin,
  twinDelta,
} from '@bulwark/core';

const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const refused = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BulwarkError);
    assert.equal(e.code, 'device_payload_invalid');
    assert.match(e.message, re);
    return true;
  });

describe('RFC 7386 merge patch', () => {
  // RFC 7386 Appendix A, every example.
  const cases: Array<[TwinValue, TwinValue, TwinValue]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, result] of cases) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)}`, () => {
      assert.deepEqual(mergePatch(target, patch), result);
    });
  }
  it('does not change its inputs', () => {
    const target = { a: { b: 1 } };
    mergePatch(target, { a: { b: 2 } });
    assert.deepEqual(target, { a: { b: 1 } });
  });
});

describe('twin delta', () => {
  it('lists only the differing desired paths; reported extras are not a delta', () => {
    const desired: TwinState = { net: { ssid: 'x', dhcp: true }, level: 3, list: [1, 2] };
    assert.deepEqual(twinDelta(desired, undefined), desired);
    assert.deepEqual(
      twinDelta(desired, { net: { ssid: 'y', dhcp: true }, level: 3, list: [1, 2], extra: 1 }),
      { net: { ssid: 'x' } },
    );
    assert.deepEqual(twinDelta(desired, { net: 'off', level: 3, list: [2, 1] }), {
      net: { ssid: 'x', dhcp: true },
      list: [1, 2],
    });
    assert.deepEqual(twinDelta({ a: { b: 1 } }, { a: { b: 1 } }), {});
  });
  it('limits: depth and size', () => {
    let deep: TwinValue = 1;
    for (let i = 0; i < 20; i++) deep = { x: deep };
    assert.throws(() => checkTwinState({ deep }, 'state'), /nested deeper/);
    assert.throws(() => checkTwinState({ big: 'x'.repeat(70_000) }, 'state'), /bytes/);
    assert.throws(() => checkTwinState([], 'state'), /JSON object/);
  });
});

describe('device-plane payloads', () => {
  it('reported twin', () => {
    const ok = {
      version: 3,
      desiredVersion: 2,
      state: { a: 1 },
      errors: [{ path: 'b', message: 'no' }],
    };
    assert.deepEqual(parseReportedTwin(bytes(ok)), ok);
    refused(() => parseReportedTwin(bytes('{')), /not JSON/);
    refused(() => parseReportedTwin(bytes({ ...ok, version: -1 })), /"version"/);
    refused(() => parseReportedTwin(bytes({ ...ok, version: 1.5 })), /"version"/);
    refused(() => parseReportedTwin(bytes({ ...ok, state: null })), /"state"/);
    refused(() => parseReportedTwin(bytes({ ...ok, errors: [{ path: 1 }] })), /errors\[0\]/);
    refused(() => parseReportedTwin(bytes({ ...ok, more: 1 })), /unknown field "more"/);
  });
  it('command status', () => {
    assert.deepEqual(parseCommandStatus(bytes({ state: 'delivered' })), { state: 'delivered' });
    assert.deepEqual(
      parseCommandStatus(bytes({ state: 'failed', error: { code: 'x', message: 'y' } })),
      { state: 'failed', error: { code: 'x', message: 'y' } },
    );
    refused(() => parseCommandStatus(bytes({ state: 'queued' })), /"state"/);
    refused(() => parseCommandStatus(bytes({ state: 'failed', error: 'x' })), /"error"/);
    refused(() => parseCommandStatus(bytes({ state: 'succeeded', result: [1] })), /"result"/);
  });
  it('events: an array (or one object), bounded', () => {
    const e = {
      kind: 'local_login',
      severity: 'warning',
      at: '2026-01-01T00:00:00Z',
      detail: { u: 'x' },
    };
    assert.deepEqual(parseDeviceEvents(bytes([e])), [e]);
    assert.deepEqual(parseDeviceEvents(bytes({ kind: 'a', severity: 'info', at: e.at })), [
      { kind: 'a', severity: 'info', at: e.at, detail: {} },
    ]);
    refused(() => parseDeviceEvents(bytes([])), /must hold 1 to 100 events/);
    refused(() => parseDeviceEvents(bytes([{ ...e, severity: 'loud' }])), /severity/);
    refused(() => parseDeviceEvents(bytes([{ ...e, at: 'yesterday' }])), /\.at/);
    refused(
      () => parseDeviceEvents(bytes(Array.from({ length: 101 }, () => e))),
      /events: must hold 1 to 100 events/,
    );
    // What the schema cannot say: a real date, the depth of free-form JSON.
    refused(() => parseDeviceEvents(bytes([{ ...e, at: '2026-13-45T00:00:00Z' }])), /\.at/);
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = { x: deep };
    refused(() => parseDeviceEvents(bytes([{ ...e, detail: { deep } }])), /nested deeper/);
  });
  it('metrics', () => {
    const m = {
      at: '2026-01-01T00:00:00.000Z',
      cpuPercent: 1,
      memory: { totalBytes: 2, availableBytes: 1 },
      disk: { totalBytes: 2, availableBytes: 1 },
      uptimeSeconds: 3,
      network: { rxBytes: 0, txBytes: 0 },
      listeningPorts: [22],
      connections: 0,
    };
    assert.deepEqual(parseDeviceMetrics(bytes(m)), m);
    refused(() => parseDeviceMetrics(bytes({ ...m, listeningPorts: [70000] })), /listeningPorts/);
    refused(
      () => parseDeviceMetrics(bytes({ ...m, memory: { totalBytes: 1 } })),
      /"memory\.availableBytes" is required/,
    );
    refused(
      () => parseDeviceMetrics(bytes({ ...m, memory: { totalBytes: 1, availableBytes: -1 } })),
      /"memory\.availableBytes" must be a number ≥ 0/,
    );
  });
  it('presence', () => {
    assert.deepEqual(parsePresence(bytes({ online: false })), { online: false });
    assert.deepEqual(parsePresence(bytes({ online: true, mode: 'controlled' })), {
      online: true,
      mode: 'controlled',
    });
    refused(() => parsePresence(bytes({ online: true, mode: 'manual' })), /"mode"/);
    refused(() => parsePresence(bytes('')), /not JSON/);
  });
});
