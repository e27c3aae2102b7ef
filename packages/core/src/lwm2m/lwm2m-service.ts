/**
 * LwM2M clients as Bulwark devices (decision 0043): the registration interface binds an endpoint
 * to a device and drives its presence; the server then reads /3/0 into the twin, writes desired
 * values, observes what the desired twin names (notifications land in a channel as SenML, through
 * the one messaging ingest path), and runs commands as Execute / Read / Write. The CoAP wire is
 * the `Lwm2mLink` port; this service holds the registrations of this hub node.
 */
import { BulwarkError, type TwinState } from '@bulwark/protocol';
import type { AuditService } from '../audit/audit-service.js';
import { DEVICE_PLANES } from '../edge/policy.js';
import type { CommandService } from '../management/command-service.js';
import type { PresenceService } from '../management/presence-service.js';
import type { ManagementSignals } from '../management/signals.js';
import type { TwinService } from '../management/twin-service.js';
import type { MessagingService } from '../messaging/messaging-service.js';
import type { Clock } from '../ports/clock.js';
import type { CommandRecord } from '../ports/management.js';
import type { Storage } from '../ports/storage.js';
import { AdmissionError, type EdgePrincipal } from '../edge/principal.js';
import type { Admission } from '../edge/admission.js';
import type { Lwm2mRecord } from './content.js';
import { runLwm2mCommand, isLwm2mCommand } from './commands.js';
import { codeOf, dropQueuedAfterCut, writeAttributes } from './held-work.js';
import { formatPath, parsePath } from './path.js';
import {
  type Lwm2mBinding,
  type Lwm2mEnd,
  type Lwm2mLink,
  type Lwm2mRegistration,
  type Lwm2mSecurity,
} from './registration.js';
import { desiredOf, mergeRecords, valueAt } from './twin-shape.js';

/** The tag a device carries to be registered by its id over plain CoAP (decision 0043). */
export const LWM2M_TAG = 'lwm2m';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Refusals audited per (source, endpoint) at most once a minute: a flood writes no flood of rows. */
const REFUSAL_AUDIT_EVERY_MS = 60_000;
const MAX_REFUSALS_REMEMBERED = 10_000;

/** A registration bound to a device. */
interface Held {
  reg: Lwm2mRegistration;
  orgId: string;
  deviceId: string;
  device: Lwm2mBinding['device'];
  credential?: Lwm2mBinding['credential'];
  sessionId: string;
  observing: Set<string>;
  /** The desired version last synced (-1: never). */
  synced: number;
  /** Queue mode (Core §6.5): reachable until then, after its last message; else work is held. */
  awakeUntil: number;
  /** A desired sync and/or commands wait for the client's next message (queue mode). */
  heldSync: boolean;
  heldCommands: boolean;
  /** Notification attributes written (path → their JSON). */
  attributes: Map<string, string>;
}

/**
 * How long a client in queue mode listens after its last message: CoAP's MAX_TRANSMIT_WAIT
 * (93 s, RFC 7252 §4.8.2), which Core §6.5 names as the default.
 */
export const QUEUE_AWAKE_MS = 93_000;

/** What the service reports to an operator. */
export interface Lwm2mLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** The LwM2M service's dependencies. */
export interface Lwm2mDeps {
  storage: Pick<Storage, 'devices'>;
  twins: Pick<TwinService, 'get' | 'acceptReported' | 'desiredVersions'>;
  presence: Pick<PresenceService, 'connected' | 'disconnected' | 'heartbeat' | 'report'>;
  commands: Pick<CommandService, 'acceptStatus' | 'pending'>;
  messaging: Pick<MessagingService, 'ingest'>;
  audit: Pick<AuditService, 'record'>;
  signals: ManagementSignals;
  link: Lwm2mLink;
  clock: Clock;
  log: Lwm2mLogger;
  /** The one admission rule, for registrations over DTLS (without it they are refused). */
  admission?: Pick<Admission, 'admit'>;
  /** Queue mode's awake window after each client message (default `QUEUE_AWAKE_MS`). */
  awakeMs?: number;
}

/** LwM2M device management on one hub node. */
export class Lwm2mService {
  readonly #held = new Map<string, Held>();
  readonly #byDevice = new Map<string, string>();
  readonly #chains = new Map<string, Promise<unknown>>();
  readonly #running = new Set<string>();
  readonly #refusals = new Map<string, number>();
  #unlisten: (() => void) | null = null;

  constructor(private readonly d: Lwm2mDeps) {}

  /** Listens for desired changes and queued commands of the devices registered here. */
  start(): void {
    this.#unlisten = this.d.signals.listen({
      desiredChanged: (r) => {
        const h = this.#find(r.orgId, r.deviceId);
        if (h) this.#syncSoon(h);
      },
      commandQueued: (c) => {
        const h = this.#find(c.orgId, c.deviceId);
        if (h && isLwm2mCommand(c.name)) void this.#command(h, c);
      },
    });
  }

  stop(): void {
    this.#unlisten?.();
  }

  /**
   * Binds an endpoint name to a device: the name is the device's id, the device carries the
   * `lwm2m` tag and is not decommissioned. Over DTLS (`security`) the PSK identity, device
   * certificate or pinned raw public key is the credential: the one admission rule must admit it
   * as that very device. Anything else is `forbidden`, audited (throttled).
   */
  async bind(endpoint: string, source: string, security?: Lwm2mSecurity): Promise<Lwm2mBinding> {
    const refuse = async (orgId: string | null, why: string): Promise<never> => {
      await this.#auditRefusal(orgId, endpoint, source, why);
      throw new BulwarkError('forbidden', `LwM2M endpoint refused: ${why}`);
    };
    let device: Lwm2mBinding['device'] | undefined;
    let orgId: string | null | undefined;
    let credential: Lwm2mBinding['credential'];
    if (security !== undefined) {
      const admitted = await this.#admit(endpoint, source, security).catch((err: unknown) => {
        if (!(err instanceof AdmissionError)) throw err;
        return err;
      });
      if (admitted instanceof AdmissionError) return refuse(admitted.orgId, admitted.message);
      ({ device, orgId, credential } = admitted);
    } else {
      if (!UUID.test(endpoint)) return refuse(null, 'the endpoint name is not a device id');
      orgId = await this.d.storage.devices.orgOf(endpoint);
      device = orgId ? await this.d.storage.devices.get(orgId, endpoint) : undefined;
    }
    if (!orgId || !device) return refuse(null, 'no such device');
    if (!device.tags.includes(LWM2M_TAG))
      return refuse(orgId, `the device lacks the "${LWM2M_TAG}" tag`);
    if (device.state === 'decommissioned') return refuse(orgId, 'the device is decommissioned');
    if (!DEVICE_PLANES[device.state].includes('management')) {
      return refuse(orgId, `a ${device.state} device has no management plane`);
    }
    return { orgId, deviceId: device.id, device, ...(credential ? { credential } : {}) };
  }

  /**
   * The credential of a DTLS association (PSK identity, certificate or raw public key), admitted
   * as the device the endpoint names.
   */
  async #admit(endpoint: string, source: string, sec: Lwm2mSecurity) {
    if (!this.d.admission) throw new BulwarkError('forbidden', 'LwM2M over DTLS is not wired');
    const p = await this.d.admission.admit({
      credential: sec.credential ?? { kind: 'psk', identity: sec.identity, ref: sec.pskRef },
      transport: 'coap',
      source: source.slice(0, Math.max(0, source.lastIndexOf(':'))) || source,
      claims: { deviceId: endpoint },
    });
    // These credentials name devices only (admission never makes an application of one).
    if (p.type !== 'device')
      throw new BulwarkError('forbidden', 'a DTLS credential names a device');
    return p;
  }

  /** A client registered (after its 2.01): presence, twin, first read, desired, observations. */
  async registered(reg: Lwm2mRegistration, b: Lwm2mBinding): Promise<void> {
    const old = this.#find(b.orgId, b.deviceId);
    if (old && old.reg.location !== reg.location) await this.ended(old.reg, 'replaced');
    const h: Held = {
      reg,
      ...b,
      sessionId: `lwm2m:${reg.location}`,
      observing: new Set(),
      synced: -1,
      awakeUntil: this.d.clock.now() + this.#awakeMs,
      heldSync: false,
      heldCommands: false,
      attributes: new Map(),
    };
    this.#held.set(reg.location, h);
    this.#byDevice.set(`${b.orgId}/${b.deviceId}`, reg.location);
    await this.d.presence.connected(b.orgId, b.deviceId, h.sessionId);
    await this.d.audit.record({
      orgId: b.orgId,
      actorType: 'device',
      actorId: b.deviceId,
      action: 'lwm2m.registered',
      targetType: 'device',
      targetId: b.deviceId,
      source: reg.address,
      result: 'success',
      detail: { endpoint: reg.endpoint, lifetime: reg.lifetime, version: reg.version },
    });
    await this.#serial(h, async () => {
      await this.#report(h, (s) => s);
      if (!this.#live(h)) return;
      const records = await this.d.link.read(reg.location, '/3/0');
      await this.#report(h, (s) => ({ ...s, objects: mergeRecords(objectsOf(s), records) }));
      await this.#sync(h);
    });
    for (const c of await this.d.commands.pending(b.orgId, [b.deviceId])) {
      if (isLwm2mCommand(c.name)) void this.#command(h, c);
    }
  }

  /** A registration update: presence seen, the twin's registration refreshed. */
  async updated(reg: Lwm2mRegistration): Promise<void> {
    const h = this.#held.get(reg.location);
    if (!h) return;
    // Over DTLS the credential is checked again at every Update (the safety net for a revoked
    // key, certificate or pin whose event this node missed): a refusal throws, and the wire ends
    // the registration.
    if (reg.security !== undefined) {
      await this.#admit(reg.endpoint, reg.address, reg.security).catch((err: unknown) => {
        if (err instanceof AdmissionError)
          throw new BulwarkError('forbidden', `LwM2M registration refused: ${err.message}`);
        throw err;
      });
    }
    h.reg = reg;
    await this.d.presence.report(h.orgId, h.deviceId, h.sessionId, { online: true }, false);
    await this.#serial(h, () => this.#report(h, (s) => s));
    this.#woke(h);
  }

  /** A registration ended: offline (unclean unless de-registered), the twin says unregistered. */
  async ended(reg: Lwm2mRegistration, why: Lwm2mEnd): Promise<void> {
    const h = this.#held.get(reg.location);
    if (!h) return;
    this.#held.delete(reg.location);
    if (this.#byDevice.get(`${h.orgId}/${h.deviceId}`) === reg.location)
      this.#byDevice.delete(`${h.orgId}/${h.deviceId}`);
    if (why === 'shutdown') return; // another node may take the client over; reapStale decides
    await this.d.presence.disconnected(h.orgId, h.deviceId, h.sessionId, {
      // A cut (quarantine, decommission) is the hub's doing, not a lost device: no offline alert.
      clean: why === 'deregistered' || why === 'replaced' || why === 'cut',
      reason: `LwM2M registration ${why}`,
    });
    await this.d.audit.record({
      orgId: h.orgId,
      actorType: why === 'deregistered' ? 'device' : 'system',
      actorId: why === 'deregistered' ? h.deviceId : null,
      action: 'lwm2m.deregistered',
      targetType: 'device',
      targetId: h.deviceId,
      source: reg.address,
      result: 'success',
      detail: { endpoint: reg.endpoint, reason: why },
    });
    await this.#serial(h, () => this.#report(h, (s) => s, false)).catch(this.#warn(h, 'twin'));
    if (why === 'cut') {
      await dropQueuedAfterCut(this.d, h.orgId, h.deviceId).catch(
        this.#warn(h, 'dropping queued requests'),
      );
    }
  }

  /** An Observe notification: into the twin and, when the desired twin names one, a channel. */
  async notified(location: string, records: Lwm2mRecord[]): Promise<void> {
    const h = this.#held.get(location);
    if (!h || records.length === 0) return;
    this.#woke(h);
    await this.#serial(h, () =>
      this.#report(h, (s) => ({ ...s, objects: mergeRecords(objectsOf(s), records) })),
    );
    const channel = desiredOf((await this.d.twins.get(h.orgId, h.deviceId)).desired.state).channel;
    if (channel) await this.#ingest(h, channel, records);
  }

  /**
   * The 1.1 Send operation (POST /dp, Core §6.4.7): the records land in the desired twin's
   * channel. No channel configured is `not_found`; a closed channel plane or a missing publish
   * right is refused by the ingest path.
   */
  async sent(location: string, records: Lwm2mRecord[]): Promise<void> {
    const h = this.#held.get(location);
    if (!h) throw new BulwarkError('not_found', 'not registered');
    this.#woke(h);
    const channel = desiredOf((await this.d.twins.get(h.orgId, h.deviceId)).desired.state).channel;
    if (!channel) throw new BulwarkError('not_found', 'no channel is configured (lwm2m.channel)');
    await this.#ingest(h, channel, records);
  }

  /**
   * Catches up with changes made on other hub nodes (their signals do not reach this one): desired
   * versions not yet synced and queued commands of the devices registered here, per organization.
   */
  async sweep(): Promise<void> {
    const byOrg = new Map<string, Held[]>();
    for (const h of this.#held.values()) byOrg.set(h.orgId, [...(byOrg.get(h.orgId) ?? []), h]);
    for (const [orgId, hs] of byOrg) {
      const versions = await this.d.twins.desiredVersions(
        orgId,
        hs.map((h) => h.deviceId),
      );
      for (const h of hs) {
        const v = versions.get(h.deviceId) ?? 0;
        if (v > h.synced && h.synced >= 0) this.#syncSoon(h);
      }
      const byDevice = new Map(hs.map((h) => [h.deviceId, h]));
      for (const c of await this.d.commands.pending(orgId, [...byDevice.keys()])) {
        const h = byDevice.get(c.deviceId);
        if (h && isLwm2mCommand(c.name)) void this.#command(h, c);
      }
    }
  }

  /** Vouches for this node's registrations (presence reaping spares them). */
  async heartbeat(): Promise<void> {
    const byOrg = new Map<string, string[]>();
    for (const h of this.#held.values()) {
      const l = byOrg.get(h.orgId) ?? [];
      l.push(h.sessionId);
      byOrg.set(h.orgId, l);
    }
    for (const [orgId, ids] of byOrg) await this.d.presence.heartbeat(orgId, ids);
  }

  /**
   * The registrations of this node as edge principals, for access changes (quarantine,
   * decommission cut them). A plain-CoAP registration holds no credential: its reference names
   * the registration (`lwm2m:<location>`), which no key or certificate revocation matches.
   */
  principals(): { location: string; principal: EdgePrincipal }[] {
    return [...this.#held.values()].map((h) => ({
      location: h.reg.location,
      principal: {
        type: 'device',
        id: h.deviceId,
        orgId: h.orgId,
        state: h.device.state,
        device: h.device,
        // Over DTLS the credential admitted (PSK identity, certificate serial, pin), so replacing
        // or removing it, or revoking the certificate, ends the registration.
        credential:
          h.credential ??
          (h.reg.security
            ? { kind: 'psk', identity: h.reg.security.identity }
            : { kind: 'device_key', keyId: `lwm2m:${h.reg.location}` }),
      },
    }));
  }

  /** The registration of a device on this node, if any. */
  registration(orgId: string, deviceId: string): Lwm2mRegistration | undefined {
    return this.#find(orgId, deviceId)?.reg;
  }

  /** How many registrations this node holds. */
  get size(): number {
    return this.#held.size;
  }

  // ---- internals -------------------------------------------------------------------------------

  #find(orgId: string, deviceId: string): Held | undefined {
    const loc = this.#byDevice.get(`${orgId}/${deviceId}`);
    return loc === undefined ? undefined : this.#held.get(loc);
  }

  #live(h: Held): boolean {
    return this.#held.get(h.reg.location) === h;
  }

  /** Runs `fn` after the device's previous twin work: reports never race each other. */
  #serial<T>(h: Held, fn: () => Promise<T>): Promise<T> {
    const key = `${h.orgId}/${h.deviceId}`;
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    this.#chains.set(key, tail);
    void tail.then(() => {
      if (this.#chains.get(key) === tail) this.#chains.delete(key);
    });
    return next;
  }

  /** Writes the desired values the device does not report yet, then observes what is asked. */
  async #sync(h: Held): Promise<void> {
    if (!this.#live(h)) return;
    if (!this.#reachable(h)) {
      h.heldSync = true; // queue mode: at the client's next message
      return;
    }
    const twin = await this.d.twins.get(h.orgId, h.deviceId);
    h.synced = twin.desired.version;
    const want = desiredOf(twin.desired.state);
    const reported = twin.reported?.state;
    const errors: { path: string; code: string; message: string }[] = [];
    const written: string[] = [];
    for (const [path, value] of want.writes) {
      if (valueAt(reported?.['objects'], path) === value) continue;
      try {
        await this.d.link.write(h.reg.location, path, value);
        written.push(path);
      } catch (err) {
        errors.push({ path, code: codeOf(err), message: (err as Error).message });
      }
    }
    const readBack: Lwm2mRecord[] = [];
    for (const path of written) readBack.push(...(await this.d.link.read(h.reg.location, path)));
    await writeAttributes(this.d.link, h.reg.location, want.attributes, h.attributes, errors);
    for (const path of want.observe) {
      if (h.observing.has(path)) continue;
      try {
        formatPath(parsePath(path));
        const first = await this.d.link.observe(h.reg.location, path, (recs) => {
          void this.notified(h.reg.location, recs).catch(this.#warn(h, 'notification'));
        });
        h.observing.add(path);
        readBack.push(...first);
      } catch (err) {
        errors.push({ path, code: codeOf(err), message: (err as Error).message });
      }
    }
    await this.#report(
      h,
      (s) => ({ ...s, objects: mergeRecords(objectsOf(s), readBack) }),
      true,
      twin.desired.version,
      errors,
    );
  }

  async #command(h: Held, c: CommandRecord): Promise<void> {
    if (!this.#reachable(h)) {
      h.heldCommands = true; // queue mode: the command stays queued until the client's next message
      return;
    }
    if (this.#running.has(c.id)) return;
    this.#running.add(c.id);
    try {
      if (
        (await this.d.commands.acceptStatus(h.orgId, h.deviceId, c.id, { state: 'delivered' })) !==
        'applied'
      )
        return;
      const status = await runLwm2mCommand(this.d.link, h.reg.location, c);
      await this.d.commands.acceptStatus(h.orgId, h.deviceId, c.id, status);
      // What a command read or wrote is the device's state now: the twin shows it too.
      const path = c.params['path'];
      if (status.state === 'succeeded' && typeof path === 'string') {
        const seen =
          c.name === 'lwm2m.write'
            ? await this.d.link.read(h.reg.location, path)
            : c.name === 'lwm2m.read'
              ? Object.entries(status.result ?? {}).flatMap(([p, value]) =>
                  typeof value === 'object' || value === null ? [] : [{ path: p, value }],
                )
              : [];
        if (seen.length > 0)
          await this.#serial(h, () =>
            this.#report(h, (st) => ({ ...st, objects: mergeRecords(objectsOf(st), seen) })),
          );
      }
    } catch (err) {
      this.#warn(h, `command ${c.id}`)(err);
    } finally {
      this.#running.delete(c.id);
    }
  }

  get #awakeMs(): number {
    return this.d.awakeMs ?? QUEUE_AWAKE_MS;
  }

  /** A client in queue mode listens only for a while after its last message (Core §6.5). */
  #reachable(h: Held): boolean {
    return !h.reg.queueMode || this.d.clock.now() < h.awakeUntil;
  }

  #syncSoon(h: Held): void {
    void this.#serial(h, () => this.#sync(h)).catch(this.#warn(h, 'desired sync'));
  }

  /**
   * The client sent something (Update, Send, a notification): in queue mode it listens now, so
   * what was held goes out — after the device's state is read again: a device decommissioned or
   * left without a management plane meanwhile gets nothing.
   */
  #woke(h: Held): void {
    h.awakeUntil = this.d.clock.now() + this.#awakeMs;
    if (!h.heldSync && !h.heldCommands) return;
    const [sync, commands] = [h.heldSync, h.heldCommands];
    h.heldSync = h.heldCommands = false;
    void (async () => {
      const device = await this.d.storage.devices.get(h.orgId, h.deviceId);
      if (!device || !DEVICE_PLANES[device.state].includes('management') || !this.#live(h)) return;
      if (sync) await this.#serial(h, () => this.#sync(h));
      if (!commands) return;
      // One at a time, oldest first: a sleepy client gets its requests in order.
      for (const c of await this.d.commands.pending(h.orgId, [h.deviceId])) {
        if (isLwm2mCommand(c.name) && this.#live(h)) await this.#command(h, c);
      }
    })().catch(this.#warn(h, 'held requests'));
  }

  async #ingest(h: Held, channelId: string, records: Lwm2mRecord[]): Promise<void> {
    const device = await this.d.storage.devices.get(h.orgId, h.deviceId);
    if (!device || !DEVICE_PLANES[device.state].includes('channels')) {
      throw new BulwarkError(
        'forbidden',
        `a ${device?.state ?? 'missing'} device has no channel plane`,
      );
    }
    const now = this.d.clock.now() / 1000;
    const senml = records.map((r, i) => ({
      ...(i === 0 ? { bn: `${h.deviceId}/` } : {}),
      n: r.path.slice(1),
      ...(typeof r.value === 'number'
        ? { v: r.value }
        : typeof r.value === 'boolean'
          ? { vb: r.value }
          : { vs: r.value }),
      t: r.time ?? now,
    }));
    await this.d.messaging.ingest(
      { type: 'device', id: h.deviceId, orgId: h.orgId },
      {
        channelId,
        subtopic: 'lwm2m',
        contentType: 'application/senml+json',
        payload: Buffer.from(JSON.stringify(senml)),
        protocol: 'coap',
      },
    );
  }

  /** Stores a new reported twin: the registration section from `h`, the rest from `edit`. */
  async #report(
    h: Held,
    edit: (s: TwinState) => TwinState,
    registered = true,
    desiredVersion?: number,
    errors?: { path: string; code?: string; message: string }[],
  ): Promise<void> {
    const cur = (await this.d.twins.get(h.orgId, h.deviceId)).reported;
    const base = edit(cur?.state ?? {});
    const r = h.reg;
    const state: TwinState = {
      ...base,
      lwm2m: {
        registered,
        endpoint: r.endpoint,
        lifetime: r.lifetime,
        version: r.version,
        binding: r.binding,
        queueMode: r.queueMode,
        objects: r.objects.map((o) => (o.version ? `${o.path};ver=${o.version}` : o.path)),
        registeredAt: new Date(r.registeredAt).toISOString(),
        updatedAt: new Date(r.updatedAt).toISOString(),
        observe: [...h.observing],
        ...(r.queueMode
          ? {
              awakeUntil: new Date(h.awakeUntil).toISOString(),
              held: h.heldSync || h.heldCommands,
            }
          : {}),
        ...(await this.#channelOf(h)),
      },
    };
    await this.d.twins.acceptReported(h.orgId, h.deviceId, {
      version: (cur?.version ?? 0) + 1,
      desiredVersion: desiredVersion ?? cur?.desiredVersion ?? 0,
      state,
      errors: (errors ?? (desiredVersion === undefined ? cur?.errors : undefined) ?? []).map(
        (e) => ({
          path: e.path,
          message:
            'code' in e && typeof e.code === 'string' ? `${e.code}: ${e.message}` : e.message,
        }),
      ),
    });
  }

  async #channelOf(h: Held): Promise<{ channel?: string }> {
    const ch = desiredOf((await this.d.twins.get(h.orgId, h.deviceId)).desired.state).channel;
    return ch ? { channel: ch } : {};
  }

  async #auditRefusal(orgId: string | null, endpoint: string, source: string, why: string) {
    const key = `${source}|${endpoint}`;
    const now = this.d.clock.now();
    const last = this.#refusals.get(key);
    if (last !== undefined && now - last < REFUSAL_AUDIT_EVERY_MS) return;
    this.#refusals.delete(key);
    if (this.#refusals.size >= MAX_REFUSALS_REMEMBERED)
      this.#refusals.delete(this.#refusals.keys().next().value!);
    this.#refusals.set(key, now);
    await this.d.audit.record({
      orgId,
      actorType: 'anonymous',
      actorId: null,
      action: 'lwm2m.register.refused',
      targetType: orgId ? 'device' : null,
      targetId: orgId ? endpoint : null,
      source,
      result: 'failure',
      detail: { endpoint: endpoint.slice(0, 64), reason: why },
    });
  }

  #warn(h: Held, what: string): (err: unknown) => void {
    return (err) =>
      this.d.log.warn(
        { err, deviceId: h.deviceId, endpoint: h.reg.endpoint },
        `LwM2M ${what} failed`,
      );
  }
}

const objectsOf = (s: TwinState): TwinState => {
  const o = s['objects'];
  return typeof o === 'object' && o !== null && !Array.isArray(o) ? o : {};
};
