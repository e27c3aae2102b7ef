/**
 * Application mode (docs/decisions/0023-boot-integration.md): the A/B slots hold an application,
 * not the OS. Two directories under the slot root, and a `current` symlink the service runs from
 * (`<root>/current/image`). The agent plays the bootloader itself: the "reboot" selects the slot
 * by the same boot-control rule (`selectBootSlot`, consuming a trial attempt), repoints `current`
 * atomically (a new symlink renamed over the old one), records the switch with a fresh id, then
 * runs the restart command (e.g. `systemctl restart my-app`).
 */
import { open, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectorySlots } from '../update/directory-slots.js';
import {
  selectBootSlot,
  type BootControl,
  type BootInfo,
  type SlotManifest,
  type SlotName,
  type SlotStore,
} from '../update/slots.js';
import { runTool } from './tool.js';

/** Application slots: DirectorySlots plus the `current` symlink and a restart command. */
export class ApplicationSlots implements SlotStore {
  private constructor(
    readonly dir: DirectorySlots,
    private readonly restartCommand: readonly string[] | undefined,
  ) {}

  static async open(root: string, restartCommand?: readonly string[]): Promise<ApplicationSlots> {
    return new ApplicationSlots(await DirectorySlots.open(root), restartCommand);
  }

  /** The symlink the application runs from. */
  get currentLink(): string {
    return join(this.dir.root, 'current');
  }

  /**
   * The switch: the bootloader's choice, the symlink, the record of the switch, then the restart
   * command. The symlink moves before the switch is recorded, so a crash in between repeats the
   * switch (the same choice) rather than mistaking it for a fallback.
   */
  async switchSlot(restart = true): Promise<SlotName> {
    const selection = selectBootSlot(await this.dir.readControl());
    await this.dir.writeControl(selection.control);
    await this.pointTo(selection.slot);
    await this.dir.recordBoot(selection.slot);
    if (restart && this.restartCommand !== undefined) await runTool(this.restartCommand);
    return selection.slot;
  }

  async booted(): Promise<BootInfo> {
    const info = await this.dir.booted();
    let target: string;
    try {
      target = await readlink(this.currentLink);
    } catch (err) {
      throw new Error(`no ${this.currentLink} symlink: the slots are not set up`, { cause: err });
    }
    if (target !== 'a' && target !== 'b')
      throw new Error(`${this.currentLink} points to ${target}, not to slot a or b`);
    return { slot: target, bootId: info.bootId };
  }

  private async pointTo(slot: SlotName): Promise<void> {
    const tmp = `${this.currentLink}.tmp`;
    await rm(tmp, { force: true });
    await symlink(slot, tmp);
    await rename(tmp, this.currentLink);
    const fh = await open(this.dir.root, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  readControl(): Promise<BootControl> {
    return this.dir.readControl();
  }
  writeControl(control: BootControl): Promise<void> {
    return this.dir.writeControl(control);
  }
  readManifest(slot: SlotName): Promise<SlotManifest | undefined> {
    return this.dir.readManifest(slot);
  }
  writeManifest(slot: SlotName, manifest: SlotManifest | undefined): Promise<void> {
    return this.dir.writeManifest(slot, manifest);
  }
  imageSize(slot: SlotName): Promise<number> {
    return this.dir.imageSize(slot);
  }
  truncateImage(slot: SlotName, length: number): Promise<void> {
    return this.dir.truncateImage(slot, length);
  }
  writeImage(slot: SlotName, offset: number, bytes: Uint8Array): Promise<void> {
    return this.dir.writeImage(slot, offset, bytes);
  }
  readImage(slot: SlotName): AsyncIterable<Uint8Array> {
    return this.dir.readImage(slot);
  }
}
