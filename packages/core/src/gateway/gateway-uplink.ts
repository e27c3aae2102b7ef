/**
 * The hub's side of a gateway's store-and-forward uplink (decision 0040). A batch from gateway G
 * is accepted message by message: each names the device X it came from, and is stored as X's —
 * through the same ingest as any publish, so X's own channel rights apply — only if G may speak
 * for X (GatewaySites: same organization, X in G's site or tagged for G, X's state open). A
 * message refused for good (not G's device, no right on the channel, a bad payload) is dropped
 * and reported (`authz.denied`); anything else (storage failing) fails the whole batch, which
 * the gateway sends again: ids make the repeat harmless.
 */
import { BulwarkError, parseUplinkBatch, uuidV7Time } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { MessagingService } from '../messaging/messaging-service.js';
import type { GatewaySites } from './gateway-sites.js';

/** A message's time may run ahead of the hub's clock by at most this (clock skew). */
const MAX_AHEAD_MS = 5 * 60_000;
/** Refusals that a retry cannot change: the message is dropped. */
const FINAL: ReadonlySet<string> = new Set([
  'not_authorized',
  'payload_too_large',
  'senml_invalid',
  'topic_invalid',
  'not_found',
]);

export interface UplinkOutcome {
  accepted: number;
  refused: { id: string; device: string; reason: string }[];
}

export class GatewayUplink {
  constructor(
    private readonly d: {
      sites: GatewaySites;
      messaging: Pick<MessagingService, 'ingest'>;
      clock: Clock;
      events?: DomainEvents;
    },
  ) {}

  /** Stores a batch gateway `gatewayId` of `orgId` sent; throws when it must be sent again. */
  async accept(orgId: string, gatewayId: string, bytes: Uint8Array): Promise<UplinkOutcome> {
    const g = await this.d.sites.gateway(orgId, gatewayId);
    const batch = parseUplinkBatch(bytes);
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
}
