/**
 * SlotStore in memory, for the simulator: each simulated device installs for real (bytes, manifest,
 * boot-control record, boot id), and its "reboot" is `boot()` (the bootloader's choice) followed by
 * a restart of its Agent on the same files and slots. Nothing survives the process.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  checkControl,
  checkManifest,
  DEFAULT_BOOT_ATTEMPTS,
  otherSlot,
  selectBootSlot,
  type BootControl,
  type BootInfo,
  type BootSelection,
  type SlotManifest,
  type SlotName,
  type SlotStore,
} from './slots.js';

/** A/B slots held in memory. */
export class MemorySlots implements SlotStore {
  private control: BootControl | undefined;
  private bootInfo: BootInfo | undefined;
  private readonly images: Record<SlotName, Uint8Array> = {
    a: new Uint8Array(0),
    b: new Uint8Array(0),
  };
  private readonly manifests: Partial<Record<SlotName, SlotManifest>> = {};

  /**
   * Slots with `image` as the good factory image in slot `a`, booted once (what a provisioned device
   * starts with).
   */
  static async provisioned(image: Uint8Array, manifest: SlotManifest): Promise<MemorySlots> {
    const s = new MemorySlots();
    s.installFactory('a', image, manifest);
    await s.boot();
    return s;
  }

  /** Provisioning: the factory image in `slot`, the good primary. Refused once provisioned. */
  installFactory(slot: SlotName, image: Uint8Array, manifest: SlotManifest): void {
    checkManifest(manifest, 'factory manifest');
    if (this.control !== undefined) throw new Error('slots already provisioned');
    const sha256 = createHash('sha256').update(image).digest('hex');
    if (sha256 !== manifest.sha256 || image.byteLength !== manifest.length)
      throw new Error('factory image does not match its manifest (sha256 or length)');
    this.images[slot] = image.slice();
    this.manifests[slot] = { ...manifest };
    const other = otherSlot(slot);
    this.control = {
      primary: slot,
      order: [slot, other],
      slots: {
        [slot]: { attemptsLeft: DEFAULT_BOOT_ATTEMPTS, good: true },
        [other]: { attemptsLeft: 0, good: false },
      } as BootControl['slots'],
    };
  }

  /** Plays the bootloader for one boot (see `selectBootSlot`), with a fresh boot id. */
  boot(): Promise<BootSelection> {
    const selection = selectBootSlot(this.controlOrThrow());
    this.control = selection.control;
    this.bootInfo = { slot: selection.slot, bootId: randomUUID() };
    return Promise.resolve(selection);
  }

  readControl(): Promise<BootControl> {
    return Promise.resolve(structuredClone(this.controlOrThrow()));
  }

  writeControl(control: BootControl): Promise<void> {
    checkControl(control);
    this.control = structuredClone(control);
    return Promise.resolve();
  }

  booted(): Promise<BootInfo> {
    if (this.bootInfo === undefined)
      return Promise.reject(new Error('no boot record: the bootloader has not run'));
    return Promise.resolve({ ...this.bootInfo });
  }

  readManifest(slot: SlotName): Promise<SlotManifest | undefined> {
    const m = this.manifests[slot];
    return Promise.resolve(m === undefined ? undefined : { ...m });
  }

  writeManifest(slot: SlotName, manifest: SlotManifest | undefined): Promise<void> {
    if (manifest === undefined) delete this.manifests[slot];
    else {
      checkManifest(manifest);
      this.manifests[slot] = { ...manifest };
    }
    return Promise.resolve();
  }

  imageSize(slot: SlotName): Promise<number> {
    return Promise.resolve(this.images[slot].byteLength);
  }

  truncateImage(slot: SlotName, length: number): Promise<void> {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('invalid image length');
    const next = new Uint8Array(length);
    next.set(this.images[slot].subarray(0, length));
    this.images[slot] = next;
    return Promise.resolve();
  }

  writeImage(slot: SlotName, offset: number, bytes: Uint8Array): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError('invalid image offset');
    const cur = this.images[slot];
    const end = offset + bytes.byteLength;
    if (end > cur.byteLength) {
      const grown = new Uint8Array(end);
      grown.set(cur);
      this.images[slot] = grown;
    }
    this.images[slot].set(bytes, offset);
    return Promise.resolve();
  }

  async *readImage(slot: SlotName): AsyncIterable<Uint8Array> {
    const img = this.images[slot];
    for (let i = 0; i < img.byteLength; i += 1 << 16) {
      yield img.slice(i, i + (1 << 16));
      await Promise.resolve();
    }
  }

  private controlOrThrow(): BootControl {
    if (this.control === undefined) throw new Error('slots not provisioned');
    return this.control;
  }
}
