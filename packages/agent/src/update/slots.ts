/**
 * The A/B slot model: two slots (`a`, `b`) each holding one firmware image and its manifest, and a
 * boot-control record that the bootloader reads and updates on every boot, modelled on U-Boot's
 * `BOOT_ORDER`/`BOOT_x_LEFT` scheme as RAUC's bootchooser uses it. A real board keeps the record in
 * the U-Boot environment or GRUB's env block; `DirectorySlots` keeps it in a file (docs/decisions/
 * 0006-ab-slots.md says what a board integration has to provide).
 */

/** The two slots of an A/B pair. */
export type SlotName = 'a' | 'b';

export const SLOT_NAMES: readonly SlotName[] = ['a', 'b'];

/** The other slot of the pair. */
export function otherSlot(slot: SlotName): SlotName {
  return slot === 'a' ? 'b' : 'a';
}

/** What a slot holds: the image's identity as the signed release metadata gives it. */
export interface SlotManifest {
  version: string;
  /** Monotonic release counter (anti-rollback). */
  counter: number;
  /** Lower-case hex SHA-256 of the image. */
  sha256: string;
  /** Image length in bytes. */
  length: number;
}

/** Boot attempts a slot gets (RAUC's default `BOOT_x_LEFT=3`). */
export const DEFAULT_BOOT_ATTEMPTS = 3;

/** The bootloader's view of one slot. */
export interface SlotBootState {
  /**
   * Boots left before the bootloader gives up on the slot. It is decremented before each boot of
   * the slot. For a good slot, the agent resets it at each start (RAUC's `mark-good`), so a
   * committed slot that stops booting falls back too. A slot on trial that is never confirmed stops
   * being chosen once this reaches 0.
   */
  attemptsLeft: number;
  /** Confirmed healthy: a fallback target, and the last resort when no slot has attempts left. */
  good: boolean;
}

/** The boot-control record (persisted atomically; the bootloader's only input). */
export interface BootControl {
  /** The slot to try first. */
  primary: SlotName;
  /** Priority order; the bootloader tries `primary` first, then the others in this order. */
  order: SlotName[];
  slots: Record<SlotName, SlotBootState>;
}

/** What the bootloader decided for one boot. */
export interface BootSelection {
  slot: SlotName;
  /** The record after the boot (with the trial attempt consumed, if one was). */
  control: BootControl;
  /** True when the primary could not be booted and another good slot was chosen. */
  fellBack: boolean;
}

/** The running system's boot: which slot it came from and an id unique to this boot. */
export interface BootInfo {
  slot: SlotName;
  /** Changes on every boot (Linux: /proc/sys/kernel/random/boot_id). */
  bootId: string;
}

/**
 * What a bootloader does with the record: boot the primary if it has attempts left, consuming one;
 * otherwise fall back to the first good slot in `order` that has attempts left (consuming one).
 * The last resort, when no slot has attempts left, is the first good slot without consuming any
 * (U-Boot scripts reset the counters here). A slot that is not good is never the last resort. The
 * function is pure: the caller persists the returned record before handing over to the chosen slot.
 * It throws when no slot can be booted, which the installer never lets happen.
 */
export function selectBootSlot(control: BootControl): BootSelection {
  checkControl(control);
  const next = structuredClone(control);
  const candidates = [control.primary, ...control.order.filter((s) => s !== control.primary)];
  for (const slot of candidates) {
    const st = next.slots[slot];
    if (st.attemptsLeft > 0 && (slot === control.primary || st.good)) {
      st.attemptsLeft -= 1;
      return { slot, control: next, fellBack: slot !== control.primary };
    }
  }
  const lastResort = candidates.find((s) => next.slots[s].good);
  if (lastResort !== undefined)
    return { slot: lastResort, control: next, fellBack: lastResort !== control.primary };
  throw new Error('no bootable slot: no slot is good or has boot attempts left');
}

/** Throws a clear error for a record that is not a well-formed BootControl. */
export function checkControl(c: unknown): asserts c is BootControl {
  const bad = (why: string): never => {
    throw new TypeError(`invalid boot-control record: ${why}`);
  };
  if (typeof c !== 'object' || c === null) bad('not an object');
  const r = c as Record<string, unknown>;
  if (r.primary !== 'a' && r.primary !== 'b') bad('primary must be "a" or "b"');
  if (!Array.isArray(r.order) || r.order.some((s) => s !== 'a' && s !== 'b'))
    bad('order must list slots "a"/"b"');
  const slots = r.slots as Record<string, unknown> | undefined;
  if (typeof slots !== 'object' || slots === null) bad('slots missing');
  for (const name of SLOT_NAMES) {
    const s = slots![name] as Record<string, unknown> | undefined;
    if (typeof s !== 'object' || s === null) bad(`slot ${name} missing`);
    if (!Number.isInteger(s!.attemptsLeft) || (s!.attemptsLeft as number) < 0)
      bad(`slot ${name}: attemptsLeft must be an integer >= 0`);
    if (typeof s!.good !== 'boolean') bad(`slot ${name}: good must be a boolean`);
  }
}

/** Throws a clear error for a manifest with missing or malformed fields. */
export function checkManifest(m: unknown, what = 'manifest'): asserts m is SlotManifest {
  const bad = (why: string): never => {
    throw new TypeError(`invalid ${what}: ${why}`);
  };
  if (typeof m !== 'object' || m === null) bad('not an object');
  const r = m as Record<string, unknown>;
  if (typeof r.version !== 'string' || r.version === '' || r.version.length > 128)
    bad('version must be a non-empty string (at most 128 characters)');
  if (!Number.isSafeInteger(r.counter) || (r.counter as number) < 0)
    bad('counter must be an integer >= 0');
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256))
    bad('sha256 must be 64 lower-case hex digits');
  if (!Number.isSafeInteger(r.length) || (r.length as number) < 0)
    bad('length must be an integer >= 0');
}

/**
 * Where the slots live. Every mutating call is durable when it resolves (fsync'd), and record writes
 * are atomic (old or new content after a power cut, never a mix).
 */
export interface SlotStore {
  /** The boot-control record. */
  readControl(): Promise<BootControl>;
  writeControl(control: BootControl): Promise<void>;
  /** The slot the running system booted from, and this boot's id. */
  booted(): Promise<BootInfo>;
  readManifest(slot: SlotName): Promise<SlotManifest | undefined>;
  /** Writes (or, with `undefined`, removes) a slot's manifest. */
  writeManifest(slot: SlotName, manifest: SlotManifest | undefined): Promise<void>;
  /** Bytes currently in the slot's image. */
  imageSize(slot: SlotName): Promise<number>;
  /** Cuts (or extends with zeros) the image to `length` bytes, creating it if missing. */
  truncateImage(slot: SlotName, length: number): Promise<void>;
  /** Writes bytes at `offset` of the slot's image and fsyncs them. */
  writeImage(slot: SlotName, offset: number, bytes: Uint8Array): Promise<void>;
  /** Streams the slot's image from the start. */
  readImage(slot: SlotName): AsyncIterable<Uint8Array>;
}
