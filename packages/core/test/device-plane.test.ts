/**
 * The device plane behind its link port (decision 0015), without sockets: a recording link and
 * in-memory stand-ins for the services. What a session takes is delivered once per session and
 * again on a new one; a refused delivery is tried again; reports are routed by the topic grammar
 * and a bad payload changes nothing; an update job is offered, or its cancel asked, on the link.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import {
  BulwarkError,
  type DesiredTwin,
  type ReportedTwin,
  type UpdateOffer,
} from '@bulwark/protocol';
import {
  DevicePlane,
  ManagementSignals,
  type CommandRecord,
  type DeviceOutbound,
  type DevicePlaneDeps,
  type DeviceSession,
  type UpdateJobRecord,
} from '@bulwark/core';

const ORG = 'org-1';
const DEV = 'dev-1';
const session = (sessionId: string): DeviceSession => ({ orgId: ORG, deviceId: DEV, sessionId });
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

function command(id: string): CommandRecord {
  return {
    id,
    orgId: ORG,
    deviceId: DEV,
    name: 'ping',
    params: {},
    state: 'queued',
    deadline: Date.parse('2030-01-01T00:00:00Z'),
  } as unknown as CommandRecord;
}

function job(over: Partial<UpdateJobRecord> = {}): UpdateJobRecord {
  return {
    id: 'job-1',
    actionId: 1,
    orgId: ORG,
    deviceId: DEV,
    artifactId: 'a-1',
    rolloutId: null,
    origin: 'deploy',
    state: 'queued',
    progress: null,
    reason: null,
    message: null,
    delta: null,
    history: [{ state: 'queued', at: 0, by: 'user u' }],
    cancelRequested: null,
    createdBy: 'user u',
    createdAt: 0,
    updatedAt: 0,
    deadline: 1,
    ...over,
  };
}

/** A device plane on stand-ins; `accept` decides whether the link takes a delivery. */
function rig(
  o: { desired?: DesiredTwin; commands?: CommandRecord[]; open?: UpdateJobRecord } = {},
) {
  const sent: { session: string; message: DeviceOutbound }[] = [];
  const calls: string[] = [];
  let accept = true;
  const signals = new ManagementSignals();
  let open = o.open;
  const deps: DevicePlaneDeps = {
    twins: {
      desired: async () =>
        o.desired && { orgId: ORG, deviceId: DEV, ...o.desired, updatedAt: 0, updatedBy: null },
      desiredVersions: async () => new Map([[DEV, o.desired?.version ?? 0]]),
      acceptReported: async (_o: string, _d: string, r: ReportedTwin) => {
        calls.push(`reported v${r.version}`);
        return true;
      },
    },
    commands: {
      pending: async () => o.commands ?? [],
      acceptStatus: async (_o: string, _d: string, id: string) => {
        calls.push(`status ${id}`);
      },
      expireDue: async () => 0,
    } as unknown as DevicePlaneDeps['commands'],
    presence: {
      connected: async (_o: string, _d: string, s: string) => void calls.push(`online ${s}`),
      disconnected: async (_o: string, _d: string, s: string, how: { clean: boolean }) =>
        void calls.push(`offline ${s} clean=${how.clean}`),
      report: async () => undefined,
      events: async () => 0,
      metrics: async () => undefined,
      heartbeat: async () => 0,
      reapStale: async () => 0,
    },
    tickets: { recordLocalSession: async () => undefined },
    logs: {
      ingest: async (_o: string, _d: string, b: { records: unknown[] }) => {
        calls.push(`logs ${b.records.length}`);
        return b.records.length;
      },
    },
    updates: {
      openFor: async () => open,
      openForDevices: async () => (open ? [open] : []),
      list: async () => ({ items: open ? [open] : [], nextCursor: null }),
      get: async () => open!,
      offerFor: async (j: UpdateJobRecord) =>
        ({ action: 'install', id: j.id }) as unknown as UpdateOffer,
      delivered: async (_o: string, id: string) => {
        calls.push(`delivered ${id}`);
        return true;
      },
      abandon: async () => true,
      sweepOverdue: async () => 0,
      report: async (_o: string, _d: string, id: string) => {
        calls.push(`update status ${id}`);
        return 'applied' as const;
      },
      installedReported: async () => undefined,
    } as unknown as DevicePlaneDeps['updates'],
    signals,
    link: {
      deliver(s, message) {
        if (!accept) return false;
        sent.push({ session: s.sessionId, message });
        return true;
      },
    },
    log: { warn: (_o, m) => calls.push(`warn ${m}`) },
  };
  const plane = new DevicePlane(deps);
  return {
    plane,
    sent,
    calls,
    signals,
    refuse: (yes: boolean) => (accept = !yes),
    setOpen: (j: UpdateJobRecord | undefined) => (open = j),
    kinds: () => sent.map((x) => x.message.kind),
  };
}

describe('the device plane behind its link port', () => {
  it('delivers the desired twin and queued commands once per session, again on a new one', async () => {
    const r = rig({ desired: { version: 4, state: { a: 1 } }, commands: [command('c1')] });
    r.plane.connected(session('s1'));
    r.plane.subscribed(session('s1'), ['desired', 'command']);
    await tick();
    assert.deepEqual(r.sent, [
      { session: 's1', message: { kind: 'desired', body: { version: 4, state: { a: 1 } } } },
      {
        session: 's1',
        message: {
          kind: 'command',
          body: { id: 'c1', name: 'ping', params: {}, deadline: '2030-01-01T00:00:00.000Z' },
        },
      },
    ]);
    await r.plane.sweep();
    assert.equal(r.sent.length, 2, 'nothing twice on the same session');
    r.plane.disconnected(session('s1'), { clean: false, reason: 'keepalive' });
    r.plane.connected(session('s2'));
    r.plane.subscribed(session('s2'), ['desired', 'command']);
    await tick();
    assert.deepEqual(
      r.sent.slice(2).map((x) => [x.session, x.message.kind]),
      [
        ['s2', 'desired'],
        ['s2', 'command'],
      ],
    );
    await r.plane.drain();
    assert.ok(r.calls.includes('offline s1 clean=false'));
  });

  it('tries a delivery the link refused again in the next sweep', async () => {
    const r = rig({ desired: { version: 2, state: {} } });
    r.plane.connected(session('s1'));
    r.refuse(true);
    r.plane.subscribed(session('s1'), ['desired']);
    await tick();
    assert.equal(r.sent.length, 0);
    r.refuse(false);
    await r.plane.sweep();
    assert.deepEqual(r.kinds(), ['desired']);
  });

  it('routes reports by the topic grammar; a bad payload is refused and changes nothing', async () => {
    const r = rig();
    const s = session('s1');
    r.plane.connected(s);
    const reported = { version: 1, desiredVersion: 0, state: {}, errors: [] };
    assert.equal(await r.plane.report(s, 'twin/reported', bytes(reported)), true);
    assert.equal(
      await r.plane.report(s, 'commands/c9/status', bytes({ state: 'delivered' })),
      true,
    );
    assert.equal(
      await r.plane.report(s, 'updates/job-1/status', bytes({ state: 'delivered' })),
      true,
    );
    await assert.rejects(
      r.plane.report(s, 'twin/reported', bytes({ ...reported, version: 'two' })),
      (e: unknown) => e instanceof BulwarkError && e.code === 'device_payload_invalid',
    );
    // The hub's own messages and anything else are not the plane's to take.
    assert.equal(await r.plane.report(s, 'twin/desired', bytes({})), false);
    assert.equal(await r.plane.report(s, 'custom/thing', bytes({})), false);
    assert.deepEqual(
      r.calls.filter((c) => !c.startsWith('online')),
      ['reported v1', 'status c9', 'update status job-1'],
    );
  });

  it('offers the open update job on the link and marks it delivered', async () => {
    const r = rig({ open: job() });
    r.plane.connected(session('s1'));
    r.plane.subscribed(session('s1'), ['updateOffer']);
    await tick();
    await tick();
    assert.deepEqual(r.sent, [
      {
        session: 's1',
        message: { kind: 'updateOffer', body: { action: 'install', id: 'job-1' } as UpdateOffer },
      },
    ]);
    assert.ok(r.calls.includes('delivered job-1'));
  });

  it('asks the device to cancel a job with a pending request, once per session', async () => {
    const asked = job({ state: 'downloading', cancelRequested: { by: 'user u', at: 5 } });
    const r = rig({ open: job({ state: 'downloading' }) });
    r.plane.connected(session('s1'));
    r.plane.subscribed(session('s1'), ['updateOffer']);
    await tick();
    await tick();
    r.setOpen(asked);
    r.signals.emit('updateJobCancelRequested', asked);
    r.signals.emit('updateJobCancelRequested', asked);
    await r.plane.sweep();
    const cancels = r.sent.filter(
      (x) => x.message.kind === 'updateOffer' && x.message.body.action === 'cancel',
    );
    assert.deepEqual(
      cancels.map((x) => x.message.body),
      [{ action: 'cancel', id: 'job-1' }],
    );
    // A new session is asked again, and not offered the install.
    r.plane.connected(session('s2'));
    r.plane.subscribed(session('s2'), ['updateOffer']);
    await tick();
    await tick();
    assert.deepEqual(
      r.sent.filter((x) => x.session === 's2').map((x) => x.message.body),
      [{ action: 'cancel', id: 'job-1' }],
    );
  });

  it('once stopped, a lost session is the hub going down, and a will is not the device', async () => {
    const r = rig();
    const s = session('s1');
    r.plane.connected(s);
    r.plane.stop();
    assert.equal(
      await r.plane.report(s, 'presence', bytes({ online: false }), { will: true }),
      true,
    );
    r.plane.disconnected(s, { clean: false, reason: 'engine_closed' });
    await r.plane.drain();
    assert.ok(r.calls.includes('offline s1 clean=true'), r.calls.join());
  });
});
