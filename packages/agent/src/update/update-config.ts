/**
 * The `update` section of the agent's configuration: how firmware updates reach the device
 * (docs/decisions/0023-boot-integration.md). `mode` says what a slot is and who boots it:
 *
 * - `none`: updates are refused `updates_not_supported` (the default without `slotsDir`).
 * - `application`: two directories and a `current` symlink under `slotsDir`; the switch is the
 *   symlink, the "reboot" is `restartCommand` (an application, not the OS, is updated).
 * - `rauc`: RAUC installs a bundle into the other slot and its bootloader backend boots it;
 *   `rauc status mark-good|mark-bad` after the health check.
 * - `uboot` / `grub`: images written to `slotImages` (partitions), the boot-control record in the
 *   U-Boot environment (`fw_setenv`) or GRUB's env block (`grub-editenv`).
 * - `simulated`: `slotsDir` as DirectorySlots, whose boot record only a test or the simulator
 *   writes (`slots.boot()`); never on a device. The default when only `slotsDir` is given, as
 *   before this option existed.
 */
import {
  AgentConfigError,
  commandList,
  int,
  object,
  oneOf,
  optStr,
  str,
  type Obj,
} from '../config.js';
import type { SlotName } from './slots.js';

/** What a slot is and who boots it. */
export type UpdateMode = 'none' | 'application' | 'rauc' | 'uboot' | 'grub' | 'simulated';

export const UPDATE_MODES: readonly UpdateMode[] = [
  'none',
  'application',
  'rauc',
  'uboot',
  'grub',
  'simulated',
];

/** The parsed `update` section. */
export interface UpdateConfig {
  mode: UpdateMode;
  /**
   * The slot directory: the slots themselves (application, simulated), or the manifests, recorded
   * lengths and downloaded bundles (uboot, grub, rauc).
   */
  slotsDir?: string;
  /** The organization's firmware root (TUF root JSON) to pin; without it the first offer's root is pinned. */
  rootFile?: string;
  /** Hardware revision, matched against a release's `hardware` list. */
  hardware?: string;
  /** Commands run after booting a new slot; each must exit 0 within its timeout. */
  healthChecks: { name: string; command: string[]; timeoutSeconds: number }[];
  /**
   * A new slot not confirmed healthy within this many seconds after its first boot is rolled back.
   * The deadline is persisted: restarts of the agent do not extend it.
   */
  healthTimeoutSeconds: number;
  /** Trial boots of a new slot before the bootloader falls back (U-Boot's `bootlimit`). */
  bootAttempts: number;
  /** Application mode: restarts the application after the switch (program, args). */
  restartCommand?: string[];
  /** uboot/grub: the slot partitions (or files) images are written to. */
  slotImages?: { a: string; b: string };
  /** uboot: libubootenv's fw_env.config (default: the tools' own, /etc/fw_env.config). */
  ubootConfigFile?: string;
  /** grub: the environment block (default /boot/grub/grubenv). */
  grubEnvFile: string;
  /** rauc: RAUC's system.conf (default: RAUC's own, /etc/rauc/system.conf). */
  raucConfigFile?: string;
  /**
   * The site gateway's firmware cache (decision 0040): images are downloaded from this HTTPS
   * origin instead of the hub's (same path, same device certificate). Offers still come from the
   * hub and every image is still checked against its signed metadata here.
   */
  cache?: { url: string; caFile: string };
  /** Boot names of the slots (RAUC's `bootname`, `rauc.slot=` on the kernel command line). */
  bootnames: Record<SlotName, string>;
  /** Where the booted slot is read (default /proc/cmdline). */
  cmdlineFile: string;
  /** Where this boot's id is read (default /proc/sys/kernel/random/boot_id). */
  bootIdFile: string;
}

/** Parses and checks the section; `path` resolves a relative path against the config file. */
export function parseUpdateConfig(raw: unknown, path: (p: string) => string): UpdateConfig {
  const up = object(raw, 'update', [
    'mode',
    'slotsDir',
    'rootFile',
    'hardware',
    'healthChecks',
    'healthTimeoutSeconds',
    'bootAttempts',
    'restartCommand',
    'slotImages',
    'ubootConfigFile',
    'grubEnvFile',
    'raucConfigFile',
    'bootnames',
    'cmdlineFile',
    'bootIdFile',
    'cache',
  ]);
  const p = 'update.';
  const slotsDir = optStr(up, 'slotsDir', p);
  const mode = oneOf(up, 'mode', p, UPDATE_MODES, slotsDir !== undefined ? 'simulated' : 'none');
  const hc = up['healthChecks'] ?? [];
  if (!Array.isArray(hc)) throw new AgentConfigError('update.healthChecks must be an array');
  const optPath = (k: string) => {
    const v = optStr(up, k, p);
    return v === undefined ? undefined : path(v);
  };
  const rootFile = optPath('rootFile');
  const hardware = optStr(up, 'hardware', p);
  const restartCommand = commandList(up['restartCommand'], 'update.restartCommand');
  const si =
    up['slotImages'] === undefined
      ? undefined
      : object(up['slotImages'], 'update.slotImages', ['a', 'b']);
  const bn = object(up['bootnames'], 'update.bootnames', ['a', 'b']);
  const ubootConfigFile = optPath('ubootConfigFile');
  const raucConfigFile = optPath('raucConfigFile');
  const cache = originSection(up['cache'], 'update.cache', path);
  const config: UpdateConfig = {
    mode,
    ...(slotsDir !== undefined ? { slotsDir: path(slotsDir) } : {}),
    ...(rootFile !== undefined ? { rootFile } : {}),
    ...(hardware !== undefined ? { hardware } : {}),
    healthChecks: hc.map((v, i) => healthCheck(v, `update.healthChecks[${i}]`)),
    healthTimeoutSeconds: int(up, 'healthTimeoutSeconds', p, 300, 1, 86400),
    // U-Boot's bootcount and RAUC's bootchooser count in small numbers; 100 is far past any use.
    bootAttempts: int(up, 'bootAttempts', p, 3, 1, 100),
    ...(restartCommand !== undefined ? { restartCommand } : {}),
    ...(si !== undefined
      ? {
          slotImages: {
            a: path(str(si, 'a', 'update.slotImages.')),
            b: path(str(si, 'b', 'update.slotImages.')),
          },
        }
      : {}),
    ...(ubootConfigFile !== undefined ? { ubootConfigFile } : {}),
    grubEnvFile: path(str(up, 'grubEnvFile', p, '/boot/grub/grubenv')),
    ...(raucConfigFile !== undefined ? { raucConfigFile } : {}),
    ...(cache !== undefined ? { cache } : {}),
    bootnames: {
      a: str(bn, 'a', 'update.bootnames.', 'A'),
      b: str(bn, 'b', 'update.bootnames.', 'B'),
    },
    cmdlineFile: path(str(up, 'cmdlineFile', p, '/proc/cmdline')),
    bootIdFile: path(str(up, 'bootIdFile', p, '/proc/sys/kernel/random/boot_id')),
  };
  checkMode(config);
  return config;
}

/** What each mode needs, said at start rather than at the first offer. */
function checkMode(c: UpdateConfig): void {
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new AgentConfigError(`update.mode ${c.mode} needs ${what}`);
  };
  if (c.mode !== 'none') need(c.slotsDir !== undefined, 'update.slotsDir');
  if (c.mode === 'uboot' || c.mode === 'grub')
    need(c.slotImages !== undefined, 'update.slotImages (the slot partitions, a and b)');
  if (c.bootnames.a === c.bootnames.b)
    throw new AgentConfigError('update.bootnames.a and .b must differ');
}

/** `update.cache`: an https origin (nothing but scheme, host and port) and the CA it is signed by. */
/**
 * `{ url, caFile }` naming another HTTPS origin the device's certificate may go to (the site
 * gateway's LAN server): `update.cache` and `remoteAccess.relay`.
 * @internal config parsing helper (also used by config.ts).
 */
export function originSection(
  raw: unknown,
  where: string,
  path: (p: string) => string,
): { url: string; caFile: string } | undefined {
  if (raw === undefined) return undefined;
  const c = object(raw, where, ['url', 'caFile']);
  const url = str(c, 'url', `${where}.`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AgentConfigError(`${where}.url must be a URL`);
  }
  if (u.protocol !== 'https:' || u.href !== `${u.origin}/`)
    throw new AgentConfigError(`${where}.url must be an https origin (https://host:port)`);
  return { url: u.origin, caFile: path(str(c, 'caFile', `${where}.`)) };
}

function healthCheck(v: unknown, path: string): UpdateConfig['healthChecks'][number] {
  const o: Obj = object(v, path, ['name', 'command', 'timeoutSeconds']);
  return {
    name: str(o, 'name', `${path}.`),
    command: commandList(o['command'] ?? null, `${path}.command`)!,
    timeoutSeconds: int(o, 'timeoutSeconds', `${path}.`, 30, 1, 3600),
  };
}
