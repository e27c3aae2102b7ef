/** Shared pieces of the update tests: a provisioned slot pair, releases signed with a test key. */
import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { DirFiles } from '../src/files/dir-files.js';
import { DirectorySlots } from '../src/update/directory-slots.js';
import { Installer, type Release, type SignatureCheck } from '../src/update/index.js';
import type { SlotName, SlotStore } from '../src/update/slots.js';
import type { AgentFiles } from '../src/ports.js';

/** A deterministic image of `length` bytes (different per `seed`). */
export function makeImage(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** Deterministic pseudo-random bytes (xorshift32): content that no other image shares. */
export function noise(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export function releaseOf(image: Uint8Array, version: string, counter: number): Release {
  return {
    version,
    counter,
    sha256: createHash('sha256').update(image).digest('hex'),
    length: image.byteLength,
  };
}

/** The bytes a release signature covers: the release fields in a fixed order. */
export function signedBytes(r: Release): Buffer {
  return Buffer.from(JSON.stringify([r.version, r.counter, r.sha256, r.length]));
}

/** An Ed25519 release key (generated per test run) and a SignatureCheck that trusts only it. */
export class TestSigner {
  readonly publicKey: KeyObject;
  private readonly privateKey: KeyObject;
  readonly signatures = new Map<string, Buffer>();

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.publicKey = publicKey;
    this.privateKey = privateKey;
  }

  sign(r: Release): Release {
    this.signatures.set(r.sha256, sign(null, signedBytes(r), this.privateKey));
    return r;
  }

  readonly check: SignatureCheck = ({ release }) => {
    const sig = this.signatures.get(release.sha256);
    if (sig === undefined) return Promise.reject(new Error('no signature for this release'));
    if (!verify(null, signedBytes(release), this.publicKey, sig))
      return Promise.reject(new Error('signature does not verify with the release key'));
    return Promise.resolve();
  };
}

export const FACTORY = makeImage(4096, 1);
export const FACTORY_RELEASE = releaseOf(FACTORY, '1.0.0', 1);

/** Slots under `<dir>/slots` with the factory image in `a`, booted once. */
export async function provision(dir: string): Promise<DirectorySlots> {
  const slots = await DirectorySlots.open(join(dir, 'slots'));
  await slots.installFactory('a', FACTORY, FACTORY_RELEASE);
  await slots.boot();
  return slots;
}

export async function openInstaller(
  dir: string,
  check: SignatureCheck,
  wrap: { slots?: SlotStore; files?: AgentFiles } = {},
): Promise<Installer> {
  return Installer.open({
    slots: wrap.slots ?? (await DirectorySlots.open(join(dir, 'slots'))),
    files: wrap.files ?? (await DirFiles.open(join(dir, 'state'))),
    verifySignature: check,
  });
}

/** SHA-256 of what a slot holds. */
export async function slotHash(slots: SlotStore, slot: SlotName): Promise<string> {
  const h = createHash('sha256');
  for await (const c of slots.readImage(slot)) h.update(c);
  return h.digest('hex');
}

/**
 * The invariant: some slot is good and holds exactly what its manifest says, and the bootloader can
 * boot (a good slot or one on trial).
 */
export async function assertGoodSlot(slots: SlotStore): Promise<SlotName> {
  const control = await slots.readControl();
  for (const s of ['a', 'b'] as const) {
    if (!control.slots[s].good) continue;
    const m = await slots.readManifest(s);
    if (m !== undefined && (await slotHash(slots, s)) === m.sha256) return s;
  }
  throw new Error(`no good slot with a matching image: ${JSON.stringify(control)}`);
}
