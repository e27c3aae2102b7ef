/**
 * Interop: signatures are over TUF canonical JSON, so another implementation can produce them.
 * Here OpenSSL signs the canonical bytes of a release with an Ed25519 and a P-256 key, and
 * verifyRelease accepts them; our canonical encoder matches the one tuf-js uses.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Metadata, MetadataKind } from '@tufjs/models';
import {
  canonicalJson,
  createRelease,
  expiryAfter,
  generateSigningKey,
  verifyRelease,
  type KeyAlgorithm,
} from '@bulwark/firmware';
import { image, json, keySet } from './helpers.js';

const run = promisify(execFile);

describe('interop', () => {
  for (const algorithm of ['ed25519', 'p256'] as KeyAlgorithm[]) {
    test(`${algorithm}: a signature made by openssl over the canonical bytes verifies`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bulwark-fw-interop-'));
      try {
        const key = generateSigningKey(algorithm);
        const ks = keySet({ algorithm });
        // A root whose release key is `key`.
        const { createRoot, signMetadata } = await import('@bulwark/firmware');
        const root = json(
          signMetadata(
            createRoot({
              version: 1,
              expires: expiryAfter(3600),
              rootKeys: ks.rootKeys.map((k) => k.publicKey),
              rootThreshold: 1,
              releaseKeys: [key.publicKey],
              releaseThreshold: 1,
            }),
            ks.rootKeys,
          ).toJSON(),
        );
        const img = image(1000);
        const unsigned = json(
          createRelease({
            name: 'fw "quoted" \\ name\n.img',
            types: ['rpi4'],
            hardware: [],
            version: '2.0.0',
            releaseCounter: 3,
            length: img.length,
            sha256: img.sha256,
            expires: expiryAfter(3600),
          }).toJSON(),
        );
        await writeFile(join(dir, 'key.pem'), key.privatePem, { mode: 0o600 });
        await writeFile(join(dir, 'data'), canonicalJson(unsigned.signed));
        const args =
          algorithm === 'ed25519'
            ? ['pkeyutl', '-sign', '-rawin', '-inkey', 'key.pem', '-in', 'data', '-out', 'sig']
            : ['dgst', '-sha256', '-sign', 'key.pem', '-out', 'sig', 'data'];
        await run('openssl', args, { cwd: dir });
        const sig = (await readFile(join(dir, 'sig'))).toString('hex');
        const meta = { ...unsigned, signatures: [{ keyid: key.keyId, sig }] };
        const r = verifyRelease(meta, root, { now: new Date(), image: img });
        assert.ok(r.ok, JSON.stringify(r));
        assert.equal(r.release.name, 'fw "quoted" \\ name\n.img');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  test('our canonical JSON and key ids agree with tuf-js parsing and re-serialising', () => {
    const ks = keySet();
    const parsed = Metadata.fromJSON(MetadataKind.Root, ks.root as never);
    assert.equal(canonicalJson(parsed.toJSON()), canonicalJson(ks.root));
    assert.equal(
      canonicalJson({ b: [1, true, null], a: 'x"\\\n' }),
      '{"a":"x\\"\\\\\n","b":[1,true,null]}',
    );
    assert.throws(() => canonicalJson({ x: 1.5 }), /cannot canonicalize/);
  });
});
