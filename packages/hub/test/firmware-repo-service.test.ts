/**
 * The firmware repository service with real TUF keys from @bulwark/firmware, SQLite storage and
 * the filesystem blob store: upload, every refusal leaving nothing behind, root rotation, tenancy
 * and ranged reads. (The HTTP routes are tested in firmware-repo.test.ts.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuditService,
  DEFAULT_FIRMWARE_REPO_CONFIG,
  FirmwareRepoService,
  newId,
  type Principal,
  type Storage,
} from '@bulwark/core';
import {
  createRelease,
  createRoot,
  expiryAfter,
  generateSigningKey,
  signMetadata,
  type SigningKey,
} from '@bulwark/firmware';
import { openSqliteStorage } from '@bulwark/store-sqlite';
import { chunked, readAll } from '@bulwark/testkit';
import { FsBlobStore } from '../src/blob-store.js';
import { tufFirmwareVerifier } from '../src/firmware-verifier.js';

const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function rootDoc(
  version: number,
  rootKeys: SigningKey[],
  release: SigningKey[],
  signers = rootKeys,
) {
  return json(
    signMetadata(
      createRoot({
        version,
        expires: expiryAfter(365 * 86400),
        rootKeys: rootKeys.map((k) => k.publicKey),
        rootThreshold: 1,
        releaseKeys: release.map((k) => k.publicKey),
        releaseThreshold: 1,
      }),
      signers,
    ).toJSON(),
  );
}

function releaseDoc(
  keys: SigningKey[],
  img: Uint8Array,
  over: { length?: number; expires?: string; counter?: number } = {},
) {
  return json(
    signMetadata(
      createRelease({
        name: 'gw-1.0.0.img',
        types: ['gateway'],
        hardware: [],
        version: '1.0.0',
        releaseCounter: over.counter ?? 1,
        length: over.length ?? img.byteLength,
        sha256: sha(img),
        expires: over.expires ?? expiryAfter(30 * 86400),
      }),
      keys,
    ).toJSON(),
  );
}

const principal = (orgId: string, permissions: Principal['permissions']): Principal => ({
  kind: 'user',
  id: newId(),
  orgId,
  name: 'op',
  role: 'admin',
  permissions,
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  return 'accepted';
}

describe('FirmwareRepoService', () => {
  let dir: string;
  let storage: Storage;
  let repo: FirmwareRepoService;
  let now = Date.now();
  const rootKey = generateSigningKey('ed25519');
  const releaseKey = generateSigningKey('p256');
  const img = randomBytes(200_000);
  let admin: Principal;
  let otherAdmin: Principal;

  const blobFiles = async () => {
    const names = await readdir(join(dir, 'blobs')).catch(() => [] as string[]);
    const out: string[] = [];
    for (const n of names) out.push(...(await readdir(join(dir, 'blobs', n))));
    return out;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bulwark-fwrepo-'));
    storage = await openSqliteStorage({ path: ':memory:' });
    const clock = { now: () => now };
    repo = new FirmwareRepoService({
      store: storage.firmware,
      blobs: new FsBlobStore(join(dir, 'blobs')),
      verifier: tufFirmwareVerifier,
      clock,
      audit: new AuditService({ store: storage.audit, clock, key: randomBytes(32) }),
      config: { ...DEFAULT_FIRMWARE_REPO_CONFIG, maxImageBytes: 1024 * 1024 },
    });
    const perms: Principal['permissions'] = ['firmware:update', 'devices:read'];
    const orgs = await Promise.all(
      [newId(), newId()].map(async (id, i) => {
        await storage.organizations.create({ id, name: `org${i}`, createdAt: now });
        return id;
      }),
    );
    admin = principal(orgs[0] ?? '', perms);
    otherAdmin = principal(orgs[1] ?? '', perms);
  });
  after(async () => {
    await storage.close();
    await rm(dir, { recursive: true });
  });

  it('refuses artifacts before a trusted root, and roots from readers', async () => {
    assert.equal(
      await codeOf(repo.createArtifact(admin, releaseDoc([releaseKey], img))),
      'firmware_root_missing',
    );
    const viewer = principal(admin.orgId, ['devices:read']);
    assert.equal(
      await codeOf(repo.putRoot(viewer, rootDoc(1, [rootKey], [releaseKey]))),
      'forbidden',
    );
    assert.equal(await codeOf(repo.putRoot(admin, { signed: {} })), 'firmware_metadata_malformed');
    const r = await repo.putRoot(admin, rootDoc(1, [rootKey], [releaseKey]));
    assert.equal(r.version, 1);
  });

  it('accepts signed metadata, then the image; the blob is content-addressed', async () => {
    const a = await repo.createArtifact(admin, releaseDoc([releaseKey], img));
    assert.equal(a.state, 'pending');
    assert.equal(a.length, img.byteLength);
    const ready = await repo.uploadImage(admin, a.id, chunked(img, 16 * 1024));
    assert.equal(ready.state, 'ready');
    assert.deepEqual(await blobFiles(), [sha(img)]);
    assert.equal(await codeOf(repo.uploadImage(admin, a.id, chunked(img))), 'conflict');
    assert.equal(
      await codeOf(repo.createArtifact(admin, releaseDoc([releaseKey], img))),
      'firmware_artifact_exists',
    );
    await repo.delete(admin, a.id);
    assert.deepEqual(await blobFiles(), []);
  });

  it('refuses a flipped byte, a wrong length, an unknown key and expiry, keeping nothing', async () => {
    const other = randomBytes(50_000);
    const a = await repo.createArtifact(admin, releaseDoc([releaseKey], other));
    const flipped = Buffer.from(other);
    flipped[25_000] = (flipped[25_000] ?? 0) ^ 0x01;
    assert.equal(
      await codeOf(repo.uploadImage(admin, a.id, chunked(flipped))),
      'firmware_hash_mismatch',
    );
    const longer = Buffer.concat([other, Buffer.from([0])]);
    assert.equal(
      await codeOf(repo.uploadImage(admin, a.id, chunked(longer))),
      'firmware_length_mismatch',
    );
    assert.equal((await repo.get(admin, a.id)).state, 'pending');
    assert.deepEqual(await blobFiles(), []);

    const stranger = generateSigningKey('ed25519');
    assert.equal(
      await codeOf(repo.createArtifact(admin, releaseDoc([stranger], randomBytes(10)))),
      'firmware_unknown_key',
    );
    const tampered = releaseDoc([releaseKey], randomBytes(10));
    (tampered['signed'] as { expires: string }).expires = expiryAfter(999 * 86400);
    assert.equal(await codeOf(repo.createArtifact(admin, tampered)), 'firmware_bad_signature');
    const soon = releaseDoc([releaseKey], randomBytes(10), { expires: expiryAfter(60) });
    now += 120_000;
    try {
      assert.equal(await codeOf(repo.createArtifact(admin, soon)), 'firmware_metadata_expired');
    } finally {
      now -= 120_000;
    }
    assert.equal(
      await codeOf(repo.createArtifact(admin, releaseDoc([releaseKey], img, { length: 2 ** 21 }))),
      'firmware_image_too_large',
    );
    // The refused upload left `a` pending: uploading the same release again replaces it.
    const again = await repo.createArtifact(admin, releaseDoc([releaseKey], other));
    assert.notEqual(again.id, a.id);
    assert.equal(await codeOf(repo.get(admin, a.id)), 'not_found');
    assert.equal((await repo.uploadImage(admin, again.id, chunked(other))).state, 'ready');
    // … but never a ready one.
    assert.equal(
      await codeOf(repo.createArtifact(admin, releaseDoc([releaseKey], other))),
      'firmware_artifact_exists',
    );
    await repo.delete(admin, again.id);
  });

  it('rotates the root only through a valid update; old release keys stop working', async () => {
    const newRoot = generateSigningKey('ed25519');
    const newRelease = generateSigningKey('ed25519');
    // not signed by the old root key
    assert.equal(
      await codeOf(repo.putRoot(admin, rootDoc(2, [newRoot], [newRelease], [newRoot]))),
      'firmware_unknown_key',
    );
    assert.equal(
      await codeOf(repo.putRoot(admin, rootDoc(3, [newRoot], [newRelease], [rootKey, newRoot]))),
      'firmware_root_version_not_next',
    );
    const r = await repo.putRoot(admin, rootDoc(2, [newRoot], [newRelease], [rootKey, newRoot]));
    assert.equal(r.version, 2);
    const img2 = randomBytes(1000);
    assert.equal(
      await codeOf(repo.createArtifact(admin, releaseDoc([releaseKey], img2))),
      'firmware_unknown_key',
    );
    const a = await repo.createArtifact(admin, releaseDoc([newRelease], img2, { counter: 2 }));
    await repo.uploadImage(admin, a.id, chunked(img2));
  });

  it('keeps organizations apart, and shares a blob only while both use it', async () => {
    await repo.putRoot(otherAdmin, rootDoc(1, [rootKey], [releaseKey]));
    const mine = await repo
      .createArtifact(admin, releaseDoc([generateSigningKey('p256')], img))
      .catch(() => undefined);
    assert.equal(mine, undefined); // admin's org rotated away from its keys above
    const theirs = await repo.createArtifact(otherAdmin, releaseDoc([releaseKey], img));
    await repo.uploadImage(otherAdmin, theirs.id, chunked(img));
    assert.equal(await codeOf(repo.get(admin, theirs.id)), 'not_found');
    assert.equal(await codeOf(repo.delete(admin, theirs.id)), 'not_found');
    assert.equal(await codeOf(repo.download(admin, theirs.id)), 'not_found');
    assert.ok((await repo.list(admin, { limit: 10 })).every((x) => x.orgId === admin.orgId));
  });

  it('serves ranges so an interrupted download resumes, and 416 past the end', async () => {
    const [a] = await repo.list(otherAdmin, { limit: 1 });
    assert.ok(a);
    const half = Math.floor(img.byteLength / 2);
    const first = await repo.download(otherAdmin, a.id, `bytes=0-${half - 1}`);
    assert.equal(first.kind, 'range');
    const rest = await repo.download(otherAdmin, a.id, `bytes=${half}-`);
    assert.ok(first.kind === 'range' && rest.kind === 'range');
    assert.deepEqual(rest.range, { start: half, end: img.byteLength - 1 });
    const joined = Buffer.concat([await readAll(first.body), await readAll(rest.body)]);
    assert.equal(sha(joined), a.sha256);
    const whole = await repo.download(otherAdmin, a.id);
    assert.ok(whole.kind === 'full');
    assert.ok((await readAll(whole.body)).equals(img));
    assert.equal(
      (await repo.download(otherAdmin, a.id, `bytes=${img.byteLength}-`)).kind,
      'unsatisfiable',
    );
    const device: Principal = { ...otherAdmin, kind: 'device', permissions: [] };
    assert.equal((await repo.download(device, a.id, 'bytes=0-0')).kind, 'range');
    assert.equal(await codeOf(repo.delete(device, a.id)), 'forbidden');
  });
});
