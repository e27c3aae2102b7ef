/**
 * The hub's side of a gateway's store-and-forward uplink (decision 0040). A batch from gateway G
 * is accepted message by message: each names the device X it came from, and is stored as X's —
 * through the same ingest as any publish, so X's own channel rights apply — only if G may speak
 * for X (GatewaySites: same organization, X in G's site or tagged for G, X's state open). A
 * message refused for good (not G's device, no right on the channel, a bad payload) is dropped
 * and reported (`authz.denied`); anything else (storage failing) fails the whole batch, which
 * the gateway sends again: ids make the repeat harmless.
 *
 * A `plane` message (what X reported on its own device plane through G: reported twin, command
 * and update statuses …) goes to the device plane as X's (GatewayPlane.report). Those are state
 * changes: one device's are applied one after another in the order G sent them — across batches
 * too — and an id applied recently on this node is not applied again (a batch resent after a
 * failure); command and job transitions are idempotent besides.
 *
 * A `firing` message (a rule the gateway evaluated fired or cleared on X, gateway-rules.ts) takes
 * its place in X's order the same way, so the commands it records exist before X's results for
 * them arrive. A channel message marked `ruled` was evaluated there: the hub's rules skip it.
 */
import {
  BulwarkError,
  parseRuleFiring,
  parseUplinkBatch,
  uuidV7Time,
  type UplinkMessage,
} from '@bulwark/protocol';
import type { Device } from '../ports/records.js';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { MessagingService } from '../messaging/messaging-service.js';
import type { GatewayPlane } from './gateway-plane.js';
import type { GatewayRules } from './gateway-rules.js';
import type { GatewaySites } from './gateway-sites.js';
import { TtlCache } from '../messaging/ttl-cache.js';

/** Plane message ids applied recently are remembered this long (a resend comes within it). */
const SEEN_MS = 10 * 60_000;

/** A message's time may run ahead of the hub's clock by at most this (clock skew). */
const MAX_AHEAD_MS = 5 * 60_000;
/** Refusals that a retry cannot change: the message is dropped. */
const FINAL: ReadonlySet<string> = new Set([
  'not_authorized',
  'payload_too_large',
  'senml_invalid',
  'topic_invalid',
  'not_found',
  'device_payload_invalid',
]);

export interface UplinkOutcome {
  accepted: number;
  refused: { id: string; device: string; reason: string }[];
}

export class GatewayUplink {
  /** The device plane through gateways; set by the hub once its device plane exists. */
  plane: Pick<GatewayPlane, 'report' | 'sessions' | 'held'> | undefined;
  /** Rules at sites; set by the hub once its rule engine exists. */
  rules: Pick<GatewayRules, 'apply'> | undefined;
  /** Per site device: its last plane report in flight (reports apply in order). */
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #seen: TtlCache<true>;

  constructor(
    private readonly d: {
      sites: GatewaySites;
      messaging: Pick<MessagingService, 'ingest'>;
      clock: Clock;
      events?: DomainEvents;
    },
  ) {
    this.#seen = new TtlCache(SEEN_MS, 100_000, () => d.clock.now());
  }

  /** A gateway's snapshot of its devices' sessions (GatewayPlane.sessions). */
  async sessions(gw: { orgId: string; id: string; sessionId: string }, bytes: Uint8Array) {
    if (!this.plane) throw new BulwarkError('unavailable', 'the device plane is not started');
    await this.plane.sessions(gw, bytes);
  }

  /** Stores a batch gateway `gatewayId` of `orgId` sent; throws when it must be sent again. */
  async accept(orgId: string, gatewayId: string, bytes: Uint8Array): Promise<UplinkOutcome> {
    const batch = parseUplinkBatch(bytes);
    // Plane reports take their place in their device's order now, before anything is awaited.
    const gate = this.d.sites.gateway(orgId, gatewayId);
    const turns = new Map<UplinkMessage, Promise<void>>();
    const ahead = this.d.clock.now() + MAX_AHEAD_MS;
    for (const m of batch.messages) {
      if ((m.plane === undefined && !m.firing) || uuidV7Time(m.id)! > ahead) continue;
      const key = `${orgId}|${m.device}`;
      const prev = this.#tails.get(key) ?? Promise.resolve();
      const step = prev.catch(() => undefined).then(async () => this.#report(await gate, m));
      turns.set(m, step);
      this.#tails.set(key, step);
      void step
        .finally(() => {
          if (this.#tails.get(key) === step) this.#tails.delete(key);
        })
        .catch(() => undefined);
    }
    const g = await gate;
    const now = this.d.clock.now();
    const out: UplinkOutcome = { accepted: 0, refused: [] };
    const refuse = (id: string, device: string, reason: string, resource: string) => {
      out.refused.push({ id, device, reason });
      this.d.events?.emit({
        type: 'authz.denied',
        orgId,
        at: now,
        principal: { type: 'device', id: gatewayId },
        transport: 'mqtt',
        action: 'publish',
        resource,
      });
    };
    const settled = await Promise.allSettled(
      batch.messages.map(async (m) => {
        const at = uuidV7Time(m.id)!;
        if (at > now + MAX_AHEAD_MS)
          return refuse(m.id, m.device, 'id_in_future', `gateway:${m.device}`);
        const turn = turns.get(m);
        if (turn) {
          try {
            await turn;
            out.accepted++;
            return;
          } catch (err) {
            if (err instanceof BulwarkError && FINAL.has(err.code))
              return refuse(
                m.id,
                m.device,
                err.code,
                `gateway:${m.device}:${m.plane ?? 'rule_firing'}`,
              );
            throw err;
          }
        }
        if (!(await this.d.sites.maySpeakFor(g, m.device)))
          return refuse(m.id, m.device, 'not_gateway_device', `gateway:${m.device}`);
        try {
          await this.d.messaging.ingest(
            { type: 'device', id: m.device, orgId },
            {
              channelId: m.channel,
              subtopic: m.subtopic,
              contentType: m.contentType,
              payload: Buffer.from(m.payload, 'base64'),
              protocol: 'gateway',
              accepted: { id: m.id, at },
              ...(m.ruled ? { ruled: true as const } : {}),
            },
          );
          out.accepted++;
        } catch (err) {
          if (err instanceof BulwarkError && FINAL.has(err.code))
            return refuse(m.id, m.device, err.code, `gateway:${m.device}:${m.channel}`);
          throw err;
        }
      }),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return out;
  }

  /** One plane report or rule firing of a site device (once per id on this node). */
  async #report(g: Device, m: UplinkMessage): Promise<void> {
    const key = `${g.id}|${m.id}`;
    if (this.#seen.get(key)) return;
    const bytes = Buffer.from(m.payload, 'base64');
    if (m.firing) {
      if (!this.rules) throw new BulwarkError('unavailable', 'rules are not started');
      await this.rules.apply(g, m.device, parseRuleFiring(bytes));
    } else {
      if (!this.plane) throw new BulwarkError('unavailable', 'the device plane is not started');
      await this.plane.report(g, m.device, m.plane!, bytes);
    }
    this.#seen.set(key, true);
  }
}
