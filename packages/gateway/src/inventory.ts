/**
 * The site inventory (issue 16, item 1): the devices heard announcing themselves on the LAN
 * (mDNS, `_bulwark._tcp`), held against the hub's list of the site's devices. Each scan round is
 * compared with what was known: a device that appears, disappears (missed for `missedRounds`
 * rounds in a row) or announces another firmware version becomes an event for the hub; a device
 * the site does not list is flagged (someone else's device, or one pretending to be).
 * Pure state and a small file; the scanner (inventory-scan.ts) feeds it rounds.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { DeviceEvent } from '@bulwark/protocol';

/** One device as heard on the LAN (what `discoverDevices` answers, reduced). */
export interface Heard {
  id: string;
  type: string;
  fw: string;
  port: number;
  addresses: string[];
}

/** One inventory entry. */
export interface InventoryEntry extends Heard {
  /** The hub lists it as one of the site's devices (as of the last sync). */
  known: boolean;
  firstSeen: string;
  lastSeen: string;
  /** Scan rounds in a row it was not heard in (0 = heard in the last round). */
  missed: number;
}

/** What changed in one round, as events for the hub (the gateway's own device events). */
export type InventoryEventKind =
  | 'site.device_appeared'
  | 'site.device_disappeared'
  | 'site.firmware_changed'
  | 'site.unknown_device';

const FILE_VERSION = 1;
/** An announcement's id is a device id (≤ 128 bytes); anything else is ignored, not stored. */
const ID = /^[A-Za-z0-9_:-]{1,128}$/;
/** At most this many entries: a LAN flooding announcements cannot grow the gateway's memory. */
export const MAX_ENTRIES = 10_000;

const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

export class SiteInventory {
  readonly #entries = new Map<string, InventoryEntry>();

  constructor(private readonly missedRounds: number) {
    if (!Number.isInteger(missedRounds) || missedRounds < 1)
      throw new Error('missedRounds must be a whole number ≥ 1');
  }

  /** The devices currently present (heard within the last `missedRounds` rounds), by id. */
  list(): InventoryEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Folds one scan round in and answers the events it causes. `site` says whether an id is one
   * of the site's devices per the hub; `heard` is everything heard in the round (devices with an
   * empty or malformed id are skipped: they name nothing the hub could act on).
   */
  round(heard: readonly Heard[], site: (id: string) => boolean, now: Date): DeviceEvent[] {
    const at = now.toISOString();
    const events: DeviceEvent[] = [];
    const seen = new Set<string>();
    const ev = (
      kind: InventoryEventKind,
      severity: DeviceEvent['severity'],
      e: InventoryEntry,
      extra: DeviceEvent['detail'] = {},
    ) =>
      events.push({
        kind,
        severity,
        at,
        detail: {
          deviceId: e.id,
          deviceType: e.type,
          firmwareVersion: e.fw,
          addresses: e.addresses,
          port: e.port,
          known: e.known,
          ...extra,
        },
      });
    for (const h of heard) {
      if (!ID.test(h.id) || seen.has(h.id)) continue;
      seen.add(h.id);
      const known = site(h.id);
      const fresh: Heard = {
        id: h.id,
        type: clip(h.type, 64),
        fw: clip(h.fw, 64),
        port: h.port,
        addresses: h.addresses.slice(0, 8),
      };
      const prev = this.#entries.get(h.id);
      if (prev === undefined) {
        if (this.#entries.size >= MAX_ENTRIES) continue;
        const e: InventoryEntry = { ...fresh, known, firstSeen: at, lastSeen: at, missed: 0 };
        this.#entries.set(h.id, e);
        ev('site.device_appeared', known ? 'info' : 'warning', e);
        if (!known) ev('site.unknown_device', 'warning', e);
        continue;
      }
      const next: InventoryEntry = { ...prev, ...fresh, known, lastSeen: at, missed: 0 };
      this.#entries.set(h.id, next);
      if (prev.fw !== next.fw) ev('site.firmware_changed', 'info', next, { previous: prev.fw });
      // A device the hub dropped from the site (moved, decommissioned) but still on the LAN.
      if (prev.known && !known) ev('site.unknown_device', 'warning', next);
    }
    for (const [id, e] of this.#entries) {
      if (seen.has(id)) continue;
      const missed = e.missed + 1;
      if (missed >= this.missedRounds) {
        this.#entries.delete(id);
        ev('site.device_disappeared', 'info', { ...e, known: site(id) }, { lastSeen: e.lastSeen });
      } else this.#entries.set(id, { ...e, missed });
    }
    return events;
  }

  /** Loads a saved inventory (a missing or unreadable file starts empty: the next round rebuilds it). */
  async load(file: string): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      return;
    }
    const r = raw as { v?: unknown; entries?: unknown };
    if (r.v !== FILE_VERSION || !Array.isArray(r.entries)) return;
    this.#entries.clear();
    for (const e of r.entries.slice(0, MAX_ENTRIES) as InventoryEntry[]) {
      if (typeof e?.id === 'string' && ID.test(e.id)) this.#entries.set(e.id, e);
    }
  }

  /** Saves the inventory (write to a temporary file, then rename: never a torn file). */
  async save(file: string): Promise<void> {
    const tmp = `${file}.tmp`;
    await writeFile(tmp, JSON.stringify({ v: FILE_VERSION, entries: this.list() }), {
      mode: 0o600,
    });
    await rename(tmp, file);
  }
}
