/**
 * The device plane's one topic grammar and its payload schemas (DESIGN.md §3): every message has
 * its levels, direction, QoS and schema in one table; topics parse back to their message; a
 * subscription filter covers the hub's messages it matches; a refusal names the field.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEVICE_PLANE,
  DEVICE_PLANE_KINDS,
  devicePlaneTopic,
  deviceSubscriptions,
  deviceTopic,
  firstProblem,
  hubMessagesCovered,
  parseDevicePlaneTopic,
  parseTopic,
  updateTopic,
  type CommandRequest,
  type DesiredTwin,
  type DeviceMetrics,
  type ReportedTwin,
  type UpdateInstallOffer,
  type UpdateStatusReport,
} from '@bulwark/protocol';

const D = '01a20ca9-f821-7000-a064-1754bc19ad52';

describe('device-plane topic grammar', () => {
  it('builds every topic under $devices/{id}/ and parses it back to its message', () => {
    for (const kind of DEVICE_PLANE_KINDS) {
      const param = DEVICE_PLANE[kind].rest.includes('{') ? 'job-1' : undefined;
      const topic = devicePlaneTopic(kind, D, param);
      const t = parseTopic(topic);
      assert.equal(t?.kind, 'device', topic);
      const rest = t?.kind === 'device' ? t.rest : '';
      assert.deepEqual(parseDevicePlaneTopic(rest), param ? { kind, param } : { kind }, topic);
    }
    assert.equal(deviceTopic.commandStatus(D, 'c1'), `$devices/${D}/commands/c1/status`);
    assert.equal(updateTopic.status(D, 'j1'), `$devices/${D}/updates/j1/status`);
    assert.equal(updateTopic.installed(D), `$devices/${D}/firmware`);
  });

  it('names nothing else, and no empty or wildcard parameter', () => {
    for (const rest of [
      '',
      'twin',
      'twin/desired/x',
      'commands',
      'commands//status',
      'commands/+',
      'updates/#',
      'other',
    ])
      assert.equal(parseDevicePlaneTopic(rest), undefined, rest);
  });

  it('says who sends what: the hub sends the twin, commands, update and tunnel offers', () => {
    const fromHub = DEVICE_PLANE_KINDS.filter((k) => DEVICE_PLANE[k].from === 'hub');
    assert.deepEqual(fromHub, ['desired', 'command', 'updateOffer', 'tunnel']);
    assert.deepEqual(deviceSubscriptions(D), [
      `$devices/${D}/twin/desired`,
      `$devices/${D}/commands/+`,
      `$devices/${D}/updates/+`,
      `$devices/${D}/tunnels/+`,
    ]);
    assert.equal(DEVICE_PLANE.desired.retain, true);
    assert.equal(DEVICE_PLANE.metrics.qos, 0);
  });

  it('tells which of the hub messages a subscription filter covers', () => {
    assert.deepEqual(hubMessagesCovered(D, `$devices/${D}/#`), [
      'desired',
      'command',
      'updateOffer',
      'tunnel',
    ]);
    assert.deepEqual(hubMessagesCovered(D, `$devices/${D}/twin/+`), ['desired']);
    assert.deepEqual(hubMessagesCovered(D, `$devices/${D}/commands/+`), ['command']);
    assert.deepEqual(hubMessagesCovered(D, `$devices/${D}/updates/+/status`), []);
    assert.deepEqual(hubMessagesCovered(D, `$devices/${D}/metrics`), []);
  });
});

describe('device-plane payload schemas', () => {
  const at = '2026-12-06T10:00:00Z';
  it('accept what the hub and the agent send', () => {
    const desired: DesiredTwin = { version: 3, state: { net: { dhcp: true } } };
    const reported: ReportedTwin = { version: 1, desiredVersion: 3, state: {}, errors: [] };
    const command: CommandRequest = { id: 'c', name: 'reboot', params: {}, deadline: at };
    const metrics: DeviceMetrics = {
      at,
      cpuPercent: 2.5,
      memory: { totalBytes: 2, availableBytes: 1 },
      disk: { totalBytes: 2, availableBytes: 1 },
      uptimeSeconds: 1,
      network: { rxBytes: 0, txBytes: 0 },
      listeningPorts: [22],
      connections: 1,
    };
    const offer: UpdateInstallOffer = {
      action: 'install',
      id: 'j',
      artifactId: 'a',
      metadata: '{}',
      root: '{}',
      imagePath: '/api/v1/firmware/artifacts/a/image',
      length: 10,
      sha256: 'a'.repeat(64),
      deadline: at,
    };
    const status: UpdateStatusReport = { state: 'downloading', progress: { bytes: 1, total: 2 } };
    const ok: [keyof typeof DEVICE_PLANE, unknown][] = [
      ['desired', desired],
      ['reported', reported],
      ['command', command],
      ['commandStatus', { state: 'failed', error: { code: 'x', message: 'y' } }],
      ['events', [{ kind: 'k', severity: 'info', at, detail: {} }]],
      ['events', { kind: 'k', severity: 'info', at }],
      ['metrics', metrics],
      ['presence', { online: false }],
      ['updateOffer', offer],
      ['updateOffer', { action: 'cancel', id: 'j' }],
      ['updateStatus', status],
      ['updateStatus', { state: 'rebooting', cancel: 'refused', reason: 'too_late' }],
      ['firmware', { type: 'gw', version: '1.0.0', releaseCounter: 1, slot: 'a' }],
    ];
    for (const [kind, v] of ok)
      assert.equal(firstProblem(DEVICE_PLANE[kind].schema, v), null, kind);
  });

  it('refuse with the field named', () => {
    const s = DEVICE_PLANE.reported.schema;
    assert.equal(firstProblem(s, [1]), 'must be a JSON object');
    assert.equal(
      firstProblem(s, { version: -1, desiredVersion: 0, state: {}, errors: [] }),
      '"version" must be a non-negative integer',
    );
    assert.equal(
      firstProblem(s, { desiredVersion: 0, state: {}, errors: [] }),
      '"version" is required',
    );
    assert.equal(
      firstProblem(s, { version: 1, desiredVersion: 0, state: {}, errors: [{ path: 1 }] }),
      '"errors[0].message" is required',
    );
    assert.equal(
      firstProblem(s, { version: 1, desiredVersion: 0, state: {}, errors: [], x: 1 }),
      'unknown field "x"',
    );
    assert.equal(
      firstProblem(DEVICE_PLANE.updateStatus.schema, {
        state: 'downloading',
        progress: { bytes: 0, total: 1, eta: 2 },
      }),
      'unknown field "progress.eta"',
    );
    assert.equal(
      firstProblem(DEVICE_PLANE.commandStatus.schema, { state: 'done' }),
      '"state" must be "delivered", "succeeded" or "failed"',
    );
    assert.equal(
      firstProblem(DEVICE_PLANE.updateOffer.schema, { action: 'install', id: 'j' }) !== null,
      true,
    );
  });
});
