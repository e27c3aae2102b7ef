/**
 * The management verbs against a real hub process: twins (one device and by tag or location),
 * commands queued for an offline device and run when it connects, presence, device events, alerts,
 * and the hub's refusals (unknown device, bad input) shown as clear errors.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { connect, resolveConnection } from '@bulwark/cli';
import type { BulwarkClient } from '@bulwark/sdk';
import { connectWithKey, startHub, type ManagedHub } from './management-hub.js';

interface Twin {
  desired: { version: number; state: Record<string, unknown> };
  reported: unknown;
  inSync: boolean;
}
interface Cmd {
  id: string;
  state: string;
  result: Record<string, unknown> | null;
  history: { state: string }[];
}

const UNKNOWN = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e';

/** A stand-in device on the management plane: it runs `ping` and refuses anything else. */
async function connectDevice(hub: ManagedHub, id: string, key: string): Promise<MqttClient> {
  const client = await connectWithKey(hub, id, key);
  client.on('message', (topic, payload) => {
    const m = /^\$devices\/[^/]+\/commands\/([^/]+)$/.exec(topic);
    if (m === null) return;
    const req = JSON.parse(payload.toString()) as { name: string; params: Record<string, unknown> };
    const status = (s: unknown): void =>
      void client.publish(`${topic}/status`, JSON.stringify(s), { qos: 1 });
    status({ state: 'delivered' });
    status(
      req.name === 'ping'
        ? { state: 'succeeded', result: { pong: req.params } }
        : { state: 'failed', error: { code: 'unknown_command', message: `no ${req.name}` } },
    );
  });
  await client.subscribeAsync([`$devices/${id}/twin/desired`, `$devices/${id}/commands/+`], {
    qos: 1,
  });
  await client.publishAsync(`$devices/${id}/presence`, JSON.stringify({ online: true }), {
    qos: 1,
    retain: true,
  });
  return client;
}

// Each test is bounded: a hung step fails it instead of stalling the run.
describe('management verbs against a real hub', { timeout: 120_000 }, () => {
  let hub: ManagedHub;
  let api: BulwarkClient;
  const ids: Record<string, string> = {};
  let siteId = '';

  before(async () => {
    hub = await startHub();
    api = connect(resolveConnection({}, hub.env, process.cwd()));
    siteId = (await api.locations.create({ name: 'Plant A', kind: 'site' })).id;
    for (const [name, type, tags, at] of [
      ['pump-1', 'pump', ['north'], siteId],
      ['pump-2', 'pump', ['north'], null],
      ['fan-1', 'fan', ['south'], null],
    ] as const) {
      ids[name] = (await api.devices.create({ name, type, tags: [...tags], locationId: at })).id;
    }
  });
  after(() => hub?.close());

  test('twin get of a new device, twin set with paths, deletes and --if-version', async () => {
    const dev = ids['fan-1']!;
    const fresh = await hub.run(['twin', 'get', dev]);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, /desired\s+version 0 \(never set\)/);
    assert.match(fresh.stdout, /reported\s+never/);
    assert.match(fresh.stdout, /no settings yet/);

    const set = await hub.run([
      'twin',
      'set',
      dev,
      'sampling.intervalSeconds=30',
      '--set',
      'level=debug',
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /desired\s+version 1, changed/);
    assert.match(set.stdout, /sampling\.intervalSeconds\s+30\s+-\s+pending/);
    let t = await hub.json<Twin>(['twin', 'get', dev]);
    assert.deepEqual(t.desired.state, { sampling: { intervalSeconds: 30 }, level: 'debug' });
    assert.equal(t.inSync, false);

    const del = await hub.run(['twin', 'set', dev, 'level=null', '--if-version', '1']);
    assert.equal(del.code, 0, del.stderr);
    t = await hub.json<Twin>(['twin', 'get', dev]);
    assert.deepEqual(t.desired, {
      ...t.desired,
      version: 2,
      state: { sampling: { intervalSeconds: 30 } },
    });

    // A stale --if-version is refused and changes nothing.
    const stale = await hub.run(['twin', 'set', dev, 'level=info', '--if-version', '1']);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /^error: .+ \([a-z_]+\)\n/);
    t = await hub.json<Twin>(['twin', 'get', dev]);
    assert.equal(t.desired.version, 2);
  });

  test('twin set by tag and by location changes exactly the matching devices', async () => {
    const byTag = await hub.json<{ matched: number; updated: number }>([
      'twin',
      'set',
      'logging.level=warn',
      '--tag',
      'north',
    ]);
    assert.deepEqual(byTag, { matched: 2, updated: 2 });
    const byLoc = await hub.json<{ matched: number }>([
      'twin',
      'set',
      'site="A"',
      '--location',
      siteId,
    ]);
    assert.equal(byLoc.matched, 1);
    const p1 = await hub.json<Twin>(['twin', 'get', ids['pump-1']!]);
    const p2 = await hub.json<Twin>(['twin', 'get', ids['pump-2']!]);
    const f1 = await hub.json<Twin>(['twin', 'get', ids['fan-1']!]);
    assert.deepEqual(p1.desired.state, { logging: { level: 'warn' }, site: 'A' });
    assert.deepEqual(p2.desired.state, { logging: { level: 'warn' } });
    assert.equal(f1.desired.state.logging, undefined);
    const text = await hub.run(['twin', 'set', 'x=1', '--type', 'fan']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /matched\s+1 device\nchanged\s+1\n/);
  });

  test('a command for an offline device is queued, listed, shown and can be canceled once', async () => {
    const dev = ids['pump-2']!;
    const sent = await hub.json<Cmd>([
      'command',
      'send',
      dev,
      'reboot',
      '--param',
      'delay=5',
      '--timeout',
      '10m',
    ]);
    assert.equal(sent.state, 'queued');
    const list = await hub.run(['command', 'list', dev, '--state', 'queued']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+NAME\s+STATE\s+CREATED\s+DEADLINE\s+ERROR\n/);
    assert.ok(list.stdout.includes(sent.id));
    const shown = await hub.run(['command', 'get', sent.id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /name\s+reboot\n/);
    assert.match(shown.stdout, /params\s+\{"delay":5\}/);
    const canceled = await hub.json<Cmd>(['command', 'cancel', sent.id]);
    assert.equal(canceled.state, 'canceled');
    const again = await hub.run(['command', 'cancel', sent.id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: /);
    const none = await hub.json<{ items: Cmd[] }>(['command', 'list', dev, '--state', 'queued']);
    assert.equal(none.items.length, 0);

    // Undelivered by its deadline, a command expires; --wait ends on that and exits 1.
    const expired = await hub.run(['command', 'send', dev, 'reboot', '--timeout', '1s', '--wait']);
    assert.equal(expired.code, 1);
    assert.match(expired.stdout, /state\s+expired/);
    assert.match(expired.stderr, /command \S+ expired/);
  });

  test('a queued command runs when its device connects; --wait returns its result', async () => {
    const dev = ids['pump-1']!;
    const { key } = await api.devices.createKey(dev);
    const queued = await hub.json<Cmd>([
      'command',
      'send',
      dev,
      'ping',
      '--param',
      'n=1',
      '--timeout',
      '30s',
    ]);
    assert.equal(queued.state, 'queued');
    const device = await connectDevice(hub, dev, key);
    try {
      const done = await hub.run(['command', 'get', queued.id, '--wait']);
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /state\s+succeeded/);
      assert.match(done.stdout, /result\s+\{"pong":\{"n":1\}\}/);

      const now = await hub.run([
        'command',
        'send',
        dev,
        'ping',
        '--param',
        'n=2',
        '--timeout',
        '30s',
        '--wait',
        '--json',
      ]);
      assert.equal(now.code, 0, now.stderr);
      const c = JSON.parse(now.stdout) as Cmd;
      assert.deepEqual(c.result, { pong: { n: 2 } });
      assert.deepEqual(
        c.history.map((h) => h.state),
        ['queued', 'delivered', 'succeeded'],
      );
      const bad = await hub.run([
        'command',
        'send',
        dev,
        'selfdestruct',
        '--timeout',
        '30s',
        '--wait',
      ]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /failed: unknown_command: no selfdestruct/);

      const online = await hub.run(['device', 'presence', dev]);
      assert.equal(online.code, 0, online.stderr);
      assert.match(online.stdout, /online\s+yes/);

      await device.publishAsync(
        `$devices/${dev}/events`,
        JSON.stringify([
          {
            kind: 'door_open',
            severity: 'warning',
            at: new Date().toISOString(),
            detail: { door: 2 },
          },
        ]),
        { qos: 1 },
      );
      let events = { code: 1, stdout: '', stderr: '' };
      // Events are stored as they arrive from the bus; poll briefly (bounded) for this one.
      for (let i = 0; i < 50 && !events.stdout.includes('door_open'); i++) {
        events = await hub.run(['device', 'events', dev]);
        if (!events.stdout.includes('door_open')) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(events.code, 0, events.stderr);
      assert.match(events.stdout, /warning\s+door_open\s+\{"door":2\}/);
    } finally {
      await device.endAsync();
    }
    let offline = { code: 1, stdout: '', stderr: '' };
    for (let i = 0; i < 50 && !/online\s+no/.test(offline.stdout); i++) {
      offline = await hub.run(['presence', dev]);
      if (!/online\s+no/.test(offline.stdout)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(offline.stdout, /online\s+no/);
  });

  test('a controlled device that drops off opens an alert; alerts show|ack|comment|resolve; it resolves when the device returns', async () => {
    const dev = ids['fan-1']!;
    await api.devices.update(dev, { mode: 'controlled' });
    const { key } = await api.devices.createKey(dev);
    type Alert = {
      id: string;
      deviceId: string;
      kind: string;
      state: string;
      severity: string;
      occurrences: number;
      acknowledgedBy: string | null;
      resolvedBy: string | null;
      comments?: { body: string }[];
    };
    const alerts = (state: string) =>
      hub.json<{ items: Alert[] }>(['alerts', 'list', '--state', state, '--device', dev]);
    const until = async (state: string): Promise<Alert[]> => {
      let found: Alert[] = [];
      for (let i = 0; i < 50 && found.length === 0; i++) {
        found = (await alerts(state)).items;
        if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      return found;
    };
    const first = await connectDevice(hub, dev, key);
    // The link is lost without a DISCONNECT (the socket just goes), as when a device loses power.
    first.stream.destroy();
    const open = await until('open');
    assert.deepEqual(
      open.map((a) => [a.kind, a.state, a.severity]),
      [['device_offline', 'open', 'medium']],
    );
    const id = open[0]!.id;
    const table = await hub.run(['alerts', 'list', '--state', 'open']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      /^ID\s+KIND\s+SEVERITY\s+STATE\s+DEVICE\s+COUNT\s+OPENED\s+RESOLVED\n/,
    );
    assert.match(table.stdout, new RegExp(`device_offline\\s+medium\\s+open\\s+${dev}`));

    // show → ack → comment → show again.
    const shown = await hub.run(['alerts', 'show', id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^id\s+/m);
    assert.match(shown.stdout, /state\s+open/);
    assert.match(shown.stdout, /evidence:/);
    const acked = await hub.json<Alert>(['alerts', 'ack', id]);
    assert.equal(acked.state, 'acknowledged');
    assert.match(acked.acknowledgedBy ?? '', /^api_key:/);
    const again = await hub.run(['alerts', 'ack', id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /alert_state_conflict|acknowledged/);
    assert.equal((await hub.run(['alerts', 'comment', id, 'looking at the fan'])).code, 0);
    const detail = await hub.json<Alert>(['alerts', 'show', id]);
    assert.deepEqual(
      detail.comments?.map((c) => c.body),
      ['looking at the fan'],
    );
    assert.equal(
      (await hub.run(['alerts', 'show', '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e'])).code,
      1,
    );

    // The device returns: the condition ended, the hub resolves it.
    const back = await connectDevice(hub, dev, key);
    const resolved = await until('resolved');
    assert.equal(resolved[0]?.id, id);
    assert.equal(resolved[0]?.resolvedBy, 'system');
    assert.equal((await alerts('open')).items.length, 0);

    // It drops again within the cool-down: the same alert reopens (its count grows) and a person
    // resolves it with `alerts resolve`.
    back.stream.destroy();
    const reopened = await until('open');
    assert.equal(reopened[0]?.id, id);
    assert.equal(reopened[0]?.occurrences, 2);
    const closed = await hub.json<Alert>(['alerts', 'resolve', id]);
    assert.equal(closed.state, 'resolved');
    assert.match(closed.resolvedBy ?? '', /^api_key:/);
    assert.equal((await hub.run(['alerts', 'resolve', id])).code, 1, 'already resolved');
  });

  test("the hub's refusals are clear errors: unknown device, bad id, bad name, too long a deadline", async () => {
    for (const [argv, code] of [
      [['twin', 'get', UNKNOWN], 'not_found'],
      [['twin', 'set', UNKNOWN, 'a=1'], 'not_found'],
      [['command', 'get', UNKNOWN], 'not_found'],
      [['device', 'presence', UNKNOWN], 'not_found'],
      [['command', 'send', UNKNOWN, '9lives'], 'validation_failed'],
      [['command', 'send', UNKNOWN, 'ping', '--timeout', '31d'], 'validation_failed'],
    ] as const) {
      const r = await hub.run([...argv]);
      assert.equal(r.code, 1, `${argv.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, new RegExp(`\\(${code}\\)\\n$`), argv.join(' '));
    }
    // A device's name works where its id does (decision 0029); a name nobody has says so.
    const named = await hub.json<{ deviceId: string }>(['twin', 'get', 'pump-1']);
    assert.equal(named.deviceId, ids['pump-1']);
    const none = await hub.run(['twin', 'get', 'pump-99']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no device named "pump-99"/);
  });

  test('device lwm2m read|write|execute|create|delete|attributes queue commands; /1 is refused', async () => {
    await api.devices.create({ name: 'meter-1', type: 'meter', tags: ['lwm2m'] });
    const q = async (argv: string[]) => hub.json<Cmd & { name: string; params: object }>(argv);
    const read = await q(['device', 'lwm2m', 'read', 'meter-1', '/3/0/9']);
    assert.equal(read.name, 'lwm2m.read');
    assert.equal(read.state, 'queued');
    assert.deepEqual(read.params, { path: '/3/0/9' });
    const disc = await q(['device', 'lwm2m', 'discover', 'meter-1', '/3/0']);
    assert.equal(disc.name, 'lwm2m.discover');
    const write = await q(['device', 'lwm2m', 'write', 'meter-1', '/3/0/14', '+02:00']);
    assert.deepEqual(write.params, { path: '/3/0/14', value: '+02:00' });
    const num = await q(['device', 'lwm2m', 'write', 'meter-1', '/31024/0/1', '7']);
    assert.deepEqual(num.params, { path: '/31024/0/1', value: 7 });
    const exec = await q(['device', 'lwm2m', 'execute', 'meter-1', '/3/0/4', '--args', "0='x'"]);
    assert.deepEqual(exec.params, { path: '/3/0/4', args: "0='x'" });
    const create = await q([
      'device',
      'lwm2m',
      'create',
      'meter-1',
      '/31024',
      '--instance',
      '5',
      '--value',
      '1=7',
      '--value',
      '5=hello',
    ]);
    assert.equal(create.name, 'lwm2m.create');
    assert.deepEqual(create.params, {
      path: '/31024',
      instance: 5,
      values: { '1': 7, '5': 'hello' },
    });
    const del = await q(['device', 'lwm2m', 'delete', 'meter-1', '/31024/5']);
    assert.deepEqual(del.params, { path: '/31024/5' });
    const attrs = await q([
      'device',
      'lwm2m',
      'attributes',
      'meter-1',
      '/3/0/9',
      '--pmin',
      '10',
      '--pmax',
      'none',
    ]);
    assert.deepEqual(attrs.params, { path: '/3/0/9', attributes: { pmin: 10, pmax: null } });
    const refused = await hub.run([
      'device',
      'lwm2m',
      'create',
      'meter-1',
      '/1',
      '--value',
      '1=60',
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /bootstrap server only.*\(validation_failed\)\n$/s);
    const plain = await hub.run(['device', 'lwm2m', 'read', 'pump-1', '/3/0']);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /\(lwm2m_device_required\)\n$/);
  });
});
