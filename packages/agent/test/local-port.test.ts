import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BulwarkClient } from '@bulwark/sdk';
import { LocalPortServer, USED_TICKETS_FILE } from '../src/local/index.js';
import {
  LineClient,
  PASSWORD,
  TestHost,
  enrollDevice,
  startTestHub,
  type EnrolledDevice,
  type TestHub,
} from './local-port-helpers.js';

describe('local management port: one-time access tickets from a real hub', () => {
  let t: TestHub;
  let device: EnrolledDevice;
  let other: EnrolledDevice;
  let foreignOrgApi: BulwarkClient;
  let foreignDevice: EnrolledDevice;
  let host: TestHost;
  let server: LocalPortServer;
  const open: LineClient[] = [];

  const start = async (h: TestHost, limits = {}) => {
    const s = new LocalPortServer({ host: h, port: 0, bindAddress: '127.0.0.1', limits });
    await s.start();
    return s;
  };
  const connect = async (s = server, d = device) => {
    const c = await LineClient.connect(s.port, d);
    open.push(c);
    assert.match(await c.line(), new RegExp(`^BULWARK-LOCAL 1 device=${d.id} `));
    return c;
  };
  const issue = async (perm: 'read' | 'operate' | 'admin', extra = {}, id = device.id) =>
    (await t.owner.tickets.issue(id, { perm, ...extra })).ticket;

  before(async () => {
    t = await startTestHub();
    device = await enrollDevice(t.owner, t.anon, 'local-1');
    other = await enrollDevice(t.owner, t.anon, 'local-2');
    const org2 = await t.owner.orgs.create({ name: 'Other Co' });
    const tokens = await t.anon.auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: org2.id,
    });
    foreignOrgApi = t.client(tokens.accessToken);
    foreignDevice = await enrollDevice(foreignOrgApi, t.anon, 'local-1');
    host = new TestHost(device);
    server = await start(host);
  });
  after(async () => {
    for (const c of open) c.close();
    await server.stop();
    await t.close();
  });

  it('admits a valid ticket once: commands work, the second use is refused, also after a restart', async () => {
    const ticket = await issue('operate');
    const c = await connect();
    assert.match(await c.ask(`ticket ${ticket}`), /^OK ticket accepted perm=operate by=/);
    assert.equal(await c.ask('get logging.level'), 'OK "info"');
    assert.equal(await c.ask('list sampling'), 'OK {"sampling.intervalSeconds":30}');
    assert.equal(await c.ask('set logging.level debug'), 'OK logging.level = "debug"');
    assert.equal(host.params.get('logging.level'), 'debug');
    assert.equal(
      await c.ask('set sampling.intervalSeconds 60'),
      'OK sampling.intervalSeconds = 60',
    );
    assert.equal(host.params.get('sampling.intervalSeconds'), 60);
    assert.match(
      await c.ask('set sampling.intervalSeconds 0'),
      /^ERR set_failed sampling\.intervalSeconds: must be/,
    );
    assert.equal(
      host.params.get('sampling.intervalSeconds'),
      60,
      'a refused value changes nothing',
    );
    assert.match(await c.ask('get no.such'), /^ERR not_found /);
    assert.match(await c.ask('get ../etc'), /^ERR invalid_path /);
    assert.match(await c.ask('frobnicate'), /^ERR unknown_command /);
    assert.match(await c.ask(`ticket ${ticket}`), /^ERR already_authenticated /);
    assert.equal(await c.ask('quit'), 'OK bye');
    await c.closed();

    const again = await connect();
    assert.match(await again.ask(`ticket ${ticket}`), /^ERR ticket_reused /);

    // A reboot: a new server on the same files still refuses it.
    await server.stop();
    server = await start(host);
    const afterReboot = await connect();
    assert.match(await afterReboot.ask(`ticket ${ticket}`), /^ERR ticket_reused /);
    afterReboot.close();
    assert.ok(host.files.map.has(USED_TICKETS_FILE));
  });

  it('refuses an expired ticket (device clock past exp + skew) and one from the future', async () => {
    const ticket = await issue('read', { ttlSeconds: 60 });
    host.clock.advance(60_000 + 61_000);
    try {
      const c = await connect();
      assert.match(await c.ask(`ticket ${ticket}`), /^ERR ticket_expired the ticket expired at /);
      c.close();
    } finally {
      host.clock.advance(-(60_000 + 61_000));
    }
    const fresh = await issue('read');
    host.clock.advance(-5 * 60_000);
    try {
      const c = await connect();
      assert.match(await c.ask(`ticket ${fresh}`), /^ERR ticket_not_yet_valid /);
      c.close();
    } finally {
      host.clock.advance(5 * 60_000);
    }
    // Refused tickets are not spent: within its window the same ticket works.
    const c = await connect();
    assert.match(await c.ask(`ticket ${fresh}`), /^OK ticket accepted perm=read/);
    c.close();
  });

  it("refuses another organization's ticket, another device's ticket and tampered tickets", async () => {
    const foreign = (await foreignOrgApi.tickets.issue(foreignDevice.id, { perm: 'admin' })).ticket;
    const wrongDevice = await issue('operate', {}, other.id);
    const good = await issue('operate');
    const [h, p, s] = good.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const escalated = `${h}.${Buffer.from(JSON.stringify({ ...claims, perm: 'admin' })).toString('base64url')}.${s}`;
    const c = await connect();
    assert.match(await c.ask(`ticket ${foreign}`), /^ERR ticket_foreign /);
    assert.match(await c.ask(`ticket ${wrongDevice}`), /^ERR ticket_wrong_device /);
    assert.match(await c.ask(`ticket ${flipped}`), /^ERR ticket_bad_signature /);
    // The third refusal in a session closes it.
    assert.match(await c.line(), /^ERR too_many_failures /);
    await c.closed();
    const d = await connect();
    assert.match(await d.ask(`ticket ${escalated}`), /^ERR ticket_bad_signature /);
    assert.match(await d.ask('ticket not.a-ticket'), /^ERR ticket_malformed /);
    // The untampered ticket still works (refusals spend nothing).
    assert.match(await d.ask(`ticket ${good}`), /^OK ticket accepted perm=operate/);
    d.close();
    const refused = host.events.filter((e) => e.detail['action'] === 'refused');
    assert.ok(refused.some((e) => e.detail['code'] === 'ticket_foreign'));
    assert.ok(refused.every((e) => e.severity === 'warning'));
  });

  it('a read ticket may get and list but not set, reboot or pass through', async () => {
    const c = await connect();
    assert.match(await c.ask('get logging.level'), /^ERR ticket_required /);
    assert.match(await c.ask(`ticket ${await issue('read')}`), /^OK ticket accepted perm=read/);
    assert.equal(await c.ask('help'), 'OK commands: get PATH, list [PREFIX], help, quit');
    assert.match(await c.ask('get network.hostname'), /^OK "dev-1"$/);
    assert.match(
      await c.ask('set logging.level warn'),
      /^ERR permission_denied 'set' needs a ticket of level operate or admin; this one is 'read'$/,
    );
    assert.match(await c.ask('reboot'), /^ERR permission_denied /);
    assert.match(await c.ask('passthrough'), /^ERR permission_denied /);
    assert.notEqual(host.params.get('logging.level'), 'warn');
    assert.equal(host.reboots, 0);
    c.close();
  });

  it('refuses a revoked backup ticket once the revocation has synced', async () => {
    const issued = await t.owner.tickets.issue(device.id, {
      perm: 'operate',
      backup: true,
      ttlSeconds: 7 * 86_400,
    });
    assert.equal(issued.backup, true);
    await t.owner.tickets.revoke(device.id, issued.jti);
    // What the twin carries to the device: `tickets.revoked`, the hub's list of revoked ids.
    const twin = await t.owner.twins.get(device.id);
    const synced = twin.desired.state['tickets'] as { revoked: string[] };
    for (const jti of synced.revoked) host.revoked.add(jti);
    assert.ok(host.revoked.has(issued.jti));
    const c = await connect();
    assert.match(await c.ask(`ticket ${issued.ticket}`), /^ERR ticket_revoked /);
    c.close();
  });

  it('admin: reboot and factory reset (confirmed) run after the session closes; every session is reported', async () => {
    host.events.length = 0;
    const c = await connect();
    assert.match(await c.ask(`ticket ${await issue('admin')}`), /^OK ticket accepted perm=admin/);
    assert.equal(await c.ask('set logging.level warn'), 'OK logging.level = "warn"');
    assert.equal(await c.ask('reboot'), 'OK rebooting');
    await c.closed();
    assert.equal(host.reboots, 1);
    assert.deepEqual(host.actions(), ['opened', 'command', 'command', 'closed']);
    const [opened, set, reboot, closed] = host.events;
    assert.equal(opened?.kind, 'local_session');
    assert.equal(opened?.detail['perm'], 'admin');
    assert.equal(set?.detail['command'], 'set');
    assert.equal(set?.detail['path'], 'logging.level');
    assert.equal(reboot?.detail['command'], 'reboot');
    assert.equal(closed?.detail['reason'], 'reboot');
    assert.equal(opened?.detail['jti'], closed?.detail['jti']);

    const r = await connect();
    assert.match(await r.ask(`ticket ${await issue('admin')}`), /^OK ticket accepted perm=admin/);
    assert.match(await r.ask('factory-reset'), /^ERR confirm_required /);
    assert.equal(host.resets, 0);
    assert.match(await r.ask('factory-reset confirm'), /^OK factory reset/);
    await r.closed();
    assert.equal(host.resets, 1);
    assert.equal(host.events.at(-2)?.severity, 'critical');
  });

  it('limits: line length, sessions, idle time; a use that cannot be recorded is refused', async () => {
    const h = new TestHost(device);
    const s = await start(h, {
      maxSessions: 2,
      idleTimeoutMs: 300,
      maxLineBytes: 2048,
      ticketTimeoutMs: 60_000,
    });
    try {
      const a = await connect(s);
      const b = await connect(s);
      const c = await LineClient.connect(s.port, device);
      open.push(c);
      assert.match(await c.line(), /^ERR busy /);
      await c.closed();
      a.send('x'.repeat(3000));
      assert.match(await a.line(), /^ERR line_too_long /);
      await a.closed();
      assert.match(await b.line(2000), /^ERR idle_timeout /);
      await b.closed();
      assert.ok(h.events.some((e) => e.detail['code'] === 'busy'));

      h.files.failWrites = true;
      const d = await connect(s);
      const ticket = await issue('read');
      assert.match(await d.ask(`ticket ${ticket}`), /^ERR storage_failed /);
      await d.closed();
      h.files.failWrites = false;
      const e = await connect(s);
      assert.match(await e.ask(`ticket ${ticket}`), /^ERR ticket_reused /, 'the ticket is spent');
      e.close();
    } finally {
      await s.stop();
    }
    // A client that never presents a ticket does not keep its slot for the idle timeout.
    const quick = await start(h, { ticketTimeoutMs: 200 });
    try {
      const c = await connect(quick);
      c.send('help');
      assert.match(await c.line(), /^OK send "ticket <ticket>" first/);
      assert.match(await c.line(2000), /^ERR ticket_timeout /);
      await c.closed();
    } finally {
      await quick.stop();
    }
  });

  it('a damaged record of used tickets refuses every ticket issued before it was found', async () => {
    const h = new TestHost(device);
    const before = await issue('read');
    h.files.map.set(USED_TICKETS_FILE, Buffer.from('{not json'));
    const s = await start(h);
    try {
      assert.deepEqual(h.actions(), ['used_tickets_recovered']);
      const c = await connect(s);
      assert.match(await c.ask(`ticket ${before}`), /^ERR ticket_reused /);
      c.close();
    } finally {
      await s.stop();
    }
  });
});
