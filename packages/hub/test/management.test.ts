/**
 * Device management with the real hub: twin, commands, presence and alerts, events and metrics,
 * bulk operations and tenancy — the device is an MQTT.js client with its device key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic } from '@bulwark/protocol';
import {
  eventually as poll,
  PASSWORD,
  raw,
  rejectsWith,
  setupOwner,
  startTestHub,
  type TestHub,
} from './helpers.js';
import { connectTls, publish, subscribe } from './mqtt-helpers.js';

const eventually = <T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
): Promise<T> => poll(check, what, { everyMs: 50 });

type Owner = Awaited<ReturnType<typeof setupOwner>>;
interface Received {
  topic: string;
  json: Record<string, unknown>;
  retain: boolean;
}

/** Waits until `check` returns a value (not undefined), polling a bounded number of times. */

/** Collects every message a client receives; `next(topicPart)` waits for the next matching one. */
function inbox(client: MqttClient) {
  const got: Received[] = [];
  const waiters: Array<{ match: (m: Received) => boolean; resolve: (m: Received) => void }> = [];
  client.on('message', (topic, payload, packet) => {
    const m = {
      topic,
      json: JSON.parse(payload.toString()) as Record<string, unknown>,
      retain: packet.retain,
    };
    got.push(m);
    for (const w of [...waiters]) {
      if (w.match(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    got,
    next(match: (m: Received) => boolean, ms = 5000): Promise<Received> {
      const seen = got.find(match);
      if (seen) {
        got.splice(got.indexOf(seen), 1);
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching message')), ms);
        waiters.push({
          match,
          resolve: (m) => {
            clearTimeout(timer);
            got.splice(got.indexOf(m), 1);
            resolve(m);
          },
        });
      });
    },
  };
}

describe('device management', () => {
  let t: TestHub;
  let s: Owner;
  const open: MqttClient[] = [];

  const mkDevice = async (
    name: string,
    extra: {
      type?: string;
      tags?: string[];
      mode?: 'autonomous' | 'controlled';
      locationId?: string;
    } = {},
  ) => {
    const d = await s.api.devices.create({ name, type: extra.type ?? 'sensor', ...extra });
    const { key } = await s.api.devices.createKey(d.id);
    return { id: d.id, key };
  };
  /** Connects as the device (username = id, password = key), optionally with a presence will. */
  const connect = async (d: { id: string; key: string }, will = false) => {
    const c = await connectTls(t, {
      clientId: d.id,
      username: d.id,
      password: d.key,
      ...(will
        ? {
            will: {
              topic: deviceTopic.presence(d.id),
              payload: Buffer.from(JSON.stringify({ online: false })),
              qos: 1 as const,
              retain: true,
            },
          }
        : {}),
    });
    open.push(c);
    return c;
  };
  /** Connects, subscribes to everything the hub sends the device, returns its inbox. */
  const online = async (d: { id: string; key: string }, will = false) => {
    const c = await connect(d, will);
    const box = inbox(c);
    for (const f of deviceTopic.inbound(d.id)) assert.deepEqual(await subscribe(c, f, 1), [1]);
    return { c, box };
  };
  const twin = (id: string) => s.api.call('getTwin', { params: { id } });
  const command = (id: string) => s.api.call('getCommand', { params: { id } });
  const sweep = () => t.hub.brokers.devicePlane.sweep();

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(async () => {
    for (const c of open) c.end(true);
    await t.close();
  });

  it('a desired change reaches the device (retained, QoS 1), also on a later subscribe', async () => {
    const d = await mkDevice('twin-1');
    const { box } = await online(d);
    const t1 = await s.api.call('patchDesired', {
      params: { id: d.id },
      body: { patch: { sampling: { intervalSeconds: 10 }, network: { ssid: 'plant' } } },
    });
    assert.equal(t1.desired.version, 1);
    const m1 = await box.next((m) => m.topic === deviceTopic.desired(d.id));
    assert.deepEqual(m1.json, {
      version: 1,
      state: { sampling: { intervalSeconds: 10 }, network: { ssid: 'plant' } },
    });
    assert.equal(m1.retain, true);
    // Merge patch: null deletes, objects merge.
    const t2 = await s.api.call('patchDesired', {
      params: { id: d.id },
      body: { patch: { network: null, sampling: { mode: 'fast' } } },
    });
    assert.deepEqual(t2.desired.state, { sampling: { intervalSeconds: 10, mode: 'fast' } });
    const m2 = await box.next((m) => m.topic === deviceTopic.desired(d.id));
    assert.equal(m2.json['version'], 2);
    // A patch that changes nothing keeps the version.
    const same = await s.api.call('patchDesired', {
      params: { id: d.id },
      body: { patch: { sampling: { mode: 'fast' } } },
    });
    assert.equal(same.desired.version, 2);
    // ifVersion: a stale version is a conflict and changes nothing.
    const stale = await rejectsWith(
      s.api.call('patchDesired', { params: { id: d.id }, body: { patch: { x: 1 }, ifVersion: 1 } }),
      'twin_version_conflict',
    );
    assert.equal(stale.status, 409);
    assert.equal((await twin(d.id)).desired.version, 2);
    // A second connection of the device (after a restart of it) gets the current twin on subscribe.
    const late = await connect(d);
    const lateBox = inbox(late);
    await subscribe(late, deviceTopic.desired(d.id), 1);
    const m3 = await lateBox.next((m) => m.topic === deviceTopic.desired(d.id));
    assert.deepEqual(m3.json, { version: 2, state: t2.desired.state });
    assert.equal(m3.retain, true);
    // Audited with the patch and the versions.
    const audit = await s.api.call('listAudit', { query: { limit: 50 } });
    const entry = audit.items.find(
      (e) => e.action === 'twin.desired.change' && e.targetId === d.id,
    );
    assert.ok(entry, 'desired change audited');
  });

  it('reported state drives delta and inSync; stale reports are ignored', async () => {
    const d = await mkDevice('twin-2');
    const { c } = await online(d);
    await s.api.call('patchDesired', {
      params: { id: d.id },
      body: { patch: { a: 1, net: { ssid: 'x', dhcp: true } } },
    });
    const report = (version: number, state: object, errors: object[] = []) =>
      publish(
        c,
        deviceTopic.reported(d.id),
        JSON.stringify({ version, desiredVersion: 1, state, errors }),
      );
    assert.equal(await report(1, { a: 1, net: { ssid: 'y', dhcp: true }, extra: 5 }), 0);
    const partial = await twin(d.id);
    assert.deepEqual(partial.delta, { net: { ssid: 'x' } });
    assert.equal(partial.inSync, false);
    assert.equal(partial.reported?.version, 1);
    assert.equal(await report(2, { a: 1, net: { ssid: 'x', dhcp: true } }), 0);
    const synced = await twin(d.id);
    assert.deepEqual(synced.delta, {});
    assert.equal(synced.inSync, true);
    // A stale (replayed) report is acknowledged but changes nothing.
    assert.equal(await report(1, { a: 99 }), 0);
    assert.deepEqual((await twin(d.id)).reported?.state, { a: 1, net: { ssid: 'x', dhcp: true } });
    // Errors reported for a value keep the twin out of sync.
    assert.equal(
      await report(3, { a: 1, net: { ssid: 'x', dhcp: true } }, [{ path: 'a', message: 'bad' }]),
      0,
    );
    assert.equal((await twin(d.id)).inSync, false);
  });

  it('a wrong-shape management payload is refused with 0x99 and changes nothing', async () => {
    const d = await mkDevice('twin-3');
    const c = await connect(d);
    assert.equal(
      await publish(
        c,
        deviceTopic.reported(d.id),
        JSON.stringify({ version: 1, desiredVersion: 0, state: {}, errors: [] }),
      ),
      0,
    );
    const before_ = await twin(d.id);
    const reasons: string[] = [];
    c.on('packetreceive', (p) => {
      if (p.cmd === 'puback' && p.properties?.reasonString) reasons.push(p.properties.reasonString);
    });
    for (const bad of [
      'not json',
      JSON.stringify({ version: 'two', desiredVersion: 0, state: {}, errors: [] }),
      JSON.stringify({ version: 5, desiredVersion: 0, state: [], errors: [] }),
      JSON.stringify({ version: 5, desiredVersion: 0, state: {}, errors: 'none' }),
      JSON.stringify({ version: 5, desiredVersion: 0, state: {}, errors: [], surprise: 1 }),
    ]) {
      assert.equal(await publish(c, deviceTopic.reported(d.id), bad), 0x99, bad);
    }
    assert.deepEqual(await twin(d.id), before_);
    assert.ok(
      reasons.some((r) => r.includes('"version" must be')),
      reasons.join(' | '),
    );
    assert.equal(await publish(c, deviceTopic.metrics(d.id), '{"cpuPercent":-1}'), 0x99);
    assert.equal(await publish(c, deviceTopic.events(d.id), '[{"kind":"x"}]'), 0x99);
    assert.equal(await publish(c, deviceTopic.presence(d.id), '{"online":"yes"}'), 0x99);
    assert.equal(await publish(c, deviceTopic.commandStatus(d.id, d.id), '{"state":"done"}'), 0x99);
    // What the hub sends is not the device's to publish.
    assert.equal(await publish(c, deviceTopic.desired(d.id), '{"version":9,"state":{}}'), 0x87);
  });

  it('a command for an offline device is delivered when it subscribes; statuses drive its state', async () => {
    const d = await mkDevice('cmd-1');
    const sent = await s.api.call('sendCommand', {
      params: { id: d.id },
      body: { name: 'reboot', params: { delaySeconds: 5 } },
    });
    assert.equal(sent.state, 'queued');
    assert.equal(Date.parse(sent.deadline) - Date.parse(sent.createdAt), 3600_000);
    const { c, box } = await online(d);
    const m = await box.next((x) => x.topic === deviceTopic.command(d.id, sent.id));
    assert.deepEqual(m.json, {
      id: sent.id,
      name: 'reboot',
      params: { delaySeconds: 5 },
      deadline: sent.deadline,
    });
    const status = (body: object) =>
      publish(c, deviceTopic.commandStatus(d.id, sent.id), JSON.stringify(body));
    assert.equal(await status({ state: 'delivered' }), 0);
    assert.equal((await command(sent.id)).state, 'delivered');
    assert.equal(await status({ state: 'succeeded', result: { rebootedAt: 'now' } }), 0);
    const done = await command(sent.id);
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(done.result, { rebootedAt: 'now' });
    // Terminal states never change: a late failure is ignored, cancel is a conflict.
    assert.equal(await status({ state: 'failed', error: { code: 'x', message: 'late' } }), 0);
    assert.equal((await command(sent.id)).state, 'succeeded');
    await rejectsWith(
      s.api.call('cancelCommand', { params: { id: sent.id }, body: {} }),
      'command_finished',
    );
    assert.deepEqual(
      (await command(sent.id)).history.map((h) => h.state),
      ['queued', 'delivered', 'succeeded'],
    );
    const list = await s.api.call('listCommands', {
      params: { id: d.id },
      query: { state: 'succeeded' },
    });
    assert.deepEqual(
      list.items.map((x) => x.id),
      [sent.id],
    );
    // A command sent while the device is online goes out at once; failure carries the error.
    const live = await s.api.call('sendCommand', {
      params: { id: d.id },
      body: { name: 'selftest', timeoutSeconds: 60 },
    });
    await box.next((x) => x.topic === deviceTopic.command(d.id, live.id));
    assert.equal(
      await publish(
        c,
        deviceTopic.commandStatus(d.id, live.id),
        JSON.stringify({ state: 'failed', error: { code: 'unknown_command', message: 'no' } }),
      ),
      0,
    );
    const failed = await command(live.id);
    assert.equal(failed.state, 'failed');
    assert.deepEqual(failed.error, { code: 'unknown_command', message: 'no' });
  });

  it('a device resuming its persistent session (no new SUBSCRIBE) still gets queued commands', async () => {
    const d = await mkDevice('cmd-persist');
    const opts = {
      clientId: d.id,
      username: d.id,
      password: d.key,
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    };
    const first = await connectTls(t, opts);
    for (const f of deviceTopic.inbound(d.id)) await subscribe(first, f, 1);
    await new Promise<void>((r) => first.end(false, {}, () => r()));
    const cmd = await s.api.call('sendCommand', { params: { id: d.id }, body: { name: 'later' } });
    // Listen before CONNACK: the hub delivers right after it, before any SUBSCRIBE.
    const again = mqtt.connect(`mqtts://127.0.0.1:${t.hub.info.mqttPort}`, {
      ca: t.ca,
      protocolVersion: 5,
      reconnectPeriod: 0,
      ...opts,
    });
    open.push(again);
    const box = inbox(again);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      again.once('connect', resolve);
      again.once('error', reject);
    });
    assert.equal(connack.sessionPresent, true);
    const m = await box.next((x) => x.topic === deviceTopic.command(d.id, cmd.id));
    assert.equal(m.json['name'], 'later');
  });

  it('a command past its deadline expires and is never delivered; cancel stops a queued one', async () => {
    const d = await mkDevice('cmd-2');
    const short = await s.api.call('sendCommand', {
      params: { id: d.id },
      body: { name: 'short', timeoutSeconds: 60 },
    });
    const canceled = await s.api.call('sendCommand', {
      params: { id: d.id },
      body: { name: 'tocancel' },
    });
    const c1 = await s.api.call('cancelCommand', { params: { id: canceled.id }, body: {} });
    assert.equal(c1.state, 'canceled');
    assert.match(c1.history.at(-1)?.reason ?? '', /canceled by/);
    t.clock.advance(61_000);
    await sweep();
    const expired = await command(short.id);
    assert.equal(expired.state, 'expired');
    assert.match(expired.history.at(-1)?.reason ?? '', /deadline/);
    // Expired and canceled stay so: the device's late statuses are ignored.
    const { c, box } = await online(d);
    const fresh = await s.api.call('sendCommand', {
      params: { id: d.id },
      body: { name: 'fresh' },
    });
    const first = await box.next((x) => x.topic.includes('/commands/'));
    assert.equal(first.json['id'], fresh.id, 'only the fresh command is delivered');
    assert.equal(
      await publish(c, deviceTopic.commandStatus(d.id, short.id), '{"state":"succeeded"}'),
      0,
    );
    assert.equal((await command(short.id)).state, 'expired');
    assert.equal((await command(canceled.id)).state, 'canceled');
  });

  it('presence, metrics and events; an unclean drop of a controlled device raises an alert', async () => {
    const d = await mkDevice('pres-1', { mode: 'controlled' });
    const c = await connect(d, true);
    const p1 = await eventually(async () => {
      const p = await s.api.call('getPresence', { params: { id: d.id } });
      return p.online ? p : undefined;
    }, 'online');
    assert.equal(p1.mode, 'controlled');
    assert.ok(p1.since);
    const metrics = {
      at: new Date().toISOString(),
      cpuPercent: 7.5,
      memory: { totalBytes: 1000, availableBytes: 400 },
      disk: { totalBytes: 5000, availableBytes: 2500 },
      uptimeSeconds: 42,
      network: { rxBytes: 10, txBytes: 20 },
      listeningPorts: [22],
      connections: 2,
    };
    assert.equal(await publish(c, deviceTopic.metrics(d.id), JSON.stringify(metrics)), 0);
    assert.deepEqual((await s.api.call('getPresence', { params: { id: d.id } })).metrics, metrics);
    const events = [
      {
        kind: 'local_login',
        severity: 'warning',
        at: new Date().toISOString(),
        detail: { user: 'tech' },
      },
      { kind: 'alarm', severity: 'critical', at: new Date().toISOString(), detail: {} },
      {
        kind: 'local_session',
        severity: 'info',
        at: new Date().toISOString(),
        detail: { action: 'opened', jti: 'tkt-1', perm: 'read', remote: '10.0.0.9' },
      },
    ];
    assert.equal(await publish(c, deviceTopic.events(d.id), JSON.stringify(events)), 0);
    const ev = await s.api.call('listDeviceEvents', { params: { id: d.id } });
    assert.deepEqual(
      ev.items.map((e) => e.kind),
      ['local_session', 'alarm', 'local_login'],
    );
    // A session on the device's local port is in the audit log, by the device.
    const audited = (await s.api.audit.list({ action: 'local_session.opened', target: d.id }))
      .items;
    assert.equal(audited.length, 1);
    assert.equal(audited[0]?.actorType, 'device');
    assert.equal(audited[0]?.source, '10.0.0.9');
    // The link is lost (no DISCONNECT): offline, will published, alert opened.
    c.stream.destroy();
    const alert = await eventually(async () => {
      const a = await s.api.call('listAlerts', { query: { state: 'open', deviceId: d.id } });
      return a.items[0];
    }, 'alert');
    assert.equal(alert.kind, 'device_offline');
    assert.equal((await s.api.call('getPresence', { params: { id: d.id } })).online, false);
    // It comes back: online again and the alert resolves.
    const c2 = await connect(d, true);
    await eventually(async () => {
      const a = await s.api.call('listAlerts', { query: { state: 'resolved', deviceId: d.id } });
      return a.items[0];
    }, 'resolved');
    assert.equal((await s.api.call('getPresence', { params: { id: d.id } })).online, true);
    // A clean DISCONNECT: offline, no alert.
    await new Promise<void>((r) => c2.end(false, {}, () => r()));
    await eventually(async () => {
      const p = await s.api.call('getPresence', { params: { id: d.id } });
      return p.online ? undefined : p;
    }, 'offline');
    const openAlerts = await s.api.call('listAlerts', { query: { state: 'open', deviceId: d.id } });
    assert.equal(openAlerts.items.length, 0);
  });

  it('no alert for an autonomous device (by record or by its presence) dropping off', async () => {
    const auto = await mkDevice('pres-auto', { mode: 'autonomous' });
    const c = await connect(auto, true);
    await eventually(async () => {
      const p = await s.api.call('getPresence', { params: { id: auto.id } });
      return p.online ? p : undefined;
    }, 'online');
    c.stream.destroy();
    await eventually(async () => {
      const p = await s.api.call('getPresence', { params: { id: auto.id } });
      return p.online ? undefined : p;
    }, 'offline');
    // A controlled-by-record device that reports autonomous mode in its presence: no alert either.
    const said = await mkDevice('pres-said', { mode: 'controlled' });
    const c2 = await connect(said, true);
    assert.equal(
      await publish(c2, deviceTopic.presence(said.id), '{"online":true,"mode":"autonomous"}'),
      0,
    );
    assert.equal((await s.api.call('getPresence', { params: { id: said.id } })).mode, 'autonomous');
    c2.stream.destroy();
    await eventually(async () => {
      const p = await s.api.call('getPresence', { params: { id: said.id } });
      return p.online ? undefined : p;
    }, 'offline');
    for (const id of [auto.id, said.id]) {
      const a = await s.api.call('listAlerts', { query: { deviceId: id } });
      assert.equal(a.items.length, 0);
    }
  });

  it('a device left online by a hub node that died is marked offline after 2 minutes', async () => {
    const gone = await mkDevice('reap-gone', { mode: 'controlled' });
    const here = await mkDevice('reap-here', { mode: 'controlled' });
    // As a crashed node leaves it: online, on a connection nobody vouches for any more.
    await t.hub.storage.presence.put({
      orgId: s.orgId,
      deviceId: gone.id,
      online: true,
      mode: null,
      since: t.clock.now(),
      lastSeenAt: t.clock.now(),
      sessionId: 'connection-on-a-dead-node',
      metrics: null,
    });
    await connect(here);
    await eventually(async () => {
      const p = await s.api.call('getPresence', { params: { id: here.id } });
      return p.online ? p : undefined;
    }, 'online');
    t.clock.advance(121_000);
    await t.hub.brokers.devicePlane.heartbeat();
    assert.equal((await s.api.call('getPresence', { params: { id: gone.id } })).online, false);
    const alerts = await s.api.call('listAlerts', { query: { deviceId: gone.id, state: 'open' } });
    assert.equal(alerts.items.length, 1);
    assert.equal((await s.api.call('getPresence', { params: { id: here.id } })).online, true);
    assert.equal(
      (await s.api.call('listAlerts', { query: { deviceId: here.id } })).items.length,
      0,
    );
  });

  it('bulk desired patches and commands by tag, type and location', async () => {
    const site = await s.api.call('createLocation', { body: { name: 'Plant', kind: 'site' } });
    const room = await s.api.call('createLocation', {
      body: { name: 'Hall', kind: 'building', parentId: site.id },
    });
    const a = await mkDevice('bulk-a', { type: 'pump', tags: ['zone:1'] });
    const b = await mkDevice('bulk-b', { type: 'pump', tags: ['zone:2'], locationId: room.id });
    const c = await mkDevice('bulk-c', { type: 'valve', tags: ['zone:1'], locationId: room.id });
    const byTag = await s.api.call('bulkPatchDesired', {
      body: { filter: { tag: 'zone:1' }, patch: { limit: 5 } },
    });
    assert.deepEqual(byTag, { matched: 2, updated: 2 });
    assert.equal((await twin(a.id)).desired.state['limit'], 5);
    assert.equal((await twin(c.id)).desired.state['limit'], 5);
    assert.equal((await twin(b.id)).desired.version, 0);
    const again = await s.api.call('bulkPatchDesired', {
      body: { filter: { tag: 'zone:1' }, patch: { limit: 5 } },
    });
    assert.deepEqual(again, { matched: 2, updated: 0 });
    const byType = await s.api.call('bulkSendCommand', {
      body: { filter: { type: 'pump' }, name: 'flush' },
    });
    assert.equal(byType.matched, 2);
    const targets = await Promise.all(
      byType.commandIds.map(async (id) => (await command(id)).deviceId),
    );
    assert.deepEqual(targets.sort(), [a.id, b.id].sort());
    const byLocation = await s.api.call('bulkSendCommand', {
      body: { filter: { location: site.id, type: 'valve' }, name: 'close', timeoutSeconds: 30 },
    });
    assert.equal(byLocation.matched, 1);
    assert.equal((await command(byLocation.commandIds[0]!)).deviceId, c.id);
    // An empty filter is refused (a fleet-wide change must be asked for with a filter).
    const empty = await raw(t, 'POST', '/devices/bulk/twin', { filter: {}, patch: {} }, s.apiKey);
    assert.equal(empty.status, 400);
  });

  it("another organization's device, twin and commands read as not found", async () => {
    const d = await mkDevice('tenant-1');
    const cmd = await s.api.call('sendCommand', { params: { id: d.id }, body: { name: 'x' } });
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const tokens = await t.client().auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: org2.id,
    });
    const other = t.client(tokens.accessToken);
    await rejectsWith(other.call('getTwin', { params: { id: d.id } }), 'not_found');
    await rejectsWith(
      other.call('patchDesired', { params: { id: d.id }, body: { patch: { a: 1 } } }),
      'not_found',
    );
    await rejectsWith(
      other.call('sendCommand', { params: { id: d.id }, body: { name: 'x' } }),
      'not_found',
    );
    await rejectsWith(other.call('getCommand', { params: { id: cmd.id } }), 'not_found');
    await rejectsWith(
      other.call('cancelCommand', { params: { id: cmd.id }, body: {} }),
      'not_found',
    );
    await rejectsWith(other.call('getPresence', { params: { id: d.id } }), 'not_found');
    await rejectsWith(other.call('listDeviceEvents', { params: { id: d.id } }), 'not_found');
    const bulk = await other.call('bulkSendCommand', {
      body: { filter: { type: 'sensor' }, name: 'x' },
    });
    assert.equal(bulk.matched, 0);
    assert.equal((await command(cmd.id)).state, 'queued');
  });
});
