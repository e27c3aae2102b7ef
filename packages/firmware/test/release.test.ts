/**
 * Release metadata: signed by a threshold of the root's release keys, refused precisely when the
 * key is unknown, the threshold is not met, a field was altered, it expired, or the image is not the
 * one it describes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { expiryAfter, generateSigningKey, verifyRelease, type Refusal } from '@bulwark/firmware';
import { image, json, keySet, release } from './helpers.js';

const now = () => new Date();

function refusal(r: ReturnType<typeof verifyRelease>): Refusal {
  if (r.ok) assert.fail(`expected a refusal, got ${JSON.stringify(r.release)}`);
  return r;
}

interface Signed {
  expires: string;
  targets: Record<
    string,
    { length: number; custom: { bulwark: { version: string; types: string[] } } }
  >;
}
const IMG = 'rpi4-1.2.0.img';
const target = (s: Signed) => s.targets[IMG] ?? assert.fail('no target');

describe('verifyRelease', () => {
  for (const algorithm of ['ed25519', 'p256'] as const) {
    test(`${algorithm}: sign and verify round trip with the image digest`, () => {
      const ks = keySet({ algorithm });
      const img = image();
      const meta = release(ks.releaseKeys, img);
      const r = verifyRelease(meta, ks.root, { now: now(), image: img });
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.release.types, ['rpi4']);
      assert.deepEqual(r.release.hardware, ['rev-b', 'rev-c']);
      assert.equal(r.release.version, '1.2.0');
      assert.equal(r.release.minVersion, '1.0.0');
      assert.equal(r.release.releaseCounter, 7);
      assert.equal(r.release.length, img.length);
      assert.equal(r.release.sha256, img.sha256);
      assert.deepEqual(r.release.signedBy, [ks.releaseKeys[0]?.keyId]);
      // TUF layout: targets role, metadata version = release counter, custom fields under the target.
      const signed = meta.signed as {
        _type: string;
        version: number;
        targets: Record<string, unknown>;
      };
      assert.equal(signed._type, 'targets');
      assert.equal(signed.version, 7);
      assert.deepEqual(Object.keys(signed.targets), ['rpi4-1.2.0.img']);
    });
  }

  test('threshold 2 of 3: two signatures accepted, one refused', () => {
    const ks = keySet({ releases: 3, releaseThreshold: 2 });
    const img = image();
    const [a, b] = ks.releaseKeys;
    assert.ok(a && b);
    const two = verifyRelease(release([a, b], img), ks.root, { now: now(), image: img });
    assert.ok(two.ok);
    assert.equal(two.release.signedBy.length, 2);
    const one = refusal(verifyRelease(release([a], img), ks.root, { now: now(), image: img }));
    assert.equal(one.reason, 'threshold_not_met');
    assert.match(one.message, /1 of the required 2/);
  });

  test('the same key signing twice counts once', () => {
    const ks = keySet({ releases: 3, releaseThreshold: 2 });
    const img = image();
    const a = ks.releaseKeys[0];
    assert.ok(a);
    const meta = release([a], img);
    // A duplicate entry for the same key id is either rejected as malformed or counted once.
    const sigs = meta.signatures as unknown[];
    meta.signatures = [...sigs, ...sigs];
    const r = refusal(verifyRelease(meta, ks.root, { now: now() }));
    assert.ok(['malformed', 'threshold_not_met'].includes(r.reason), r.reason);
  });

  test('a flipped byte in the image: hash mismatch', () => {
    const ks = keySet();
    const img = image();
    const meta = release(ks.releaseKeys, img);
    const bytes = Buffer.from(img.bytes);
    bytes[100] = (bytes[100] ?? 0) ^ 0x01;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const r = refusal(
      verifyRelease(meta, ks.root, { now: now(), image: { length: img.length, sha256 } }),
    );
    assert.equal(r.reason, 'hash_mismatch');
  });

  test('an image longer than the metadata says: length mismatch', () => {
    const ks = keySet();
    const img = image();
    const meta = release(ks.releaseKeys, img);
    const longer = Buffer.concat([img.bytes, Buffer.from([0])]);
    const sha256 = createHash('sha256').update(longer).digest('hex');
    const r = refusal(
      verifyRelease(meta, ks.root, { now: now(), image: { length: longer.length, sha256 } }),
    );
    assert.equal(r.reason, 'length_mismatch');
    assert.match(r.message, /4097 bytes, the metadata says 4096/);
  });

  test('metadata signed by an unknown key', () => {
    const ks = keySet();
    const stranger = generateSigningKey();
    const r = refusal(verifyRelease(release([stranger], image()), ks.root, { now: now() }));
    assert.equal(r.reason, 'unknown_key');
    // A root key is not a release key either.
    const byRoot = refusal(verifyRelease(release(ks.rootKeys, image()), ks.root, { now: now() }));
    assert.equal(byRoot.reason, 'unknown_key');
  });

  test('expired metadata, and an expired trusted root', () => {
    const ks = keySet();
    const img = image();
    const meta = release(ks.releaseKeys, img, { expires: expiryAfter(60) });
    assert.ok(verifyRelease(meta, ks.root, { now: now() }).ok);
    const later = new Date(Date.now() + 120_000);
    const r = refusal(verifyRelease(meta, ks.root, { now: later }));
    assert.equal(r.reason, 'expired');
    assert.match(r.message, /release metadata 1\.2\.0 expired/);
    const old = keySet({ expires: expiryAfter(60) });
    const r2 = refusal(verifyRelease(release(old.releaseKeys, img), old.root, { now: later }));
    assert.equal(r2.reason, 'expired');
    assert.match(r2.message, /trusted root/);
  });

  test('a tampered field: bad signature', () => {
    const ks = keySet({ algorithm: 'p256' });
    const img = image();
    const tamper: [string, (s: Signed) => void][] = [
      ['version', (s) => (target(s).custom.bulwark.version = '9.9.9')],
      ['types', (s) => target(s).custom.bulwark.types.push('esp32')],
      ['length', (s) => (target(s).length = 1)],
      ['expires', (s) => (s.expires = '2099-01-01T00:00:00Z')],
    ];
    for (const [what, edit] of tamper) {
      const meta = release(ks.releaseKeys, img);
      edit(meta.signed as Signed);
      const r = refusal(verifyRelease(meta, ks.root, { now: now() }));
      assert.equal(r.reason, 'bad_signature', what);
    }
  });

  test('malformed input is refused, never thrown', () => {
    const ks = keySet();
    const img = image();
    const good = release(ks.releaseKeys, img);
    const cases: unknown[] = [
      null,
      'x',
      [],
      {},
      { signed: { _type: 'root' }, signatures: [] },
      { ...good, signed: { ...(good.signed as object), version: 'seven' } },
      { ...good, signatures: 'nope' },
    ];
    for (const c of cases) {
      const r = refusal(verifyRelease(c, ks.root, { now: now() }));
      assert.equal(r.reason, 'malformed', JSON.stringify(c)?.slice(0, 80));
    }
    assert.equal(refusal(verifyRelease(good, { nope: 1 }, { now: now() })).reason, 'malformed');
  });

  test('the chunk index placeholder round-trips; a malformed one (even if signed) is refused', () => {
    const ks = keySet();
    const img = image();
    const chunkIndex = {
      algorithm: 'fastcdc-v1',
      chunks: [{ offset: 0, length: img.length, sha256: img.sha256 }],
    };
    const r = verifyRelease(release(ks.releaseKeys, img, { chunkIndex }), ks.root, { now: now() });
    assert.ok(r.ok);
    assert.deepEqual(r.release.chunkIndex, chunkIndex);
    assert.throws(
      () =>
        release(ks.releaseKeys, img, {
          chunkIndex: { algorithm: 'x', chunks: [{ offset: 0.5 }] } as never,
        }),
      /chunkIndex/,
    );
  });

  test('bad fields are refused when signing', async () => {
    const { createRelease } = await import('@bulwark/firmware');
    const base = {
      name: 'x.img',
      types: ['rpi4'],
      hardware: [],
      version: '1.0.0',
      releaseCounter: 1,
      length: 1,
      sha256: 'a'.repeat(64),
      expires: expiryAfter(60),
    };
    assert.throws(() => createRelease({ ...base, types: [] }), /device type/);
    assert.throws(() => createRelease({ ...base, version: 'latest' }), /not like 1\.2\.3/);
    assert.throws(() => createRelease({ ...base, releaseCounter: 0 }), /releaseCounter/);
    assert.throws(() => createRelease({ ...base, sha256: 'xyz' }), /sha256/);
    assert.doesNotThrow(() => json(createRelease(base).toJSON()));
  });
});
