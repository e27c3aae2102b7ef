/**
 * The boot integration the `update` section asks for (update-config.ts): the SlotStore the installer
 * works on and, in application mode, the switch that stands for a reboot.
 */
import { DirectorySlots } from '../update/directory-slots.js';
import type { UpdateConfig } from '../update/update-config.js';
import type { SlotStore } from '../update/slots.js';
import { ApplicationSlots } from './app-slots.js';
import { EnvSlots, grubEnv, ubootEnv } from './env-slots.js';
import { RaucSlots } from './rauc-slots.js';

/** The slots and, when the agent switches them itself, the switch. */
export interface BootIntegration {
  slots: SlotStore;
  /** Application mode: switch the slot and restart the application (instead of a reboot). */
  restart?: () => Promise<void>;
}

/** Opens the configured integration; undefined in mode `none`. */
export async function openBootIntegration(u: UpdateConfig): Promise<BootIntegration | undefined> {
  if (u.mode === 'none' || u.slotsDir === undefined) return undefined;
  const boot = { cmdlineFile: u.cmdlineFile, bootIdFile: u.bootIdFile, bootnames: u.bootnames };
  switch (u.mode) {
    case 'simulated':
      return { slots: await DirectorySlots.open(u.slotsDir) };
    case 'application': {
      const slots = await ApplicationSlots.open(u.slotsDir, u.restartCommand);
      return {
        slots,
        restart: async () => {
          await slots.switchSlot();
        },
      };
    }
    case 'rauc':
      return {
        slots: new RaucSlots(await DirectorySlots.open(u.slotsDir), {
          ...(u.raucConfigFile !== undefined ? { configFile: u.raucConfigFile } : {}),
          bootnames: u.bootnames,
          bootIdFile: u.bootIdFile,
        }),
      };
    case 'uboot':
    case 'grub': {
      const images = await DirectorySlots.open(u.slotsDir, u.slotImages);
      const env =
        u.mode === 'uboot'
          ? ubootEnv({
              ...(u.ubootConfigFile !== undefined ? { configFile: u.ubootConfigFile } : {}),
              bootAttempts: u.bootAttempts,
            })
          : grubEnv({ envFile: u.grubEnvFile, bootAttempts: u.bootAttempts });
      return { slots: new EnvSlots(images, env, boot) };
    }
  }
}
