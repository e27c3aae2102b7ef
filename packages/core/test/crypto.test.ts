import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import {
  SecretBox,
  canonicalJson,
  checkPasswordPolicy,
  hashPassword,
  isId,
  newId,
  permissionsFor,
  verifyPassword,
} from '@bulwark/core';

describe('password hashing (scrypt, memory-hard)', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const h = await hashPassword('correct horse battery staple');
    assert.match(h, /^\$scrypt\$ln=15,r=8,p=1\$/);
    assert.equal(await verifyPassword('correct horse battery staple', h), true);
    assert.equal(await verifyPassword('correct horse battery stapLe', h), false);
  });
  it('salts every hash', async () => {
    assert.notEqual(
      await hashPassword('same password twice'),
      await hashPassword('same password twice'),
    );
  });
  it('refuses a malformed stored hash instead of throwing', async () => {
    assert.equal(await verifyPassword('x', '$argon2id$nope'), false);
  });
  it('refuses short and trivial passwords with weak_password', () => {
    for (const p of ['short', 'aaaaaaaaaaaaaaaa', 'password1234']) {
      assert.throws(
        () => checkPasswordPolicy(p),
        (e: unknown) => e instanceof BulwarkError && e.code === 'weak_password',
      );
    }
    assert.throws(() => checkPasswordPolicy('alice-is-my-secret', 'alice@example.com'), /email/);
    checkPasswordPolicy('a perfectly fine passphrase');
  });
});

describe('SecretBox (AES-256-GCM under the master key)', () => {
  const box = new SecretBox(randomBytes(32));
  it('opens what it sealed, in the same context', () => {
    assert.equal(
      box.open(box.seal('ca private key', 'ca-key:o:root'), 'ca-key:o:root').toString(),
      'ca private key',
    );
  });
  it('refuses another context, another key, or altered ciphertext', () => {
    const sealed = box.seal('secret', 'a');
    assert.throws(() => box.open(sealed, 'b'));
    assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'a'));
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    assert.throws(() => box.open(parts.join('.'), 'a'));
  });
  it('needs a 32-byte key', () => {
    assert.throws(() => new SecretBox(randomBytes(16)), /32 bytes/);
  });
});

describe('ids and canonical JSON', () => {
  it('makes strictly increasing UUIDv7 ids', () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    assert.ok(ids.every(isId));
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!));
    assert.equal(ids[0]![14], '7');
  });
  it('gives every id its own random bits, across refills of the random pool', () => {
    // 2,000 ids use 16,000 random bytes: the 4 KiB pool is refilled several times.
    const ids = Array.from({ length: 2000 }, () => newId(0));
    assert.ok(
      ids.every((id) => /^[89ab]$/.test(id[19]!)),
      'RFC 9562 variant bits',
    );
    assert.equal(new Set(ids.map((id) => id.slice(20))).size, ids.length);
  });
  it('sorts keys at every level and drops undefined', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }),
      '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe('roles', () => {
  it('are presets of permissions, widened by grants', () => {
    assert.ok(permissionsFor('owner').includes('org:manage'));
    assert.ok(!permissionsFor('admin').includes('org:manage'));
    assert.deepEqual(permissionsFor('viewer'), ['devices:read']);
    assert.ok(permissionsFor('viewer', ['port:ssh']).includes('port:ssh'));
    assert.ok(!permissionsFor('operator').includes('users:manage'));
  });
});
