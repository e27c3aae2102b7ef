import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  chunkAlgorithm,
  Chunker,
  createRelease,
  expiryAfter,
  isVersion,
  paramsForLength,
  parseChunkAlgorithm,
  parseRelease,
  RELEASE_ROLE,
  signMetadata,
  verifyRelease,
  type ChunkEntry,
  type ChunkIndex,
  type ImageDigest,
  type Release,
} from '@bulwark/firmware';
import type { Context } from '../command.js';
import { CliError } from '../errors.js';
import { formatFields } from '../output.js';
import {
  keysForRole,
  keysInDir,
  loadKeyFiles,
  loadRoot,
  loadRootFile,
  readCounter,
  readJson,
  replaceFile,
  writeCounter,
} from './keys-store.js';
import { durationSeconds } from './ticket.js';

import { EXIT_REFUSED } from './firmware.js';

const DEFAULT_RELEASE_EXPIRY = 90 * 86400;

/**
 * Hashes a file as a stream (firmware images may be larger than memory on small hosts); with
 * `chunks`, also makes its chunk index for delta downloads in the same pass (docs/decisions/0010),
 * so the index describes exactly the bytes hashed: `true` picks the parameters by size, a string
 * names the algorithm.
 */
export async function digestFile(
  file: string,
  opts: { chunks?: boolean | string } = {},
): Promise<ImageDigest & { chunkIndex?: ChunkIndex }> {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    throw new CliError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  if (!st.isFile()) throw new CliError(`${file} is not a file`);
  const hash = createHash('sha256');
  const params =
    typeof opts.chunks === 'string'
      ? parseChunkAlgorithm(opts.chunks)
      : opts.chunks === true
        ? paramsForLength(st.size)
        : undefined;
  const chunker = params === undefined ? undefined : new Chunker(params);
  const chunks: ChunkEntry[] = [];
  const emit = (c: ChunkEntry): void => {
    chunks.push(c);
  };
  let length = 0;
  for await (const chunk of createReadStream(file)) {
    const buf = chunk as Buffer;
    length += buf.length;
    hash.update(buf);
    chunker?.push(buf, emit);
  }
  const digest = { length, sha256: hash.digest('hex') };
  if (chunker === undefined || params === undefined) return digest;
  chunker.end(emit);
  return { ...digest, chunkIndex: { algorithm: chunkAlgorithm(params), chunks } };
}

/** Where the image's own chunk index differs from the signed one, or undefined. */
function indexMismatch(
  made: ChunkIndex | undefined,
  signed: ChunkIndex | undefined,
): string | undefined {
  if (made === undefined || signed === undefined) return undefined;
  const n = Math.max(made.chunks.length, signed.chunks.length);
  for (let i = 0; i < n; i++) {
    const a = made.chunks[i];
    const b = signed.chunks[i];
    if (a?.offset !== b?.offset || a?.length !== b?.length || a?.sha256 !== b?.sha256)
      return `the signed chunk index does not describe the image (chunk ${i} differs)`;
  }
  return undefined;
}

/** A CLI-side refusal: the signed chunk index does not match the image. */
function refuseChunkIndex(message: string): { ok: false; reason: string; message: string } {
  return { ok: false, reason: 'chunk_index_mismatch', message };
}

function releaseFields(r: Release): [string, string][] {
  return [
    ['image', r.name],
    ['types', r.types.join(', ')],
    ['hardware', r.hardware.length === 0 ? '(any)' : r.hardware.join(', ')],
    ['version', r.version],
    ['min version', r.minVersion ?? ''],
    ['release counter', String(r.releaseCounter)],
    ['length', String(r.length)],
    ['sha256', r.sha256],
    ['expires', r.expires],
    [
      'chunks',
      r.chunkIndex === undefined
        ? 'none (no delta downloads)'
        : `${r.chunkIndex.chunks.length} (${r.chunkIndex.algorithm})`,
    ],
    ['signed by', r.signedBy.map((k) => k.slice(0, 16)).join(', ')],
  ];
}

function versionFlag(ctx: Context, name: string): string | undefined {
  const v = ctx.str(name);
  if (v !== undefined && !isVersion(v))
    throw ctx.usage(`--${name} '${v}' is not a version like 1.2.3`);
  return v;
}

/** Runs `bulwark sign`. */
export async function sign(ctx: Context): Promise<number | void> {
  const image = resolve(ctx.io.cwd, ctx.args[0] ?? '');
  const dir = resolve(ctx.io.cwd, ctx.need('keys'));
  const types = ctx.strs('type');
  if (types.length === 0) throw ctx.usage('--type is required');
  const version = versionFlag(ctx, 'version') ?? ctx.need('version');
  const minVersion = versionFlag(ctx, 'min-version');
  const expires = expiryAfter(durationSeconds(ctx, 'expires') ?? DEFAULT_RELEASE_EXPIRY);
  const out = resolve(ctx.io.cwd, ctx.str('out') ?? `${image}.meta.json`);
  if (existsSync(out)) throw new CliError(`${out} already exists; refusing to overwrite it`);

  const trusted = loadRoot(dir);
  const keyFiles = ctx.strs('key').map((f) => resolve(ctx.io.cwd, f));
  const candidates = keyFiles.length > 0 ? loadKeyFiles(keyFiles) : keysInDir(dir, 'release');
  const role = keysForRole(trusted, 'release', candidates);
  const stranger = candidates.find((k) => !role.keys.includes(k));
  if (keyFiles.length > 0 && stranger !== undefined) {
    throw new CliError(
      `key ${stranger.keyId.slice(0, 16)} is not a release key of root version ${trusted.version}`,
    );
  }
  const partial = ctx.flag('partial');
  if (role.keys.length === 0) throw new CliError('no release key of the current root to sign with');
  if (role.keys.length < role.threshold && !partial) {
    throw new CliError(
      `${role.keys.length} release key(s) available, ${role.threshold} signatures required ` +
        '(use --partial and `bulwark firmware cosign` when the keys are held by different people)',
    );
  }
  const last = readCounter(dir);
  const counter = ctx.int('counter') ?? last + 1;
  if (counter <= last) {
    throw new CliError(
      `--counter ${counter} is not above the last release counter ${last} (in ${dir}/counter)`,
    );
  }
  if (counter < 1) throw ctx.usage('--counter must be at least 1');

  // The content-defined chunk index devices use for delta downloads (docs/decisions/0010).
  const { chunkIndex, ...digest } = await digestFile(image, { chunks: !ctx.flag('no-chunks') });
  let meta;
  try {
    meta = createRelease({
      name: ctx.str('name') ?? basename(image),
      types,
      hardware: ctx.strs('hardware'),
      version,
      ...(minVersion === undefined ? {} : { minVersion }),
      releaseCounter: counter,
      length: digest.length,
      sha256: digest.sha256,
      expires,
      ...(chunkIndex === undefined ? {} : { chunkIndex }),
    });
  } catch (err) {
    throw ctx.usage((err as Error).message);
  }
  const json = signMetadata(meta, role.keys).toJSON();
  // Verify what we are about to publish exactly as a device will.
  // Verify what we are about to publish exactly as a device will.
  const check = verifyRelease(json, trusted.root, { now: new Date(), image: digest });
  const short = !check.ok && check.reason === 'threshold_not_met' && partial;
  if (!check.ok && !short) {
    throw new CliError(`signed metadata does not verify: ${check.message}`);
  }
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
  writeCounter(dir, counter);
  if (!check.ok) {
    const status = { metadata: out, signatures: role.keys.length, threshold: role.threshold };
    ctx.print(
      status,
      () =>
        formatFields([
          ['metadata', out],
          ['signatures', `${status.signatures} of ${status.threshold} required`],
        ]) + `\nnot yet valid: add signatures with \`bulwark firmware cosign ${out} --key FILE\`\n`,
    );
    return;
  }
  ctx.print({ metadata: out, release: check.release }, () =>
    formatFields([['metadata', out], ...releaseFields(check.release)]),
  );
}

/** Runs `bulwark cosign`. */
export async function cosign(ctx: Context): Promise<number | void> {
  const metaFile = resolve(ctx.io.cwd, ctx.args[0] ?? '');
  const files = ctx.strs('key').map((f) => resolve(ctx.io.cwd, f));
  if (files.length === 0) throw ctx.usage('--key is required');
  const trusted = loadRootFile(resolve(ctx.io.cwd, ctx.need('root')));
  const keys = loadKeyFiles(files);
  const role = keysForRole(trusted, 'release', keys);
  const stranger = keys.find((k) => !role.keys.includes(k));
  if (stranger !== undefined) {
    throw new CliError(
      `key ${stranger.keyId.slice(0, 16)} is not a release key of root version ${trusted.version}`,
    );
  }
  let meta;
  try {
    meta = parseRelease(readJson(metaFile));
  } catch (err) {
    throw new CliError(`${metaFile}: ${(err as Error).message}`);
  }
  // Only add to metadata whose existing signatures are all good: never co-sign a tampered file.
  const before = verifyRelease(meta.toJSON(), trusted.root, { now: new Date() });
  if (!before.ok && before.reason !== 'threshold_not_met') {
    ctx.io.err(`refused (${before.reason}): ${before.message}\n`);
    return EXIT_REFUSED;
  }
  const json = signMetadata(meta, role.keys).toJSON();
  const after = verifyRelease(json, trusted.root, { now: new Date() });
  if (!after.ok && after.reason !== 'threshold_not_met') {
    throw new CliError(`co-signed metadata does not verify: ${after.message}`);
  }
  replaceFile(metaFile, `${JSON.stringify(json, null, 2)}\n`, 0o644);
  const signatures = Object.keys(meta.signatures).length;
  const threshold = trusted.root.signed.roles[RELEASE_ROLE]?.threshold ?? 1;
  ctx.print({ metadata: metaFile, signatures, threshold, complete: after.ok }, () =>
    formatFields([
      ['metadata', metaFile],
      ['signatures', `${signatures} of ${threshold} required`],
      ['complete', after.ok ? 'yes' : 'no'],
    ]),
  );
}

/** Runs `bulwark verify`. */
export async function verify(ctx: Context): Promise<number | void> {
  const image = resolve(ctx.io.cwd, ctx.args[0] ?? '');
  const metaFile = resolve(ctx.io.cwd, ctx.args[1] ?? '');
  const trusted = loadRootFile(resolve(ctx.io.cwd, ctx.need('root')));
  const meta = readJson(metaFile);
  // The chunk index is checked against the image too, in the same pass over it: an index that
  // does not describe the image would make every device's delta download fail its hash.
  const first = verifyRelease(meta, trusted.root, { now: new Date() });
  const algorithm = first.ok ? first.release.chunkIndex?.algorithm : undefined;
  const { chunkIndex, ...digest } = await digestFile(
    image,
    algorithm !== undefined && parseChunkAlgorithm(algorithm) !== undefined
      ? { chunks: algorithm }
      : {},
  );
  const checked = verifyRelease(meta, trusted.root, { now: new Date(), image: digest });
  const bad = checked.ok ? indexMismatch(chunkIndex, checked.release.chunkIndex) : undefined;
  const r = bad === undefined ? checked : refuseChunkIndex(bad);
  if (!r.ok) {
    if (ctx.json) ctx.print(r, () => '');
    ctx.io.err(`refused (${r.reason}): ${r.message}\n`);
    return EXIT_REFUSED;
  }
  ctx.print({ ok: true, release: r.release }, () =>
    formatFields([['verified', 'ok'], ...releaseFields(r.release)]),
  );
}
