import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentConfigError, loadAgentConfig, parseAgentConfig } from '../src/config.js';
import { cleanup, tempDir } from './helpers.js';

const base = {
  hubUrl: 'https://hub.example:8443',
  mqttUrl: 'mqtts://hub.example:8883',
  caFile: 'ca.pem',
  stateDir: 'state',
  enrollment: { tokenFile: 'token' },
};

describe('agent configuration', () => {
  it('fills visible defaults, resolves paths against the file, and freezes the result', () => {
    const c = parseAgentConfig(base, '/etc/bulwark');
    assert.equal(c.caFile, '/etc/bulwark/ca.pem');
    assert.equal(c.enrollment.tokenFile, '/etc/bulwark/token');
    assert.equal(c.connection.mode, 'persistent');
    assert.equal(c.queue.overflow, 'drop-oldest');
    assert.equal(c.device.mode, 'controlled');
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.connection));
  });

  it('takes a provisioning claim with the hardware id, from values or files', () => {
    const c = parseAgentConfig(
      { ...base, enrollment: { claimFile: 'claim', hardwareIdFile: '/etc/machine-id' } },
      '/etc/bulwark',
    );
    assert.equal(c.enrollment.claimFile, '/etc/bulwark/claim');
    assert.equal(c.enrollment.hardwareIdFile, '/etc/machine-id');
    const d = parseAgentConfig({ ...base, enrollment: { claim: 'bwc_x', hardwareId: 'SN-1' } });
    assert.equal(d.enrollment.claim, 'bwc_x');
    assert.throws(
      () => parseAgentConfig({ ...base, enrollment: { claim: 'bwc_x' } }),
      /a claim needs the device's hardware id/,
    );
    assert.throws(
      () => parseAgentConfig({ ...base, enrollment: { claim: 'c', token: 't', hardwareId: 'h' } }),
      /enrollment takes one of/,
    );
    assert.throws(
      () => parseAgentConfig({ ...base, enrollment: { token: 't', hardwareId: 'h' } }),
      /hardwareId goes with enrollment.claim/,
    );
  });

  it('refuses unknown keys, naming them and the known ones', () => {
    assert.throws(
      () => parseAgentConfig({ ...base, hubURL: 'x' }),
      (e: Error) =>
        e instanceof AgentConfigError && /unknown key hubURL; known: hubUrl/.test(e.message),
    );
    assert.throws(
      () => parseAgentConfig({ ...base, queue: { maxMessage: 5 } }),
      /unknown key queue.maxMessage/,
    );
  });

  it('refuses plaintext MQTT and plain HTTP unless the test-only switch is set', () => {
    assert.throws(
      () => parseAgentConfig({ ...base, mqttUrl: 'mqtt://h:1883' }),
      /mqttUrl must use mqtts/,
    );
    assert.throws(() => parseAgentConfig({ ...base, hubUrl: 'http://h' }), /hubUrl must use https/);
    const c = parseAgentConfig({
      ...base,
      mqttUrl: 'mqtt://127.0.0.1:1883',
      connection: { insecurePlaintextForTests: true },
    });
    assert.equal(c.mqttUrl, 'mqtt://127.0.0.1:1883');
  });

  it('checks types, ranges, rules and the allowlist', () => {
    assert.throws(
      () => parseAgentConfig({ ...base, connection: { backoffMinMs: 'soon' } }),
      /backoffMinMs must be a whole number/,
    );
    assert.throws(
      () => parseAgentConfig({ ...base, connection: { backoffMinMs: 5000, backoffMaxMs: 100 } }),
      /backoffMaxMs/,
    );
    assert.throws(
      () => parseAgentConfig({ ...base, enrollment: { token: 'a', tokenFile: 'b' } }),
      /one of/,
    );
    assert.throws(
      () =>
        parseAgentConfig({
          ...base,
          device: { rules: [{ when: { metric: 'cpuPercent' }, then: { set: {} } }] },
        }),
      /above or below/,
    );
    assert.throws(
      () => parseAgentConfig({ ...base, allowlist: ['not an address'] }),
      /allowlist\[0\]/,
    );
    const c = parseAgentConfig({
      ...base,
      allowlist: ['10.0.0.0/8', '192.0.2.10:8883'],
      device: {
        mode: 'autonomous',
        rules: [
          {
            when: { metric: 'cpuPercent', above: 90 },
            then: { set: { 'sampling.intervalSeconds': 60 } },
          },
          { when: { event: 'link-lost' }, then: { event: { kind: 'offline', severity: 'info' } } },
        ],
      },
    });
    assert.equal(c.device.rules.length, 2);
  });

  it('validates the update section: paths resolved, health checks checked, defaults visible', () => {
    const d = parseAgentConfig(base, '/etc/bulwark');
    assert.deepEqual(d.update, {
      mode: 'none',
      healthChecks: [],
      healthTimeoutSeconds: 300,
      bootAttempts: 3,
      grubEnvFile: '/boot/grub/grubenv',
      bootnames: { a: 'A', b: 'B' },
      cmdlineFile: '/proc/cmdline',
      bootIdFile: '/proc/sys/kernel/random/boot_id',
    });
    assert.deepEqual(d.device.rebootCommand, ['systemctl', 'reboot']);
    const c = parseAgentConfig(
      {
        ...base,
        update: {
          slotsDir: 'slots',
          rootFile: 'root.json',
          hardware: 'rev-a',
          healthChecks: [{ name: 'app', command: ['/usr/bin/true'] }],
          healthTimeoutSeconds: 60,
        },
      },
      '/etc/bulwark',
    );
    assert.equal(c.update.slotsDir, '/etc/bulwark/slots');
    assert.equal(c.update.mode, 'simulated', 'slotsDir alone: the mode of earlier configs');
    assert.equal(c.update.rootFile, '/etc/bulwark/root.json');
    assert.deepEqual(c.update.healthChecks, [
      { name: 'app', command: ['/usr/bin/true'], timeoutSeconds: 30 },
    ]);
    const bad: [unknown, RegExp][] = [
      [{ slotDir: 'x' }, /unknown key update.slotDir/],
      [{ healthChecks: {} }, /update.healthChecks must be an array/],
      [{ healthChecks: [{ name: 'x', command: [] }] }, /healthChecks\[0\].command must be/],
      [{ healthChecks: [{ command: ['true'] }] }, /healthChecks\[0\].name is required/],
      [{ healthTimeoutSeconds: 0 }, /update.healthTimeoutSeconds must be/],
      [{ bootAttempts: 101 }, /update.bootAttempts must be/],
      [{ mode: 'swupdate', slotsDir: 's' }, /update.mode must be one of none, application/],
      [{ mode: 'application' }, /update.mode application needs update.slotsDir/],
      [{ mode: 'uboot', slotsDir: 's' }, /update.mode uboot needs update.slotImages/],
      [{ mode: 'application', slotsDir: 's', restartCommand: [] }, /restartCommand must be/],
      [{ bootnames: { a: 'X', b: 'X' } }, /bootnames.a and .b must differ/],
    ];
    assert.throws(
      () => parseAgentConfig({ ...base, device: { rebootCommand: 'reboot' } }),
      /device.rebootCommand must be a non-empty list/,
    );
    const app = parseAgentConfig(
      {
        ...base,
        device: { rebootCommand: ['/sbin/reboot', '-f'] },
        update: {
          mode: 'application',
          slotsDir: 'app',
          restartCommand: ['systemctl', 'restart', 'x'],
        },
      },
      '/etc/bulwark',
    );
    assert.deepEqual(
      [app.update.mode, app.update.slotsDir, app.update.restartCommand, app.device.rebootCommand],
      ['application', '/etc/bulwark/app', ['systemctl', 'restart', 'x'], ['/sbin/reboot', '-f']],
    );
    for (const [update, re] of bad)
      assert.throws(() => parseAgentConfig({ ...base, update }), re, JSON.stringify(update));
  });

  it('remoteAccess.relay names the gateway’s LAN origin to dial relay legs at (an https origin)', () => {
    const c = parseAgentConfig(
      {
        ...base,
        remoteAccess: { relay: { url: 'https://192.168.1.2:8443', caFile: 'gw.pem' } },
      },
      '/etc/bulwark',
    );
    assert.deepEqual(c.remoteAccess.relay, {
      url: 'https://192.168.1.2:8443',
      caFile: '/etc/bulwark/gw.pem',
    });
    assert.equal(parseAgentConfig(base).remoteAccess.relay, undefined);
    for (const url of ['http://192.168.1.2:8443', 'https://gw.local/api', 'not a url'])
      assert.throws(
        () => parseAgentConfig({ ...base, remoteAccess: { relay: { url, caFile: 'gw.pem' } } }),
        AgentConfigError,
        url,
      );
    assert.throws(
      () => parseAgentConfig({ ...base, remoteAccess: { relay: { url: 'https://gw:1' } } }),
      /remoteAccess\.relay\.caFile is required/,
    );
  });

  it('loads a file and reports bad JSON clearly', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'a.json'), JSON.stringify(base));
      assert.equal((await loadAgentConfig(join(dir, 'a.json'))).stateDir, join(dir, 'state'));
      writeFileSync(join(dir, 'b.json'), '{ nope');
      await assert.rejects(loadAgentConfig(join(dir, 'b.json')), /not valid JSON/);
    } finally {
      cleanup(dir);
    }
  });
});
