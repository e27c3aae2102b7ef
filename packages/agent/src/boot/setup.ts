/**
 * `bulwark agent setup`: prepares the A/B slots of the configured update mode and checks what the
 * agent will need, naming whatever is missing (docs/decisions/0023-boot-integration.md). It never
 * overwrites a boot-control record that exists: a device that already updated keeps its state.
 */
import { createHash } from 'node:crypto';
import { access, constants, readFile, stat } from 'node:fs/promises';
import type { UpdateConfig } from '../update/update-config.js';
import { otherSlot, type BootControl, type SlotName, type SlotStore } from '../update/slots.js';
import { ApplicationSlots } from './app-slots.js';
import { openBootIntegration } from './open-slots.js';
import { RaucSlots } from './rauc-slots.js';
import { runTool } from './tool.js';

/** One line of the report. */
export interface SetupCheck {
  ok: boolean;
  what: string;
  /** What to do when not ok. */
  fix?: string;
}

/** The application's first image (application mode): what `current` points at after setup. */
export interface FactoryImage {
  file: string;
  version: string;
  counter: number;
}

/** Prepares what can be prepared, then checks everything; `ok` when updates will work. */
export async function setupSlots(
  u: UpdateConfig,
  factory?: FactoryImage,
): Promise<{ ok: boolean; checks: SetupCheck[] }> {
  const checks: SetupCheck[] = [];
  const check = (ok: boolean, what: string, fix?: string) =>
    checks.push({ ok, what, ...(ok || fix === undefined ? {} : { fix }) });
  const done = () => ({ ok: checks.every((c) => c.ok), checks });
  if (u.mode === 'none') {
    check(
      false,
      'update.mode is none: firmware updates are refused (updates_not_supported)',
      'set update.mode (application, rauc, uboot or grub) and update.slotsDir',
    );
    return done();
  }
  if (u.mode === 'simulated') {
    check(
      false,
      'update.mode simulated: only a test or the simulator boots these slots',
      'on a device use application, rauc, uboot or grub',
    );
    return done();
  }
  const tools: Record<string, string[]> = {
    application: [],
    rauc: ['rauc'],
    uboot: ['fw_printenv', 'fw_setenv'],
    grub: ['grub-editenv'],
  };
  for (const t of tools[u.mode] ?? []) {
    const found = await onPath(t);
    check(found, `${t} is installed`, `install it (Debian: ${debianPackage(t)})`);
  }
  if (u.mode === 'uboot' || u.mode === 'grub') {
    for (const s of ['a', 'b'] as const) {
      const p = u.slotImages![s];
      const w = await writable(p);
      check(
        w,
        `slot ${s} image ${p} is writable`,
        'create the partition or file, or fix update.slotImages',
      );
    }
    if (u.mode === 'uboot' && u.ubootConfigFile !== undefined)
      check(await exists(u.ubootConfigFile), `${u.ubootConfigFile} exists`, 'write fw_env.config');
    for (const f of [u.cmdlineFile, u.bootIdFile]) check(await exists(f), `${f} is readable`);
  }
  if (!checks.every((c) => c.ok)) return done();
  if (u.mode === 'grub' && !(await exists(u.grubEnvFile)))
    await runTool(['grub-editenv', u.grubEnvFile, 'create']);
  const boot = await openBootIntegration(u);
  const slots = boot!.slots;
  if (slots instanceof ApplicationSlots) await provisionApplication(slots, check, factory);
  else await provisionBootloader(u, slots, check);
  return done();
}

async function provisionApplication(
  slots: ApplicationSlots,
  check: (ok: boolean, what: string, fix?: string) => void,
  factory: FactoryImage | undefined,
): Promise<void> {
  let control: BootControl | undefined;
  try {
    control = await slots.readControl();
  } catch {
    control = undefined;
  }
  if (control === undefined && factory !== undefined) {
    const image = new Uint8Array(await readFile(factory.file));
    await slots.dir.installFactory('a', image, {
      version: factory.version,
      counter: factory.counter,
      sha256: createHash('sha256').update(image).digest('hex'),
      length: image.byteLength,
    });
    await slots.switchSlot(false);
    control = await slots.readControl();
  }
  check(
    control !== undefined,
    `slots in ${slots.dir.root} hold the application`,
    'run `bulwark agent setup --config FILE --image APP --version V` to install its first image',
  );
  if (control === undefined) return;
  try {
    const b = await slots.booted();
    check(
      true,
      `${slots.currentLink} points to slot ${b.slot}; the service runs ${slots.currentLink}/image`,
    );
  } catch (err) {
    check(false, (err as Error).message, 're-run setup');
  }
}

async function provisionBootloader(
  u: UpdateConfig,
  slots: SlotStore,
  check: (ok: boolean, what: string, fix?: string) => void,
): Promise<void> {
  let booted: SlotName;
  try {
    booted = (await slots.booted()).slot;
    check(true, `the running system booted slot ${booted}`);
  } catch (err) {
    check(
      false,
      (err as Error).message,
      u.mode === 'rauc'
        ? 'is the RAUC service running (systemctl status rauc) with this system.conf?'
        : 'make the bootloader pass rauc.slot=A|B on the kernel command line',
    );
    return;
  }
  let control: BootControl | undefined;
  try {
    control = await slots.readControl();
  } catch (err) {
    if (u.mode === 'rauc') {
      check(
        false,
        `rauc status: ${(err as Error).message}`,
        'is the RAUC service running with this system.conf?',
      );
      return;
    }
  }
  if (control === undefined || (slots instanceof RaucSlots && !(await slots.hasRecord()))) {
    // First setup: the running slot is the good primary; the other holds nothing known yet.
    const other = otherSlot(booted);
    try {
      await slots.writeControl({
        primary: booted,
        order: [booted, other],
        slots: {
          [booted]: { attemptsLeft: u.bootAttempts, good: true },
          [other]: { attemptsLeft: 0, good: false },
        } as BootControl['slots'],
      });
    } catch (err) {
      check(false, `the boot-control record cannot be written: ${(err as Error).message}`);
      return;
    }
    check(
      true,
      `boot-control record written: slot ${booted} good and primary, slot ${other} empty`,
    );
  } else {
    check(true, `boot-control record present (primary ${control.primary})`);
  }
}

async function onPath(tool: string): Promise<boolean> {
  for (const dir of (process.env['PATH'] ?? '').split(':'))
    if (dir !== '' && (await exists(`${dir}/${tool}`))) return true;
  return false;
}

function debianPackage(tool: string): string {
  return tool === 'rauc' ? 'rauc' : tool === 'grub-editenv' ? 'grub-common' : 'libubootenv-tool';
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

async function writable(p: string): Promise<boolean> {
  try {
    await access(p, constants.W_OK);
    return (await stat(p)).isFile() || (await stat(p)).isBlockDevice();
  } catch {
    return false;
  }
}
