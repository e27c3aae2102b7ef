/**
 * Which slot the running system booted from, and this boot's id, as the kernel tells it: the slot
 * from the kernel command line (`rauc.slot=A`, as RAUC's bootloader scripts pass it, or
 * `bulwark.slot=a`), the id from /proc/sys/kernel/random/boot_id (new on every boot). Both paths
 * are configurable so tests can play the bootloader.
 */
import { readFile } from 'node:fs/promises';
import type { BootInfo, SlotName } from '../update/slots.js';

/** Where the kernel's view of the boot is read. */
export interface BootSourceOptions {
  cmdlineFile: string;
  bootIdFile: string;
  /** Boot names of the slots on the command line (RAUC's `bootname`); default `A`/`B`. */
  bootnames?: Readonly<Record<SlotName, string>>;
}

/** The slot a boot name (`A`, `system1` …) stands for. */
export function slotOfBootname(
  name: string,
  bootnames: Readonly<Record<SlotName, string>> = { a: 'A', b: 'B' },
): SlotName | undefined {
  if (name === bootnames.a) return 'a';
  if (name === bootnames.b) return 'b';
  return undefined;
}

/** Reads the booted slot and boot id; a clear error when the command line names no slot. */
export async function readBootInfo(o: BootSourceOptions): Promise<BootInfo> {
  const cmdline = (await readFile(o.cmdlineFile, 'utf8')).trim();
  const bootId = (await readFile(o.bootIdFile, 'utf8')).trim();
  if (bootId === '') throw new Error(`${o.bootIdFile} is empty: no boot id`);
  for (const arg of cmdline.split(/\s+/)) {
    const [key, value = ''] = arg.split('=', 2);
    if (key === 'bulwark.slot' && (value === 'a' || value === 'b')) return { slot: value, bootId };
    if (key === 'rauc.slot') {
      const slot = slotOfBootname(value, o.bootnames);
      if (slot !== undefined) return { slot, bootId };
    }
  }
  throw new Error(
    `the kernel command line (${o.cmdlineFile}) names no slot: the bootloader must pass ` +
      '`rauc.slot=A|B` (or `bulwark.slot=a|b`)',
  );
}
