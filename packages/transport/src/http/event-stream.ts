/**
 * The live event stream (`GET /events/stream`, decision 0038 amendment of 2026-12-07): the
 * organization's domain events as Server-Sent Events, for the console's live views.
 *
 * One listener on the events port feeds a ring of recent events (so a reconnecting client resumes
 * from `Last-Event-ID`) and every open stream. A stream sees only events of its principal's
 * organization whose kind its permissions may read; each is turned into a `LiveEvent` view that
 * carries no addresses or node ids. Every heartbeat re-authenticates the credential the stream was
 * opened with (a logout, a removed membership, a revoked key or an expired token ends the stream
 * with an `end` frame; a revoked API key ends it at once), and picks up changed permissions. A
 * client that does not read is cut off when its backlog passes `maxBufferedBytes`: its memory is
 * bounded, never grown.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DomainEvent, DomainEvents, Principal } from '@bulwark/core';
import type { LiveEvent, Permission } from '@bulwark/protocol';

export interface EventStreamSettings {
  /** Heartbeat and credential re-check interval (default 15 s). */
  heartbeatMs: number;
  /** A stream's unsent backlog beyond which the client is cut off (default 1 MiB). */
  maxBufferedBytes: number;
  /** Recent events kept for `Last-Event-ID` resumption, over all organizations (default 1,024). */
  historySize: number;
}

export const DEFAULT_EVENT_STREAM: EventStreamSettings = {
  heartbeatMs: 15_000,
  maxBufferedBytes: 1 << 20,
  historySize: 1024,
};

/** Why a stream closed (counted by the hub). */
export type StreamCloseReason = 'client' | 'slow' | 'credential_invalid' | 'shutdown';

interface Viewed {
  orgId: string;
  permission: Permission;
  view: LiveEvent;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The view of a domain event a principal of its organization may see, and the permission it needs. */
export function liveView(e: DomainEvent): Viewed | null {
  if (e.orgId === null) return null;
  const at = iso(e.at);
  const read = (view: LiveEvent): Viewed => ({
    orgId: e.orgId!,
    permission: 'devices:read',
    view,
  });
  switch (e.type) {
    case 'device.connected':
    case 'device.session_taken_over':
      return read({ type: e.type, at, deviceId: e.deviceId, transport: e.transport });
    case 'device.disconnected':
      return read({
        type: e.type,
        at,
        deviceId: e.deviceId,
        transport: e.transport,
        reason: e.reason,
        clean: e.clean,
      });
    case 'device.state_changed':
      return read({ type: e.type, at, deviceId: e.deviceId, from: e.from, to: e.to });
    case 'certificate.issued':
    case 'certificate.renewed':
    case 'certificate.revoked':
      return read({ type: e.type, at, deviceId: e.deviceId, serial: e.serial, reason: e.reason });
    case 'device_key.revoked':
      return read({ type: e.type, at, deviceId: e.deviceId, keyId: e.keyId });
    case 'command.transition':
      return read({
        type: e.type,
        at,
        deviceId: e.deviceId,
        commandId: e.commandId,
        state: e.state,
      });
    case 'update_job.transition':
      return read({
        type: e.type,
        at,
        deviceId: e.deviceId,
        jobId: e.jobId,
        state: e.state,
        rolloutId: e.rolloutId,
      });
    case 'rollout.transition':
      return read({ type: e.type, at, deviceId: null, rolloutId: e.rolloutId, state: e.state });
    case 'device.events_reported':
    case 'device.logs_stored':
      return read({ type: e.type, at, deviceId: e.deviceId, count: e.count });
    case 'twin.desired_changed':
    case 'twin.reported_changed':
      return read({ type: e.type, at, deviceId: e.deviceId, version: e.version });
    case 'alert.opened':
    case 'alert.reopened':
    case 'alert.acknowledged':
    case 'alert.resolved':
    case 'alert.changed':
      return read({
        type: e.type,
        at,
        alertId: e.alertId,
        kind: e.kind,
        severity: e.severity,
        deviceId: e.deviceId,
      });
    case 'detect.fired':
    case 'detect.resolved':
      // Detection (its rules and evidence) is read with audit:read (decision 0034).
      return {
        orgId: e.orgId,
        permission: 'audit:read',
        view: { type: e.type, at, deviceId: e.deviceId, ruleId: e.ruleId, subject: e.subject },
      };
    default:
      // Edge security events, rule and channel changes: not for the live views.
      return null;
  }
}

interface Entry extends Viewed {
  seq: number;
}

type Subscriber = (entry: Entry | null, raw: DomainEvent) => void;

/** The ring of recent viewable events and the open streams, fed by one listener on the port. */
export class LiveEvents {
  /** Ids are `<boot>-<seq>`: an id from another node or an earlier run is not resumed. */
  readonly #boot = randomBytes(6).toString('base64url');
  #seq = 0;
  readonly #ring: Entry[] = [];
  readonly #subs = new Set<Subscriber>();
  readonly #closers = new Set<() => void>();
  readonly #stop: () => void;

  constructor(
    events: DomainEvents,
    readonly settings: EventStreamSettings,
  ) {
    this.#stop = events.listen((e) => this.#on(e));
  }

  #on(raw: DomainEvent): void {
    const viewed = liveView(raw);
    let entry: Entry | null = null;
    if (viewed) {
      entry = { ...viewed, seq: ++this.#seq };
      this.#ring.push(entry);
      if (this.#ring.length > this.settings.historySize) this.#ring.shift();
    }
    for (const fn of [...this.#subs]) fn(entry, raw);
  }

  idOf(seq: number): string {
    return `${this.#boot}-${seq}`;
  }

  /** The held events after a stream id, or null when the id is foreign or its gap is gone. */
  since(id: string): Entry[] | null {
    const m = /^([A-Za-z0-9_-]+)-(\d{1,15})$/.exec(id);
    if (!m || m[1] !== this.#boot) return null;
    const after = Number(m[2]);
    if (after > this.#seq) return null;
    const oldest = this.#ring[0]?.seq ?? this.#seq + 1;
    if (after < oldest - 1) return null;
    return this.#ring.filter((e) => e.seq > after);
  }

  subscribe(fn: Subscriber, close: () => void): () => void {
    this.#subs.add(fn);
    this.#closers.add(close);
    return () => {
      this.#subs.delete(fn);
      this.#closers.delete(close);
    };
  }

  /** The number of open streams. */
  get open(): number {
    return this.#subs.size;
  }

  /** Ends every open stream (server shutdown) and stops listening. */
  close(): void {
    for (const close of [...this.#closers]) close();
    this.#stop();
  }
}

export interface OpenStream {
  live: LiveEvents;
  principal: Principal;
  /** Checks the stream's credential again: the principal it stands for now, or a throw. */
  reauthenticate: () => Promise<Principal>;
  deviceId?: string;
  lastEventId?: string;
  onClose?: (reason: StreamCloseReason) => void;
}

/** Opens one client's stream: a byte stream of SSE frames that ends when the hub ends it. */
export function openEventStream(o: OpenStream): Readable {
  const { live } = o;
  const { heartbeatMs, maxBufferedBytes } = live.settings;
  let p = o.principal;
  let closedFor: StreamCloseReason | null = null;
  const out = new Readable({
    read() {
      /* frames are pushed as events arrive; the backlog is bounded below */
    },
  });

  const send = (frame: string) => {
    if (closedFor !== null || out.destroyed) return;
    out.push(frame);
    // The client stopped reading (the socket and the response's buffer are full): cut it off.
    if (out.readableLength > maxBufferedBytes) {
      stop('slow');
      out.destroy(new Error('event stream client too slow: cut off'));
    }
  };
  const visible = (e: Entry) =>
    e.orgId === p.orgId &&
    p.permissions.includes(e.permission) &&
    (o.deviceId === undefined || e.view.deviceId === o.deviceId);
  const frame = (e: Entry) => `id: ${live.idOf(e.seq)}\ndata: ${JSON.stringify(e.view)}\n\n`;

  const end = (reason: StreamCloseReason) => {
    if (closedFor !== null) return;
    send(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
    stop(reason);
    out.push(null);
  };
  const unsubscribe = live.subscribe(
    (entry, raw) => {
      if (entry && visible(entry)) send(frame(entry));
      else if (raw.type === 'api_key.revoked' && p.kind === 'api_key' && raw.keyId === p.id)
        end('credential_invalid');
    },
    () => end('shutdown'),
  );
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    o.reauthenticate().then(
      (next) => {
        checking = false;
        if (next.orgId !== p.orgId || next.id !== p.id) return end('credential_invalid');
        p = next; // permissions may have changed
        send(': heartbeat\n\n');
      },
      () => {
        checking = false;
        end('credential_invalid');
      },
    );
  }, heartbeatMs);
  timer.unref();

  function stop(reason: StreamCloseReason) {
    if (closedFor !== null) return;
    closedFor = reason;
    clearInterval(timer);
    unsubscribe();
    o.onClose?.(reason);
  }
  out.on('close', () => stop('client'));

  // The first frame goes at once, so the response's headers leave now.
  send('retry: 3000\n\n');
  if (o.lastEventId !== undefined) {
    const missed = live.since(o.lastEventId);
    if (missed === null) send('event: reset\ndata: {}\n\n');
    else for (const e of missed) if (visible(e)) send(frame(e));
  }
  send('event: ready\ndata: {}\n\n');
  return out;
}
