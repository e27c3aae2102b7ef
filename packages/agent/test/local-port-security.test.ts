/**
 * Security settings on the local port (issue 11): an `operate` ticket used to `set tickets.revoked
 * []`, after which revoked backup tickets worked again. Now the `tickets` and `network` sections
 * are read-only on the port at every level, and the agent merges `tickets.revoked` append-only,
 * so neither a local `set`, a hub command nor a desired twin can un-revoke a ticket before it
 * expires. The real agent twin and local-port host behind a real port, tickets from a real hub.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { DesiredTwin, DeviceEvent, TwinState } from '@bulwark/protocol';
import { LocalPortServer } from '../src/local/index.js';
import { registerBuiltinSections } from '../src/runtime/builtins.js';
import { localPortHost } from '../src/runtime/local-port-host.js';
import { Twin } from '../src/runtime/twin.js';
import { FakeClock } from './helpers.js';
import {
  LineClient,
  MapFiles,
  enrollDevice,
  startTestHub,
  type EnrolledDevice,
  type TestHub,
} from './local-port-helpers.js';

const DAY = 86_400_000;

describe('local port: security sections are read-only, revocations append-only', () => {
  let t: TestHub;
  let device: EnrolledDevice;
  let twin: Twin;
  let server: LocalPortServer;
  const clock = new FakeClock();
  const events: DeviceEvent[] = [];
  const open: LineClient[] = [];
  let desiredVersion = 0;

  /** What the hub's desired twin carries to the device, applied as the agent applies it. */
  const applyDesired = (state: TwinState) =>
    twin.applyDesired({ version: ++desiredVersion, state } satisfies DesiredTwin);
  const syncFromHub = async () => {
    const desired = await t.owner.twins.get(device.id);
    await applyDesired(desired.desired.state as TwinState);
  };
  const revoked = () => twin.get('tickets.revoked') as string[];
  const session = async (perm: 'read' | 'operate' | 'admin') => {
    const c = await LineClient.connect(server.port, device);
    open.push(c);
    await c.line(); // banner
    const { ticket } = await t.owner.tickets.issue(device.id, { perm });
    assert.match(await c.ask(`ticket ${ticket}`), new RegExp(`^OK ticket accepted perm=${perm}`));
    return c;
  };

  before(async () => {
    t = await startTestHub();
    device = await enrollDevice(t.owner, t.anon, 'local-sec-1');
    const files = new MapFiles();
    twin = new Twin(
      files,
      async () => undefined,
      () => clock.now(),
    );
    registerBuiltinSections(twin);
    const x = new X509Certificate(device.certPem);
    const host = localPortHost({
      identity: () => ({
        generation: 1,
        deviceId: device.id,
        orgId: device.orgId,
        serial: x.serialNumber,
        keyPem: device.keyPem,
        certPem: device.certPem,
        chain: device.chain,
        hubCa: '',
        notBefore: Date.parse(x.validFrom),
        notAfter: Date.parse(x.validTo),
      }),
      twin,
      files,
      clock,
      reboot: async () => undefined,
      factoryReset: async () => undefined,
      report: (e) => events.push(e),
    });
    server = new LocalPortServer({ host, port: 0, bindAddress: '127.0.0.1' });
    await server.start();
  });
  after(async () => {
    for (const c of open) c.close();
    await server.stop();
    await t.close();
  });

  it('an operate (or admin) ticket cannot un-revoke a backup ticket: tickets and network are read-only on the port', async () => {
    const backup = await t.owner.tickets.issue(device.id, {
      perm: 'operate',
      backup: true,
      ttlSeconds: 30 * 86_400,
    });
    await t.owner.tickets.revoke(device.id, backup.jti);
    await syncFromHub();
    assert.deepEqual(revoked(), [backup.jti]);
    for (const perm of ['operate', 'admin'] as const) {
      const c = await session(perm);
      assert.match(
        await c.ask('set tickets.revoked []'),
        /^ERR read_only tickets\.revoked: tickets\.revoked is a security setting: only the hub can change it/,
      );
      assert.match(await c.ask('set network.allowlist ["0.0.0.0/0:*"]'), /^ERR read_only /);
      assert.match(await c.ask('set network.ntpServers ["203.0.113.9"]'), /^ERR read_only /);
      assert.match(await c.ask('set network.connectionMode on-demand'), /^ERR read_only /);
      // reading them is fine, and other sections stay settable
      assert.equal(await c.ask('get tickets.revoked'), `OK ${JSON.stringify([backup.jti])}`);
      assert.equal(await c.ask('set logging.level debug'), 'OK logging.level = "debug"');
      c.close();
    }
    assert.deepEqual(revoked(), [backup.jti]);
    assert.equal(twin.get('network.allowlist'), undefined);
    const denied = events.filter(
      (e) => e.detail['action'] === 'denied' && e.detail['path'] === 'tickets.revoked',
    );
    assert.equal(denied.length, 2, 'each attempt is reported');
    // and the revoked backup ticket is still refused
    const c = await LineClient.connect(server.port, device);
    open.push(c);
    await c.line();
    assert.match(await c.ask(`ticket ${backup.ticket}`), /^ERR ticket_revoked /);
    c.close();
  });

  it('revocations merge append-only: a desired twin or a hub command cannot remove one; expired ones are forgotten', async () => {
    const before = revoked();
    const second = await t.owner.tickets.issue(device.id, {
      perm: 'read',
      backup: true,
      ttlSeconds: 7 * 86_400,
    });
    await t.owner.tickets.revoke(device.id, second.jti);
    await syncFromHub();
    assert.deepEqual(revoked(), [...before, second.jti]);
    // a desired twin that drops them (an operator patching it, or a forged one) keeps both
    const r = await applyDesired({ tickets: { revoked: [] } });
    assert.deepEqual(revoked(), [...before, second.jti]);
    assert.deepEqual(r?.errors, []);
    const reset = await applyDesired({ tickets: { revoked: null } });
    assert.deepEqual(reset?.errors, [
      { path: 'tickets.revoked', message: 'is append-only and cannot be reset' },
    ]);
    // the hub's set-parameter command path (Twin.set without `local`) merges the same way
    await twin.set('tickets.revoked', ['extra-id']);
    assert.deepEqual(revoked(), [...before, second.jti, 'extra-id']);
    // an id the hub no longer lists is forgotten only once every ticket it could name has
    // expired: 90 days' lifetime at most, plus slack, after the device first saw it
    clock.advance(92 * DAY);
    await applyDesired({ tickets: { revoked: [second.jti, 'fresh-id'] } });
    assert.deepEqual(revoked(), [second.jti, 'fresh-id'], 'still listed: kept');
    await applyDesired({ tickets: { revoked: [] } });
    assert.deepEqual(revoked(), ['fresh-id'], 'first seen today: kept for its own retention');
  });
});
