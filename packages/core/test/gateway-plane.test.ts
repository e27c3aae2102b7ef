/**
 * Proxy sessions of site devices behind a gateway (decision 0040, amendment "device plane"), on a
 * recording device plane: a snapshot opens, updates and closes them; a direct connection wins;
 * the gateway's own disconnect ends them; a snapshot of a connection that ended opens nothing;
 * a proxy session's messages go to its gateway, a direct one's to the inner link.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GatewayPlane,
  type Device,
  type DeviceLink,
  type DevicePlaneInbound,
  type DeviceSession,
} from '../src/index.js';

const ORG = 'org-1';
const G = '01a2b3c4-0000-7000-8000-0000000000aa';
const X = '01a2b3c4-0000-7000-8000-000000000001';
const Y = '01a2b3c4-0000-7000-8000-000000000002';
const dev = (id: string, state: Device['state'] = 'active') =>
  ({ id, orgId: ORG, state, type: id === G ? 'gateway' : 'sensor' }) as Device;

function rig(states: Record<string, Device['state']> = { [X]: 'active', [Y]: 'active' }) {
  const log: string[] = [];
  const plane: DevicePlaneInbound = {
    connected: (s) => void log.push(`connected ${s.deviceId} ${s.sessionId.slice(0, 3)}`),
    disconnected: (s, e) => void log.push(`disconnected ${s.deviceId} ${e.reason}`),
    subscribed: (s, k) => void log.push(`subscribed ${s.deviceId} ${k.join(',')}`),
    report: () => Promise.resolve(true),
  };
  const gp = new GatewayPlane({
    sites: {
      gateway: () => Promise.resolve(dev(G)),
      member: (_g, id) => Promise.resolve(states[id] ? dev(id, states[id]) : null),
    },
    clock: { now: () => 0 },
  });
  const inbound = gp.inbound(plane);
  const sent: string[] = [];
  const inner: DeviceLink = { deliver: (s) => (sent.push(`direct ${s.deviceId}`), true) };
  const link = gp.link(inner, (gw, rest) => (sent.push(`${gw.gatewayId} ${rest}`), true));
  const gwSession: DeviceSession = { orgId: ORG, deviceId: G, sessionId: 'g-1' };
  inbound.connected(gwSession);
  log.length = 0;
  const snapshot = (devices: { id: string; takes: string[] }[], sessionId = 'g-1') =>
    gp.sessions({ orgId: ORG, id: G, sessionId }, Buffer.from(JSON.stringify({ v: 1, devices })));
  return { gp, inbound, link, log, sent, gwSession, snapshot };
}

describe('gateway plane: proxy sessions', () => {
  it('a snapshot opens, updates and closes proxy sessions; their messages go to the gateway', async () => {
    const r = rig();
    await r.snapshot([{ id: X, takes: ['desired'] }]);
    assert.deepEqual(r.log, [`connected ${X} gw-`, `subscribed ${X} desired`]);
    await r.snapshot([{ id: X, takes: ['desired', 'command'] }]);
    assert.equal(r.log.at(-1), `subscribed ${X} command`);
    const held = r.gp.held(G)[0]!;
    assert.deepEqual(held, { deviceId: X, open: true, takes: ['desired', 'command'] });
    // A session that is no proxy goes to the inner (MQTT) link.
    const session = { orgId: ORG, deviceId: X, sessionId: 'unknown' };
    r.link.deliver(session, { kind: 'desired', body: { version: 1, state: {} } });
    assert.deepEqual(r.sent, [`direct ${X}`]);
    await r.snapshot([]);
    assert.equal(r.log.at(-1), `disconnected ${X} left_gateway`);
    assert.deepEqual(r.gp.held(G), []);
  });

  it('routes a proxy session’s desired twin, command, offer and tunnel offer to the gateway', async () => {
    const r = rig();
    const sessions: DeviceSession[] = [];
    const gp = r.gp;
    const recorder: DevicePlaneInbound = {
      connected: (s) => void sessions.push(s),
      disconnected: () => undefined,
      subscribed: () => undefined,
      report: () => Promise.resolve(true),
    };
    const inbound = gp.inbound(recorder);
    inbound.connected(r.gwSession);
    await r.snapshot([{ id: X, takes: ['desired', 'command', 'updateOffer', 'tunnel'] }]);
    const s = sessions.find((x) => x.deviceId === X)!;
    assert.ok(r.link.deliver(s, { kind: 'desired', body: { version: 2, state: {} } }));
    assert.ok(
      r.link.deliver(s, {
        kind: 'command',
        body: { id: 'c1', name: 'ping', params: {}, deadline: new Date().toISOString() },
      }),
    );
    assert.ok(r.link.deliver(s, { kind: 'tunnel', body: { id: 't1' } as never }));
    assert.deepEqual(r.sent, [
      `${G} downlink/${X}/twin/desired`,
      `${G} downlink/${X}/commands/c1`,
      `${G} downlink/${X}/tunnels/t1`,
    ]);
  });

  it('a direct connection wins; the proxy comes back when it ends', async () => {
    const r = rig();
    await r.snapshot([{ id: X, takes: ['command'] }]);
    r.log.length = 0;
    const direct: DeviceSession = { orgId: ORG, deviceId: X, sessionId: 'direct-1' };
    r.inbound.connected(direct);
    assert.deepEqual(r.log, [`disconnected ${X} connected_directly`, `connected ${X} dir`]);
    // A snapshot while it is directly connected keeps the proxy on standby.
    await r.snapshot([{ id: X, takes: ['command'] }]);
    assert.equal(r.gp.held(G)[0]!.open, false);
    r.log.length = 0;
    r.inbound.disconnected(direct, { clean: true, reason: 'bye' });
    assert.deepEqual(r.log, [
      `disconnected ${X} bye`,
      `connected ${X} gw-`,
      `subscribed ${X} command`,
    ]);
  });

  it('the gateway’s disconnect ends its proxies; a snapshot of an ended connection opens none', async () => {
    const r = rig();
    await r.snapshot([
      { id: X, takes: [] },
      { id: Y, takes: [] },
    ]);
    r.log.length = 0;
    r.inbound.disconnected(r.gwSession, { clean: false, reason: 'keepalive' });
    assert.deepEqual(r.log, [
      `disconnected ${G} keepalive`,
      `disconnected ${X} gateway_disconnected`,
      `disconnected ${Y} gateway_disconnected`,
    ]);
    r.log.length = 0;
    await r.snapshot([{ id: X, takes: [] }]);
    assert.deepEqual(r.log, []);
    assert.deepEqual(r.gp.held(G), []);
  });

  it('opens sessions only for members whose state opens the plane, and only those planes', async () => {
    const r = rig({ [X]: 'quarantined', [Y]: 'decommissioned' });
    await r.snapshot([
      { id: X, takes: ['desired', 'updateOffer'] },
      { id: Y, takes: ['desired'] },
      { id: '01a2b3c4-0000-7000-8000-000000000009', takes: ['desired'] },
    ]);
    assert.deepEqual(r.gp.held(G), [
      { deviceId: X, open: true, takes: ['desired', 'updateOffer'] },
    ]);
    await assert.rejects(r.snapshot([{ id: 'x', takes: [] }]), /device id/);
  });
});
