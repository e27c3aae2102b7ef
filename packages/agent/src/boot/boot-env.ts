/**
 * The boot-control record as bootloader environment variables (docs/decisions/0023-boot-integration.md):
 *
 * - **U-Boot** (the usual bootcount A/B scheme): `boot_order` lists the bootable slots, primary
 *   first (`"B A"`); `upgrade_available=1` while the primary is on trial, so U-Boot counts its boots
 *   in `bootcount`; once `bootcount` exceeds `bootlimit`, `altbootcmd` boots the next slot of
 *   `boot_order`. A slot left out of `boot_order` is not bootable.
 * - **GRUB** (RAUC's GRUB scheme, whose script ignores the variables it does not know): `ORDER`
 *   (primary first), `A_OK`/`B_OK` (bootable), `A_TRY`/`B_TRY` (set by GRUB when it boots the slot;
 *   a slot with TRY=1 is skipped), plus the agent's own `A_GOOD`/`B_GOOD` (confirmed healthy). GRUB's
 *   script cannot count: a trial slot gets one boot.
 *
 * The functions are pure; env-slots.ts reads and writes the variables with the real tools.
 */
import { checkControl, SLOT_NAMES, type BootControl, type SlotName } from '../update/slots.js';

/** Environment variables, name → value. */
export type EnvVars = Record<string, string>;

const upper = (s: SlotName) => s.toUpperCase();

function slotOf(name: string, what: string): SlotName {
  const s = name.toLowerCase();
  if (s !== 'a' && s !== 'b') throw new TypeError(`${what}: unknown slot ${JSON.stringify(name)}`);
  return s;
}

function orderOf(value: string | undefined, what: string): SlotName[] {
  if (value === undefined || value.trim() === '')
    throw new Error(`${what} is not set: the boot environment is not provisioned`);
  const listed = value
    .trim()
    .split(/\s+/)
    .map((n) => slotOf(n, what));
  if (new Set(listed).size !== listed.length) throw new TypeError(`${what} lists a slot twice`);
  return listed;
}

/** The record as U-Boot variables; `bootLimit` is the trial boots a new slot gets. */
export function controlToUboot(c: BootControl, bootLimit: number): EnvVars {
  checkControl(c);
  const order = [c.primary, ...c.order.filter((s) => s !== c.primary)];
  for (const s of order.slice(1))
    if (!c.slots[s].good && c.slots[s].attemptsLeft > 0)
      throw new TypeError(`slot ${s} is on trial but not the primary: U-Boot cannot express it`);
  const bootable = order.filter((s) => c.slots[s].good || c.slots[s].attemptsLeft > 0);
  const p = c.slots[c.primary];
  const trial = !p.good;
  return {
    boot_order: bootable.map(upper).join(' '),
    bootlimit: String(bootLimit),
    upgrade_available: trial ? '1' : '0',
    bootcount: trial ? String(Math.max(0, bootLimit - p.attemptsLeft)) : '0',
  };
}

/** The record U-Boot's variables describe. */
export function ubootToControl(env: EnvVars, bootLimit: number): BootControl {
  const bootable = orderOf(env['boot_order'], 'boot_order');
  const limit = env['bootlimit'] === undefined ? bootLimit : Number(env['bootlimit']);
  const count = Number(env['bootcount'] ?? '0');
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('bootlimit is not a count');
  if (!Number.isSafeInteger(count) || count < 0) throw new TypeError('bootcount is not a count');
  const primary = bootable[0]!;
  const trial = env['upgrade_available'] === '1';
  const slots = {} as BootControl['slots'];
  for (const s of SLOT_NAMES) {
    if (!bootable.includes(s)) slots[s] = { attemptsLeft: 0, good: false };
    else if (s === primary && trial)
      slots[s] = { attemptsLeft: Math.max(0, limit - count), good: false };
    else slots[s] = { attemptsLeft: limit, good: true };
  }
  return {
    primary,
    order: [...bootable, ...SLOT_NAMES.filter((s) => !bootable.includes(s))],
    slots,
  };
}

/** The record as GRUB variables (RAUC's scheme plus `X_GOOD`). */
export function controlToGrub(c: BootControl): EnvVars {
  checkControl(c);
  const order = [c.primary, ...c.order.filter((s) => s !== c.primary)];
  for (const s of SLOT_NAMES) if (!order.includes(s)) order.push(s);
  const vars: EnvVars = { ORDER: order.map(upper).join(' ') };
  for (const s of SLOT_NAMES) {
    const st = c.slots[s];
    vars[`${upper(s)}_OK`] = st.good || st.attemptsLeft > 0 ? '1' : '0';
    vars[`${upper(s)}_TRY`] = st.attemptsLeft > 0 ? '0' : '1';
    vars[`${upper(s)}_GOOD`] = st.good ? '1' : '0';
  }
  return vars;
}

/** The record GRUB's variables describe; a slot with attempts has `bootAttempts` of them. */
export function grubToControl(env: EnvVars, bootAttempts: number): BootControl {
  const order = orderOf(env['ORDER'], 'ORDER');
  for (const s of SLOT_NAMES) if (!order.includes(s)) order.push(s);
  const slots = {} as BootControl['slots'];
  for (const s of SLOT_NAMES) {
    const ok = env[`${upper(s)}_OK`] === '1';
    const tried = env[`${upper(s)}_TRY`] === '1';
    slots[s] = {
      attemptsLeft: ok && !tried ? bootAttempts : 0,
      good: ok && env[`${upper(s)}_GOOD`] === '1',
    };
  }
  return { primary: order[0]!, order, slots };
}

/** Parses `name=value` lines (fw_printenv, grub-editenv list). */
export function parseEnvLines(text: string): EnvVars {
  const vars: EnvVars = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) vars[line.slice(0, i)] = line.slice(i + 1);
  }
  return vars;
}
