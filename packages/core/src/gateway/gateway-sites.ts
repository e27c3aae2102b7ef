/**
 * Which devices a gateway may speak for (decision 0040): a device of the gateway's own
 * organization that carries the tag `gateway=<gateway id>` or sits in the gateway's site (the
 * `site` location above or at the gateway's location, and everything below it). The gateway
 * itself must be a device of type `gateway` whose state opens its channels.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { ChannelConnection } from '../ports/messaging.js';
import type { Device } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { TtlCache } from '../messaging/ttl-cache.js';

/** The device type that makes a device a gateway. */
export const GATEWAY_TYPE = 'gateway';
/** The tag that assigns a device to one gateway: `gateway=<gateway id>`. */
export const gatewayTag = (gatewayId: string): string => `gateway=${gatewayId}`;
/** A site is bounded: more members than this is refused rather than paged without end. */
const MAX_SITE_DEVICES = 10_000;
const PAGE = 500;
/** States in which a device may publish through its gateway (policy.ts: channels plane). */
const SPEAKING_STATES: ReadonlySet<string> = new Set(['active', 'provisioned']);

/** One member of a site, with what the gateway needs to admit it offline. */
export interface SiteMember {
  device: Device;
  /** Live certificate serials (neither revoked, retired nor expired). */
  serials: string[];
  channels: Pick<ChannelConnection, 'channelId' | 'publish' | 'subscribe'>[];
}

export class GatewaySites {
  readonly #member: TtlCache<Device | null>;

  constructor(private readonly d: { storage: Storage; clock: Clock; cacheMs?: number }) {
    this.#member = new TtlCache(d.cacheMs ?? 5_000, 100_000, () => d.clock.now());
  }

  /** The gateway device, or not_authorized when it is no gateway or its state closes it. */
  async gateway(orgId: string, gatewayId: string): Promise<Device> {
    const g = await this.d.storage.devices.get(orgId, gatewayId);
    if (!g || g.type !== GATEWAY_TYPE)
      throw new BulwarkError('not_authorized', 'only a device of type gateway has a site');
    if (!SPEAKING_STATES.has(g.state))
      throw new BulwarkError('not_authorized', `the gateway is ${g.state}`);
    return g;
  }

  /** The site location at or above the gateway's location, or null. */
  async siteOf(g: Device): Promise<string | null> {
    if (g.locationId === null) return null;
    const all = await this.d.storage.locations.list(g.orgId);
    const byId = new Map(all.map((l) => [l.id, l]));
    let at = byId.get(g.locationId);
    for (let i = 0; at && i < 8; i++) {
      if (at.kind === 'site') return at.id;
      at = at.parentId === null ? undefined : byId.get(at.parentId);
    }
    return null;
  }

  /** The devices the gateway may speak for (itself excluded). */
  async members(g: Device): Promise<Device[]> {
    const out = new Map<string, Device>();
    const collect = async (filter: { tags?: string[]; locationIds?: string[] }) => {
      let cursor: string | null = null;
      do {
        const page = await this.d.storage.devices.list(g.orgId, filter, { limit: PAGE, cursor });
        for (const x of page.items) if (x.id !== g.id) out.set(x.id, x);
        if (out.size > MAX_SITE_DEVICES)
          throw new BulwarkError(
            'quota_exceeded',
            `a site holds at most ${MAX_SITE_DEVICES} devices`,
          );
        cursor = page.nextCursor;
      } while (cursor !== null);
    };
    await collect({ tags: [gatewayTag(g.id)] });
    const site = await this.siteOf(g);
    if (site !== null) {
      const all = await this.d.storage.locations.list(g.orgId);
      const ids = [site];
      for (let i = 0; i < ids.length; i++)
        for (const l of all) if (l.parentId === ids[i]) ids.push(l.id);
      await collect({ locationIds: ids });
    }
    return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** The members with their live serials and channel rights. */
  async site(g: Device): Promise<{ siteId: string | null; members: SiteMember[] }> {
    const now = this.d.clock.now();
    const members: SiteMember[] = [];
    for (const device of await this.members(g)) {
      const certs = await this.d.storage.pki.listCertificates(g.orgId, device.id);
      const conns = await this.d.storage.channels.listForClient(g.orgId, 'device', device.id);
      members.push({
        device,
        serials: certs
          .filter(
            (c) =>
              c.revokedAt === null && (c.retireAt === null || c.retireAt > now) && c.notAfter > now,
          )
          .map((c) => c.serial),
        channels: conns.map((c) => ({
          channelId: c.channelId,
          publish: c.publish,
          subscribe: c.subscribe,
        })),
      });
    }
    return { siteId: await this.siteOf(g), members };
  }

  /**
   * May gateway `g` publish for `deviceId`? Same organization (the lookup is scoped by it), a
   * member of its site, in a state that opens channels. Cached for a few seconds.
   */
  async maySpeakFor(g: Device, deviceId: string): Promise<boolean> {
    const x = await this.member(g, deviceId);
    return x !== null && SPEAKING_STATES.has(x.state);
  }

  /**
   * Device `deviceId` if it is a member of `g`'s site, whatever its state (what its state opens
   * is the caller's to check, policy.ts), else null. Same organization: the lookup is scoped by
   * it. Cached for a few seconds.
   */
  async member(g: Device, deviceId: string): Promise<Device | null> {
    return await this.#member.load(`${g.orgId}|${g.id}|${deviceId}`, async () => {
      if (deviceId === g.id) return null;
      const x = await this.d.storage.devices.get(g.orgId, deviceId);
      if (!x) return null;
      if (x.tags.includes(gatewayTag(g.id))) return x;
      const site = await this.siteOf(g);
      if (site === null || x.locationId === null) return null;
      const all = await this.d.storage.locations.list(g.orgId);
      const byId = new Map(all.map((l) => [l.id, l]));
      let at = byId.get(x.locationId);
      for (let i = 0; at && i < 8; i++) {
        if (at.id === site) return x;
        at = at.parentId === null ? undefined : byId.get(at.parentId);
      }
      return null;
    });
  }
}
