/**
 * SlotStore for a device whose bootloader reads an environment: U-Boot (`fw_printenv`/`fw_setenv`
 * from libubootenv-tool) or GRUB (`grub-editenv` on grubenv). The boot-control record lives in the
 * environment (boot-env.ts maps it); the slot images are the slot partitions (or files), with their
 * manifests and recorded lengths in the slot directory; the booted slot and boot id come from the
 * kernel (boot-source.ts). The bootloader itself does the counting and the fallback.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DirectorySlots } from '../update/directory-slots.js';
import type { BootControl, BootInfo, SlotManifest, SlotName, SlotStore } from '../update/slots.js';
import {
  controlToGrub,
  controlToUboot,
  grubToControl,
  parseEnvLines,
  ubootToControl,
  type EnvVars,
} from './boot-env.js';
import { readBootInfo, type BootSourceOptions } from './boot-source.js';
import { runTool } from './tool.js';

/** Reads and writes a bootloader environment. */
export interface EnvBackend {
  /** Which bootloader, for messages. */
  readonly name: 'uboot' | 'grub';
  read(): Promise<EnvVars>;
  /** Sets the variables in one write of the environment. */
  write(vars: EnvVars): Promise<void>;
  toControl(vars: EnvVars): BootControl;
  fromControl(control: BootControl): EnvVars;
}

/** U-Boot's environment through libubootenv's tools; `configFile` is fw_env.config. */
export function ubootEnv(o: { configFile?: string; bootAttempts: number }): EnvBackend {
  const cfg = o.configFile !== undefined ? ['-c', o.configFile] : [];
  return {
    name: 'uboot',
    async read() {
      return parseEnvLines(await runTool(['fw_printenv', ...cfg]));
    },
    async write(vars) {
      // One `fw_setenv -s` call writes every variable in one environment write (atomic with a
      // redundant environment, CONFIG_ENV_REDUNDANT).
      const dir = await mkdtemp(join(process.env['TMPDIR'] ?? '/tmp', 'bulwark-fwenv-'));
      try {
        const script = join(dir, 'script');
        await writeFile(
          script,
          Object.entries(vars)
            .map(([k, v]) => `${k}=${v}\n`)
            .join(''),
        );
        await runTool(['fw_setenv', ...cfg, '-s', script]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    toControl: (vars) => ubootToControl(vars, o.bootAttempts),
    fromControl: (c) => controlToUboot(c, o.bootAttempts),
  };
}

/** GRUB's environment block through `grub-editenv`. */
export function grubEnv(o: { envFile: string; bootAttempts: number }): EnvBackend {
  return {
    name: 'grub',
    async read() {
      return parseEnvLines(await runTool(['grub-editenv', o.envFile, 'list']));
    },
    async write(vars) {
      await runTool([
        'grub-editenv',
        o.envFile,
        'set',
        ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
      ]);
    },
    toControl: (vars) => grubToControl(vars, o.bootAttempts),
    fromControl: (c) => controlToGrub(c),
  };
}

/** A/B slots whose boot-control record is a bootloader environment. */
export class EnvSlots implements SlotStore {
  constructor(
    private readonly images: DirectorySlots,
    readonly env: EnvBackend,
    private readonly boot: BootSourceOptions,
    /** The mount whose device must never be written (the running system); `/` on a device. */
    private readonly rootPath = '/',
  ) {}

  async readControl(): Promise<BootControl> {
    return this.env.toControl(await this.env.read());
  }

  async writeControl(control: BootControl): Promise<void> {
    await this.env.write(this.env.fromControl(control));
  }

  booted(): Promise<BootInfo> {
    return readBootInfo(this.boot);
  }

  readManifest(slot: SlotName): Promise<SlotManifest | undefined> {
    return this.images.readManifest(slot);
  }

  writeManifest(slot: SlotName, manifest: SlotManifest | undefined): Promise<void> {
    return this.images.writeManifest(slot, manifest);
  }

  imageSize(slot: SlotName): Promise<number> {
    return this.images.imageSize(slot);
  }

  async truncateImage(slot: SlotName, length: number): Promise<void> {
    await this.refuseRunning(slot);
    return this.images.truncateImage(slot, length);
  }

  async writeImage(slot: SlotName, offset: number, bytes: Uint8Array): Promise<void> {
    await this.refuseRunning(slot);
    return this.images.writeImage(slot, offset, bytes);
  }

  /**
   * Refuses to write the partition the root filesystem is mounted from: a `slotImages` mapping
   * that does not match the boot names would otherwise overwrite the running system.
   */
  private async refuseRunning(slot: SlotName): Promise<void> {
    const path = this.images.imagePath(slot);
    const st = await stat(path);
    if (st.isBlockDevice() && st.rdev === (await stat(this.rootPath)).dev)
      throw new Error(
        `refusing to write slot ${slot}: ${path} holds the running root filesystem ` +
          '(update.slotImages does not match the boot names)',
      );
  }

  readImage(slot: SlotName): AsyncIterable<Uint8Array> {
    return this.images.readImage(slot);
  }
}
