/**
 * Root metadata and key rotation through the root (TUF §5.3): a new root needs version + 1 and a
 * threshold of both the old root keys and its own; release keys rotate with it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRoot,
  expiryAfter,
  generateSigningKey,
  signMetadata,
  verifyRelease,
  verifyRoot,
  verifyRootUpdate,
  type SigningKey,
} from '@bulwark/firmware';
import { image, json, keySet, release } from './helpers.js';

function nextRoot(
  version: number,
  rootKeys: readonly SigningKey[],
  releaseKeys: readonly SigningKey[],
  signers: readonly SigningKey[],
  rootThreshold = 1,
) {
  return json(
    signMetadata(
      createRoot({
        version,
        expires: expiryAfter(365 * 86400),
        rootKeys: rootKeys.map((k) => k.publicKey),
        rootThreshold,
        releaseKeys: releaseKeys.map((k) => k.publicKey),
        releaseThreshold: 1,
      }),
      signers,
    ).toJSON(),
  );
}

describe('root metadata', () => {
  test('a fresh root verifies on its own; its layout is TUF root with the four top-level roles', () => {
    const ks = keySet({ roots: 3, rootThreshold: 2, releases: 2, releaseThreshold: 2 });
    const r = verifyRoot(ks.root, { now: new Date() });
    assert.ok(r.ok, JSON.stringify(r));
    const signed = ks.root.signed as {
      roles: Record<string, { keyids: string[]; threshold: number }>;
    };
    assert.deepEqual(Object.keys(signed.roles).sort(), [
      'root',
      'snapshot',
      'targets',
      'timestamp',
    ]);
    assert.equal(signed.roles.root?.threshold, 2);
    assert.deepEqual(
      signed.roles.targets?.keyids,
      ks.releaseKeys.map((k) => k.keyId),
    );
  });

  test('thresholds beyond the key count are refused when building', () => {
    const k = generateSigningKey();
    assert.throws(
      () =>
        createRoot({
          version: 1,
          expires: expiryAfter(60),
          rootKeys: [k.publicKey],
          rootThreshold: 2,
          releaseKeys: [k.publicKey],
          releaseThreshold: 1,
        }),
      /root threshold/,
    );
  });

  test('rotation accepted: old and new root keys sign version 2; the new release key takes over', () => {
    const ks = keySet();
    const newRoot = generateSigningKey('p256');
    const newRelease = generateSigningKey('p256');
    const v2 = nextRoot(2, [newRoot], [newRelease], [...ks.rootKeys, newRoot]);
    const r = verifyRootUpdate(ks.root, v2, { now: new Date() });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.version, 2);
    const img = image();
    assert.ok(verifyRelease(release([newRelease], img), v2, { now: new Date(), image: img }).ok);
    const old = verifyRelease(release(ks.releaseKeys, img), v2, { now: new Date() });
    assert.equal(old.ok ? 'accepted' : old.reason, 'unknown_key');
  });

  test('rotation refused: not signed by the old keys, not by its own, wrong version, tampered', () => {
    const ks = keySet();
    const newRoot = generateSigningKey();
    const rel = generateSigningKey();
    const onlyNew = verifyRootUpdate(ks.root, nextRoot(2, [newRoot], [rel], [newRoot]));
    assert.equal(onlyNew.ok ? 'accepted' : onlyNew.reason, 'unknown_key');
    const onlyOld = verifyRootUpdate(ks.root, nextRoot(2, [newRoot], [rel], ks.rootKeys));
    assert.equal(onlyOld.ok ? 'accepted' : onlyOld.reason, 'unknown_key');
    assert.match(onlyOld.ok ? '' : onlyOld.message, /its own keys/);
    const skip = verifyRootUpdate(
      ks.root,
      nextRoot(3, [newRoot], [rel], [...ks.rootKeys, newRoot]),
    );
    assert.equal(skip.ok ? 'accepted' : skip.reason, 'version_not_next');
    const same = verifyRootUpdate(ks.root, ks.root);
    assert.equal(same.ok ? 'accepted' : same.reason, 'version_not_next');
    const v2 = nextRoot(2, [newRoot], [rel], [...ks.rootKeys, newRoot]);
    (v2.signed as { expires: string }).expires = '2099-01-01T00:00:00Z';
    const tampered = verifyRootUpdate(ks.root, v2);
    assert.equal(tampered.ok ? 'accepted' : tampered.reason, 'bad_signature');
  });

  test('rotation with a 2-of-3 root threshold needs two old root signatures', () => {
    const ks = keySet({ roots: 3, rootThreshold: 2 });
    const [a, b] = ks.rootKeys;
    assert.ok(a && b);
    const rel = generateSigningKey();
    // The new root keeps the same root keys (threshold 2) and only rotates the release key.
    const one = verifyRootUpdate(ks.root, nextRoot(2, ks.rootKeys, [rel], [a], 2));
    assert.equal(one.ok ? 'accepted' : one.reason, 'threshold_not_met');
    const two = verifyRootUpdate(ks.root, nextRoot(2, ks.rootKeys, [rel], [a, b], 2));
    assert.ok(two.ok, JSON.stringify(two));
  });

  test('an expired new root is refused when now is given', () => {
    const ks = keySet();
    const v2 = json(
      signMetadata(
        createRoot({
          version: 2,
          expires: expiryAfter(-60),
          rootKeys: ks.rootKeys.map((k) => k.publicKey),
          rootThreshold: 1,
          releaseKeys: ks.releaseKeys.map((k) => k.publicKey),
          releaseThreshold: 1,
        }),
        ks.rootKeys,
      ).toJSON(),
    );
    assert.ok(verifyRootUpdate(ks.root, v2).ok);
    const r = verifyRootUpdate(ks.root, v2, { now: new Date() });
    assert.equal(r.ok ? 'accepted' : r.reason, 'expired');
  });
});
