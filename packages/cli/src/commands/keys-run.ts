import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  createRoot,
  expiryAfter,
  generateSigningKey,
  KEY_ALGORITHMS,
  signMetadata,
  verifyRootUpdate,
  type SigningKey,
} from '@bulwark/firmware';
import type { Context } from '../command.js';
import { CliError } from '../errors.js';
import { formatFields } from '../output.js';
import { durationSeconds } from './ticket.js';
import {
  KEY_LAYOUT,
  keysForRole,
  keysInDir,
  loadRoot,
  writePrivateKey,
  writeRoot,
} from './keys-store.js';

/** A positive count flag with a default and an upper bound (a key set is small by nature). */
function count(ctx: Context, name: string, fallback: number, max = 16): number {
  const n = ctx.int(name) ?? fallback;
  if (n < 1 || n > max) throw ctx.usage(`--${name} must be between 1 and ${max}`);
  return n;
}

const DEFAULT_ROOT_EXPIRY = 365 * 86400;

interface KeyPlan {
  algorithm: 'ed25519' | 'p256';
  releaseKeys: number;
  threshold: number;
  rootKeys: number;
  rootThreshold: number;
  expires: string;
}

function plan(ctx: Context, defaults: { releaseKeys: number; rootKeys: number }): KeyPlan {
  const algorithm = ctx.choice('algorithm', KEY_ALGORITHMS) ?? 'ed25519';
  const releaseKeys = count(ctx, 'release-keys', defaults.releaseKeys);
  const threshold = count(ctx, 'threshold', 1);
  const rootKeys = count(ctx, 'root-keys', defaults.rootKeys);
  const rootThreshold = count(ctx, 'root-threshold', 1);
  if (threshold > releaseKeys)
    throw ctx.usage(`--threshold ${threshold} exceeds the ${releaseKeys} release key(s)`);
  if (rootThreshold > rootKeys)
    throw ctx.usage(`--root-threshold ${rootThreshold} exceeds the ${rootKeys} root key(s)`);
  const expires = expiryAfter(durationSeconds(ctx, 'expires') ?? DEFAULT_ROOT_EXPIRY);
  return { algorithm, releaseKeys, threshold, rootKeys, rootThreshold, expires };
}

function summary(
  dir: string,
  version: number,
  expires: string,
  rootKeyIds: string[],
  release: SigningKey[],
  p: KeyPlan,
) {
  return {
    dir,
    rootVersion: version,
    expires,
    algorithm: p.algorithm,
    rootKeys: rootKeyIds,
    rootThreshold: p.rootThreshold,
    releaseKeys: release.map((k) => k.keyId),
    releaseThreshold: p.threshold,
  };
}

function render(s: ReturnType<typeof summary>, note: string): string {
  return (
    formatFields([
      ['dir', s.dir],
      ['root version', String(s.rootVersion)],
      ['expires', s.expires],
      ['algorithm', s.algorithm],
      ['root keys', `${s.rootThreshold} of ${s.rootKeys.map((k) => k.slice(0, 16)).join(', ')}`],
      [
        'release keys',
        `${s.releaseThreshold} of ${s.releaseKeys.map((k) => k.slice(0, 16)).join(', ')}`,
      ],
    ]) + note
  );
}

/** Runs `bulwark init`. */
export async function init(ctx: Context): Promise<number | void> {
  const dir = resolve(ctx.io.cwd, ctx.need('dir'));
  const p = plan(ctx, { releaseKeys: 1, rootKeys: 1 });
  if (existsSync(join(dir, KEY_LAYOUT.root)) || existsSync(join(dir, KEY_LAYOUT.keys))) {
    throw new CliError(`${dir} already holds a key set; refusing to overwrite it`);
  }
  if (existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.root.json'))) {
    throw new CliError(`${dir} already holds root metadata; refusing to overwrite it`);
  }
  const root = Array.from({ length: p.rootKeys }, () => generateSigningKey(p.algorithm));
  const release = Array.from({ length: p.releaseKeys }, () => generateSigningKey(p.algorithm));
  const meta = signMetadata(
    createRoot({
      version: 1,
      expires: p.expires,
      rootKeys: root.map((k) => k.publicKey),
      rootThreshold: p.rootThreshold,
      releaseKeys: release.map((k) => k.publicKey),
      releaseThreshold: p.threshold,
    }),
    root,
  );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const k of root) writePrivateKey(dir, 'root', k);
  for (const k of release) writePrivateKey(dir, 'release', k);
  writeRoot(dir, meta.toJSON(), 1);
  const s = summary(
    dir,
    1,
    p.expires,
    root.map((k) => k.keyId),
    release,
    p,
  );
  ctx.print(s, () =>
    render(
      s,
      `\nroot.json is public: give it to the hub and devices. Keep ${join(dir, KEY_LAYOUT.keys)} offline.\n`,
    ),
  );
}

/** Runs `bulwark rotate`. */
export async function rotate(ctx: Context): Promise<number | void> {
  const dir = resolve(ctx.io.cwd, ctx.need('dir'));
  const current = loadRoot(dir);
  const oldRoot = keysForRole(current, 'root', keysInDir(dir, 'root'));
  if (oldRoot.keys.length < oldRoot.threshold) {
    throw new CliError(
      `only ${oldRoot.keys.length} of the ${oldRoot.threshold} required root keys are in ${join(dir, KEY_LAYOUT.keys)}`,
    );
  }
  const replaceRoot = ctx.flag('root');
  if (
    !replaceRoot &&
    (ctx.str('root-keys') !== undefined || ctx.str('root-threshold') !== undefined)
  ) {
    throw ctx.usage('--root-keys and --root-threshold need --root');
  }
  const oldIds = current.root.signed.roles.root?.keyIDs ?? [];
  const p = plan(ctx, { releaseKeys: 1, rootKeys: oldIds.length });
  const newRootKeys = replaceRoot
    ? Array.from({ length: p.rootKeys }, () => generateSigningKey(p.algorithm))
    : [];
  // Without --root the root role stays as it is: every listed root key, held here or not.
  const rootPublic = replaceRoot
    ? newRootKeys.map((k) => k.publicKey)
    : oldIds.flatMap((id) => current.root.signed.keys[id] ?? []);
  const rootThreshold = replaceRoot ? p.rootThreshold : oldRoot.threshold;
  const release = Array.from({ length: p.releaseKeys }, () => generateSigningKey(p.algorithm));
  const version = current.version + 1;
  const signers = new Map([...oldRoot.keys, ...newRootKeys].map((k) => [k.keyId, k]));
  const meta = signMetadata(
    createRoot({
      version,
      expires: p.expires,
      rootKeys: rootPublic,
      rootThreshold,
      releaseKeys: release.map((k) => k.publicKey),
      releaseThreshold: p.threshold,
    }),
    [...signers.values()],
  );
  // Check the chain before writing anything: devices will apply exactly this rule.
  const check = verifyRootUpdate(current.root, meta.toJSON());
  if (!check.ok) throw new CliError(`new root does not verify: ${check.message}`);
  for (const k of newRootKeys) writePrivateKey(dir, 'root', k);
  for (const k of release) writePrivateKey(dir, 'release', k);
  writeRoot(dir, meta.toJSON(), version);
  const s = summary(
    dir,
    version,
    p.expires,
    rootPublic.map((k) => k.keyID),
    release,
    {
      ...p,
      rootThreshold,
    },
  );
  ctx.print(s, () =>
    render(
      s,
      `\nold key files stay in ${join(dir, KEY_LAYOUT.keys)} but are no longer trusted; ` +
        `publish ${version}.root.json to the hub and devices.\n`,
    ),
  );
}
