/**
 * Firmware versions: dotted numbers with an optional pre-release, e.g. `1.4.2` or `2.0.0-rc.1`
 * (the semver precedence rules, without build metadata). Anything else is refused when signing, so
 * a device never has to guess how two versions compare. The one order the signer, the device and
 * the hub's rollouts and auto-upgrade all use.
 */
const VERSION = /^(\d{1,9})(\.\d{1,9}){0,3}(-[0-9A-Za-z.-]{1,64})?$/;

/** Whether `text` is a version this package can order. */
export function isVersion(text: string): boolean {
  return VERSION.test(text);
}

/** Orders two versions (both `isVersion`): negative when `a < b`, 0 when equal, positive when `a > b`. */
export function compareVersions(a: string, b: string): number {
  const [coreA = '', preA] = splitPre(a);
  const [coreB = '', preB] = splitPre(b);
  const na = coreA.split('.').map(Number);
  const nb = coreB.split('.').map(Number);
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    const d = (na[i] ?? 0) - (nb[i] ?? 0);
    if (d !== 0) return d;
  }
  // A pre-release sorts before its release (semver §11.3).
  if (preA === undefined || preB === undefined) {
    return preA === preB ? 0 : preA === undefined ? 1 : -1;
  }
  const pa = preA.split('.');
  const pb = preB.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (xn !== yn) return xn ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Does a device reporting `installed` already run `target` or something newer? Text that is not a
 * version counts as current only when it equals the target.
 */
export function isAtLeastVersion(installed: string | null, target: string): boolean {
  if (installed === null) return false;
  if (!isVersion(installed) || !isVersion(target)) return installed === target;
  return compareVersions(installed, target) >= 0;
}

function splitPre(v: string): [string, string | undefined] {
  const i = v.indexOf('-');
  return i < 0 ? [v, undefined] : [v.slice(0, i), v.slice(i + 1)];
}
