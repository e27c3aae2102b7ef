/**
 * Bootloaders played by the boot-integration tests, on the real tools' environments: U-Boot's
 * bootcount scheme read and written with fw_printenv/fw_setenv, RAUC's GRUB script with
 * grub-editenv. Each "boot" picks the slot as the bootloader script would, saves the environment
 * as it would, and hands the kernel a command line (`rauc.slot=X`) and a fresh boot id.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvLines, type EnvVars } from '../src/boot/boot-env.js';

/** Files of one simulated board under `dir`. */
export interface Board {
  dir: string;
  cmdlineFile: string;
  bootIdFile: string;
  /** fw_env.config (U-Boot) */
  fwConfig: string;
  grubEnv: string;
  images: { a: string; b: string };
}

/** A board: 1 MiB slot "partitions", an empty 16 KiB U-Boot env created with defaults, slot A booted. */
export function makeBoard(dir: string): Board {
  const b: Board = {
    dir,
    cmdlineFile: join(dir, 'cmdline'),
    bootIdFile: join(dir, 'boot_id'),
    fwConfig: join(dir, 'fw_env.config'),
    grubEnv: join(dir, 'grubenv'),
    images: { a: join(dir, 'slot-a.img'), b: join(dir, 'slot-b.img') },
  };
  for (const p of Object.values(b.images)) writeFileSync(p, Buffer.alloc(1 << 20));
  writeFileSync(join(dir, 'uboot.env'), Buffer.alloc(0x4000));
  writeFileSync(b.fwConfig, `${join(dir, 'uboot.env')} 0x0 0x4000\n`);
  writeFileSync(join(dir, 'defaults'), 'bootdelay=0\n');
  execFileSync('fw_setenv', ['-c', b.fwConfig, '-f', join(dir, 'defaults'), 'bootdelay', '0']);
  handOver(b, 'A');
  return b;
}

/** What the kernel is told: the slot on the command line and a new boot id. */
export function handOver(b: Board, bootname: string): void {
  writeFileSync(b.cmdlineFile, `console=ttyS0 root=/dev/slot rauc.slot=${bootname} rw\n`);
  writeFileSync(b.bootIdFile, `${randomUUID()}\n`);
}

export function ubootEnvOf(b: Board): EnvVars {
  return parseEnvLines(execFileSync('fw_printenv', ['-c', b.fwConfig], { encoding: 'utf8' }));
}

/**
 * U-Boot's boot: with `upgrade_available=1` it counts the boot in `bootcount` (saved); once
 * `bootcount` exceeds `bootlimit`, `altbootcmd` boots the next slot of `boot_order`.
 */
export function ubootBoot(b: Board): string {
  const env = ubootEnvOf(b);
  const order = (env['boot_order'] ?? '').split(' ').filter((s) => s !== '');
  let slot = order[0]!;
  if (env['upgrade_available'] === '1') {
    const count = Number(env['bootcount'] ?? '0') + 1;
    execFileSync('fw_setenv', ['-c', b.fwConfig, 'bootcount', String(count)]);
    if (count > Number(env['bootlimit'] ?? '3')) slot = order[1] ?? slot;
  }
  handOver(b, slot);
  return slot;
}

export function grubEnvOf(b: Board): EnvVars {
  return parseEnvLines(execFileSync('grub-editenv', [b.grubEnv, 'list'], { encoding: 'utf8' }));
}

/** RAUC's GRUB script: the first slot of ORDER with X_OK=1 and X_TRY=0 gets X_TRY=1 and boots. */
export function grubBoot(b: Board): string {
  const env = grubEnvOf(b);
  for (const slot of (env['ORDER'] ?? '').split(' ')) {
    if (env[`${slot}_OK`] === '1' && env[`${slot}_TRY`] === '0') {
      execFileSync('grub-editenv', [b.grubEnv, 'set', `${slot}_TRY=1`]);
      handOver(b, slot);
      return slot;
    }
  }
  throw new Error(`GRUB: no bootable slot in ${JSON.stringify(env)}`);
}
