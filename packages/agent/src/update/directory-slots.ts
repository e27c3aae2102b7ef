/**
 * SlotStore on a directory, so the install path runs (and is tested) on any Linux box without real
 * partitions:
 *
 *   <root>/boot-control.json   the bootloader's record (U-Boot env / GRUB env block on a board)
 *   <root>/boot.json           what the (simulated) bootloader handed the system: slot + boot id
 *                              (on a board: `rauc.slot=` on /proc/cmdline and the kernel's boot_id)
 *   <root>/a/image, a/manifest.json, b/image, b/manifest.json
 *
 * Records go through DirFiles (temp + fsync + rename + directory fsync); image writes are fsync'd
 * before they resolve. `boot()` plays the bootloader for tests and the simulator.
 *
 * With `images`, each slot's image is that path instead (a partition such as /dev/mmcblk0p2, or a
 * file): its size is fixed, so the length of what the slot holds is kept in `<root>/<slot>/length`
 * (written and fsync'd with each resize), and reads stop there.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { DirFiles } from '../files/dir-files.js';
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

const CONTROL = 'boot-control.json';
const BOOT = 'boot.json';
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A/B slots as two directories under `root`. */
export class DirectorySlots implements SlotStore {
  private constructor(
    readonly root: string,
    private readonly files: DirFiles,
    private readonly images: Readonly<Record<SlotName, string>> | undefined,
  ) {}

  /**
   * Opens (creating) the slot root; leftovers of an interrupted record write are swept. `images`
   * puts the slot images on partitions (or files) of a fixed size instead of `<root>/<slot>/image`.
   */
  static async open(
    root: string,
    images?: Readonly<Record<SlotName, string>>,
  ): Promise<DirectorySlots> {
    return new DirectorySlots(root, await DirFiles.open(root), images);
  }

  /** The path of a slot's image file. */
  imagePath(slot: SlotName): string {
    return this.images?.[slot] ?? join(this.root, slot, 'image');
  }

  /**
   * Provisioning: puts the factory image into `slot` and makes it the good primary. Refused once a
   * boot-control record exists (that would overwrite the device's boot state).
   */
  async installFactory(slot: SlotName, image: Uint8Array, manifest: SlotManifest): Promise<void> {
    checkManifest(manifest, 'factory manifest');
    if ((await this.files.read(CONTROL)) !== undefined)
      throw new Error('slots already provisioned: boot-control record exists');
    const sha256 = createHash('sha256').update(image).digest('hex');
    if (sha256 !== manifest.sha256 || image.byteLength !== manifest.length)
      throw new Error('factory image does not match its manifest (sha256 or length)');
    await this.truncateImage(slot, 0);
    await this.writeImage(slot, 0, image);
    await this.writeManifest(slot, manifest);
    const other = otherSlot(slot);
    await this.writeControl({
      primary: slot,
      order: [slot, other],
      slots: {
        [slot]: { attemptsLeft: DEFAULT_BOOT_ATTEMPTS, good: true },
        [other]: { attemptsLeft: 0, good: false },
      } as BootControl['slots'],
    });
  }

  /**
   * Plays the bootloader for one boot: selects the slot (`selectBootSlot`), persists the record with
   * the consumed attempt, then records the handoff (slot and a fresh boot id) as the kernel would.
   */
  async boot(): Promise<BootSelection> {
    const selection = selectBootSlot(await this.readControl());
    await this.writeControl(selection.control);
    await this.recordBoot(selection.slot);
    return selection;
  }

  /** Records a handoff to `slot` with a fresh boot id (what the kernel tells after a boot). */
  async recordBoot(slot: SlotName): Promise<BootInfo> {
    const info: BootInfo = { slot, bootId: randomUUID() };
    await this.files.write(BOOT, enc.encode(JSON.stringify(info)));
    return info;
  }

  async readControl(): Promise<BootControl> {
    const raw = await this.files.read(CONTROL);
    if (raw === undefined) throw new Error(`no boot-control record in ${this.root}`);
    const c: unknown = JSON.parse(dec.decode(raw));
    checkControl(c);
    return c;
  }

  async writeControl(control: BootControl): Promise<void> {
    checkControl(control);
    await this.files.write(CONTROL, enc.encode(JSON.stringify(control)));
  }

  async booted(): Promise<BootInfo> {
    const raw = await this.files.read(BOOT);
    if (raw === undefined)
      throw new Error(`no boot record in ${this.root}: the bootloader has not run`);
    const b = JSON.parse(dec.decode(raw)) as BootInfo;
    if ((b.slot !== 'a' && b.slot !== 'b') || typeof b.bootId !== 'string')
      throw new TypeError('invalid boot record');
    return b;
  }

  /** A small record of an adapter kept with the slots (`name` is a plain file name). */
  async readExtra(name: string): Promise<string | undefined> {
    const raw = await this.files.read(name);
    return raw === undefined ? undefined : dec.decode(raw);
  }

  async writeExtra(name: string, text: string): Promise<void> {
    await this.files.write(name, enc.encode(text));
  }

  async readManifest(slot: SlotName): Promise<SlotManifest | undefined> {
    const raw = await this.files.read(`${slot}/manifest.json`);
    if (raw === undefined) return undefined;
    const m: unknown = JSON.parse(dec.decode(raw));
    checkManifest(m);
    return m;
  }

  async writeManifest(slot: SlotName, manifest: SlotManifest | undefined): Promise<void> {
    if (manifest === undefined) {
      await this.files.remove(`${slot}/manifest.json`);
      await syncDir(join(this.root, slot));
      return;
    }
    checkManifest(manifest);
    await this.files.write(`${slot}/manifest.json`, enc.encode(JSON.stringify(manifest)));
  }

  async imageSize(slot: SlotName): Promise<number> {
    if (this.images !== undefined) {
      const raw = await this.files.read(`${slot}/length`);
      const n = raw === undefined ? 0 : Number(dec.decode(raw));
      if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`invalid ${slot}/length record`);
      return n;
    }
    try {
      const fh = await open(this.imagePath(slot), 'r');
      try {
        return (await fh.stat()).size;
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  async truncateImage(slot: SlotName, length: number): Promise<void> {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('invalid image length');
    if (this.images !== undefined) {
      // A partition keeps its size: only the recorded length changes.
      await this.files.write(`${slot}/length`, enc.encode(String(length)));
      return;
    }
    const dir = join(this.root, slot);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // 'a' creates a missing file without truncating an existing one.
    const fh = await open(this.imagePath(slot), 'a', 0o600);
    try {
      await fh.truncate(length);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await syncDir(dir);
  }

  async writeImage(slot: SlotName, offset: number, bytes: Uint8Array): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError('invalid image offset');
    if (this.images !== undefined) return this.writePartition(slot, offset, bytes);
    const dir = join(this.root, slot);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // O_CREAT without O_APPEND: positional writes, and a missing image is created.
    const fh = await open(this.imagePath(slot), constants.O_WRONLY | constants.O_CREAT, 0o600);
    try {
      let done = 0;
      while (done < bytes.byteLength) {
        const { bytesWritten } = await fh.write(
          bytes,
          done,
          bytes.byteLength - done,
          offset + done,
        );
        done += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (offset === 0) await syncDir(dir); // the first write may have created the file
  }

  async *readImage(slot: SlotName): AsyncIterable<Uint8Array> {
    const size = await this.imageSize(slot);
    if (size === 0) return;
    const opts = {
      highWaterMark: 1 << 16,
      ...(this.images !== undefined ? { end: size - 1 } : {}),
    };
    for await (const chunk of createReadStream(this.imagePath(slot), opts))
      yield new Uint8Array(chunk as Buffer);
  }

  /** Positional write into a fixed-size slot image; the recorded length grows to cover it. */
  private async writePartition(slot: SlotName, offset: number, bytes: Uint8Array): Promise<void> {
    const fh = await open(this.imagePath(slot), constants.O_WRONLY);
    try {
      if (offset + bytes.byteLength > (await fh.stat()).size && !(await fh.stat()).isBlockDevice())
        throw new RangeError(`the image does not fit the slot ${slot} (${this.imagePath(slot)})`);
      let done = 0;
      while (done < bytes.byteLength) {
        const w = await fh.write(bytes, done, bytes.byteLength - done, offset + done);
        done += w.bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const end = offset + bytes.byteLength;
    if (end > (await this.imageSize(slot)))
      await this.files.write(`${slot}/length`, enc.encode(String(end)));
  }
}

/** fsync a directory so a create or unlink in it is durable. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    await fh.sync();
  } catch (err) {
    // Some filesystems (certain FUSE or tmpfs setups) refuse fsync on a directory.
    if (!['EINVAL', 'EISDIR', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? ''))
      throw err;
  } finally {
    await fh.close();
  }
}
