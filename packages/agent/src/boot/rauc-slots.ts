/**
 * SlotStore on RAUC (docs/decisions/0023-boot-integration.md). The downloaded image is a RAUC bundle,
 * staged as the target slot's image under the slot directory; the agent verifies it (signed
 * release metadata, sha256) and RAUC verifies it again (its keyring) when it installs it. The
 * installer's boot-control record is kept beside the bundles, and each change to it is carried out
 * with RAUC:
 *
 * - the target becomes the primary on trial → `rauc install <bundle>` (RAUC writes the other slot
 *   and makes it primary through its bootloader backend); RAUC must have picked the same slot;
 * - the primary moves back to a slot → `rauc status mark-active <slot>`;
 * - a slot confirmed (or re-armed at a start) → `rauc status mark-good <slot>`;
 * - a slot made unbootable → `rauc status mark-bad <slot>`.
 *
 * RAUC is told first, then the record is written, so a power cut in between repeats the (idempotent)
 * RAUC call. The booted slot comes from RAUC (`rauc status`: the kernel's `rauc.slot=`), the boot id
 * from the kernel. RAUC's bootloader counts the boots of every slot, so the good slot that runs
 * is re-armed (`mark-good`) once per boot: the record reports it with no attempts left until the
 * agent re-arms it at its start, as RAUC's `rauc-mark-good.service` does.
 */
import { readFile } from 'node:fs/promises';
import type { DirectorySlots } from '../update/directory-slots.js';
import {
  SLOT_NAMES,
  type BootControl,
  type BootInfo,
  type SlotManifest,
  type SlotName,
  type SlotStore,
} from '../update/slots.js';
import { slotOfBootname } from './boot-source.js';
import { runTool } from './tool.js';

/** What `rauc status --output-format=json` says (the fields used). */
export interface RaucStatus {
  booted: SlotName;
  /** The slot RAUC will boot next. */
  primary: SlotName | undefined;
  /** RAUC slot name (`rootfs.0`) of each of our slots. */
  names: Record<SlotName, string>;
  good: Record<SlotName, boolean>;
}

/** The boot id at the last write of the record (re-arming is due once per boot). */
const ARMED = 'rauc-armed-boot-id';

/** Options of the RAUC adapter. */
export interface RaucSlotsOptions {
  /** RAUC's system.conf (`--conf`); default RAUC's own. */
  configFile?: string;
  bootnames: Record<SlotName, string>;
  bootIdFile: string;
}

/** A/B slots installed and switched by RAUC. */
export class RaucSlots implements SlotStore {
  constructor(
    /** The staged bundles (`<slot>/image`), manifests and the installer's record. */
    readonly staging: DirectorySlots,
    private readonly o: RaucSlotsOptions,
  ) {}

  private rauc(...args: string[]): Promise<string> {
    const conf = this.o.configFile !== undefined ? [`--conf=${this.o.configFile}`] : [];
    return runTool(['rauc', ...conf, ...args]);
  }

  /** RAUC's view of the slots; a clear error when its slots are not an A/B pair of ours. */
  async status(): Promise<RaucStatus> {
    const raw = JSON.parse(await this.rauc('status', '--output-format=json')) as {
      booted?: string;
      boot_primary?: string | null;
      slots?: Record<string, { bootname?: string; boot_status?: string }>[];
    };
    const names = {} as Record<SlotName, string>;
    const good = {} as Record<SlotName, boolean>;
    for (const entry of raw.slots ?? [])
      for (const [name, s] of Object.entries(entry)) {
        const slot =
          s.bootname === undefined ? undefined : slotOfBootname(s.bootname, this.o.bootnames);
        if (slot === undefined) continue;
        names[slot] = name;
        good[slot] = s.boot_status === 'good';
      }
    for (const s of SLOT_NAMES)
      if (names[s] === undefined)
        throw new Error(
          `RAUC has no slot with bootname ${this.o.bootnames[s]} (update.bootnames.${s})`,
        );
    const booted = slotOfBootname(raw.booted ?? '', this.o.bootnames);
    if (booted === undefined)
      throw new Error(`RAUC booted ${JSON.stringify(raw.booted)}, not one of the A/B slots`);
    const primary = SLOT_NAMES.find((s) => names[s] === raw.boot_primary);
    return { booted, primary, names, good };
  }

  async booted(): Promise<BootInfo> {
    const st = await this.status();
    return { slot: st.booted, bootId: await this.bootId() };
  }

  private async bootId(): Promise<string> {
    return (await readFile(this.o.bootIdFile, 'utf8')).trim();
  }

  /** Whether the installer's record exists (`bulwark agent setup` writes the first one). */
  async hasRecord(): Promise<boolean> {
    return (await this.staging.readExtra('boot-control.json')) !== undefined;
  }

  /** The installer's record; before the first install, RAUC's state. */
  async readControl(): Promise<BootControl> {
    let record: BootControl | undefined;
    try {
      record = await this.staging.readControl();
    } catch (err) {
      if (!/no boot-control record/.test((err as Error).message)) throw err;
    }
    if (record !== undefined) {
      // A boot since the last write: RAUC's bootloader counted it against the running slot.
      const armed = await this.staging.readExtra(ARMED);
      const booted = (await this.status()).booted;
      if (record.slots[booted].good && armed !== (await this.bootId()))
        record.slots[booted] = { attemptsLeft: 0, good: true };
      return record;
    }
    const st = await this.status();
    const primary = st.primary ?? st.booted;
    const slots = {} as BootControl['slots'];
    for (const s of SLOT_NAMES)
      slots[s] = { attemptsLeft: st.good[s] ? 1 : 0, good: st.good[s] && s === st.booted };
    return { primary, order: [primary, ...SLOT_NAMES.filter((s) => s !== primary)], slots };
  }

  async writeControl(next: BootControl): Promise<void> {
    const prev = await this.readControl();
    const st = await this.status();
    const p = next.slots[next.primary];
    let installed: SlotName | undefined;
    if (
      !p.good &&
      p.attemptsLeft > 0 &&
      (next.primary !== prev.primary || prev.slots[next.primary].attemptsLeft === 0)
    ) {
      await this.rauc('install', this.staging.imagePath(next.primary));
      const after = await this.status();
      if (after.primary !== next.primary)
        throw new Error(
          `rauc install wrote ${after.primary ?? 'no slot'}, not the inactive slot ${next.primary}`,
        );
      installed = next.primary;
    } else if (next.primary !== prev.primary || st.primary !== next.primary) {
      await this.rauc('status', 'mark-active', st.names[next.primary]);
    }
    for (const s of SLOT_NAMES) {
      if (s === installed) continue;
      const a = prev.slots[s];
      const b = next.slots[s];
      if (b.good && (!a.good || b.attemptsLeft > a.attemptsLeft || !st.good[s]))
        await this.rauc('status', 'mark-good', st.names[s]);
      else if (!b.good && b.attemptsLeft === 0 && (a.good || a.attemptsLeft > 0 || st.good[s]))
        await this.rauc('status', 'mark-bad', st.names[s]);
    }
    await this.staging.writeControl(next);
    await this.staging.writeExtra(ARMED, await this.bootId());
  }

  readManifest(slot: SlotName): Promise<SlotManifest | undefined> {
    return this.staging.readManifest(slot);
  }
  writeManifest(slot: SlotName, manifest: SlotManifest | undefined): Promise<void> {
    return this.staging.writeManifest(slot, manifest);
  }
  imageSize(slot: SlotName): Promise<number> {
    return this.staging.imageSize(slot);
  }
  truncateImage(slot: SlotName, length: number): Promise<void> {
    return this.staging.truncateImage(slot, length);
  }
  writeImage(slot: SlotName, offset: number, bytes: Uint8Array): Promise<void> {
    return this.staging.writeImage(slot, offset, bytes);
  }
  readImage(slot: SlotName): AsyncIterable<Uint8Array> {
    return this.staging.readImage(slot);
  }
}
