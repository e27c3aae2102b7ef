/**
 * Firmware version order for the hub's own decisions (is a device older than the current
 * artifact?). The same rules as @bulwark/firmware's `compareVersions` (dotted numbers, optional
 * semver pre-release), restated here because core imports no other package.
 */
const VERSION = /^(\d{1,9})(\.\d{1,9}){0,3}(-[0-9A-Za-z.-]{1,64})?$/;

/**
 * Orders two versions: negative when `a < b`, 0 when equal, positive when `a > b`; undefined when
 * either is not a version this order knows (the caller then treats only equal text as equal).
 */
export function compareFirmwareVersions(a: string, b: string): number | undefined {
  if (!VERSION.test(a) || !VERSION.test(b)) return undefined;
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

/** Does a device reporting `installed` already run `target` or something newer? */
export function isAtLeastVersion(installed: string | null, target: string): boolean {
  if (installed === null) return false;
  const c = compareFirmwareVersions(installed, target);
  return c === undefined ? installed === target : c >= 0;
}

function splitPre(v: string): [string, string | undefined] {
  const i = v.indexOf('-');
  return i < 0 ? [v, undefined] : [v.slice(0, i), v.slice(i + 1)];
}
