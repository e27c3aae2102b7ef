/** Known-answer tests of the DTLS building blocks: PRF, AES-CCM, replay window, cookies, parsing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AeadCipher as CcmCipher, AeadCipher, seqNum } from '../../src/dtls/aead.js';
import { certificateVerifies, encodeCertificate, parseCertificate } from '../../src/dtls/ecdhe.js';
import { CookieJar } from '../../src/dtls/cookie.js';
import { parseFragments, Reassembler } from '../../src/dtls/handshake.js';
import { parseClientHello } from '../../src/dtls/hello.js';
import { prf, pskPremaster } from '../../src/dtls/prf.js';
import { encodeRecord, parseRecords } from '../../src/dtls/record.js';
import { ReplayWindow } from '../../src/dtls/replay.js';
import { createCipheriv, generateKeyPairSync, sign } from 'node:crypto';
import { clientHelloBody } from './raw-client.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('TLS 1.2 PRF (RFC 5246 §5, P_SHA256)', () => {
  it('matches the published P_SHA256 test vector (IETF TLS WG, 100 bytes)', () => {
    const out = prf(
      hex('9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35'),
      'test label',
      hex('a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c'),
      100,
    );
    assert.equal(
      out.toString('hex'),
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
    );
  });

  it('builds the PSK premaster secret of RFC 4279 §2', () => {
    assert.equal(pskPremaster(hex('0a0b')).toString('hex'), '0002' + '0000' + '0002' + '0a0b');
  });
});

describe('AES-128-CCM record protection (RFC 6655)', () => {
  it('node:crypto CCM with a 12-byte nonce and 8-byte tag matches NIST SP 800-38C example 3', () => {
    const c = createCipheriv(
      'aes-128-ccm',
      hex('404142434445464748494a4b4c4d4e4f'),
      hex('101112131415161718191a1b'),
      {
        authTagLength: 8,
      },
    );
    const p = hex('202122232425262728292a2b2c2d2e2f3031323334353637');
    c.setAAD(hex('000102030405060708090a0b0c0d0e0f10111213'), { plaintextLength: p.length });
    const out = Buffer.concat([c.update(p), c.final(), c.getAuthTag()]);
    assert.equal(
      out.toString('hex'),
      'e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951',
    );
  });

  for (const tag of [8, 16] as const) {
    it(`seals and opens with a ${tag}-byte tag; any change to a byte, the header or the sequence fails`, () => {
      const key = hex('000102030405060708090a0b0c0d0e0f');
      const iv = hex('01020304');
      const c = new CcmCipher(key, iv, tag);
      const pt = Buffer.from('hello coap');
      const frag = c.seal(23, 0xfefd, 1, 7, pt);
      assert.equal(frag.length, pt.length + 8 + tag);
      assert.equal(frag.subarray(0, 8).toString('hex'), '0001000000000007'); // explicit nonce = epoch|seq
      assert.deepEqual(c.open(23, 0xfefd, 1, 7, frag), pt);
      assert.equal(c.open(23, 0xfefd, 1, 8, frag), undefined, 'another sequence number');
      assert.equal(c.open(22, 0xfefd, 1, 7, frag), undefined, 'another content type');
      const bad = Buffer.from(frag);
      bad[10]! ^= 1;
      assert.equal(c.open(23, 0xfefd, 1, 7, bad), undefined, 'a flipped ciphertext bit');
      assert.equal(c.open(23, 0xfefd, 1, 7, frag.subarray(0, 5)), undefined, 'too short');
    });
  }
});

describe('AES-128-GCM record protection (RFC 5288)', () => {
  const K = hex('feffe9928665731c6d6a8f9467308308');
  const IV = hex('cafebabefacedbaddecaf888');
  const P = hex(
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
  );
  const C =
    '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091';
  const T = '5bc94fbc3221a5db94fae95ae7121a47';

  it('node:crypto GCM matches the GCM specification test case 4 (AES-128, 20-byte AAD)', () => {
    const c = createCipheriv('aes-128-gcm', K, IV);
    c.setAAD(hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'));
    const out = Buffer.concat([c.update(P), c.final()]);
    assert.equal(out.toString('hex'), C);
    assert.equal(c.getAuthTag().toString('hex'), T);
  });

  it('the record nonce is salt (4) + explicit nonce (8, epoch|seq) and the AAD seq|type|version|length', () => {
    // The test case's 12-byte IV split as RFC 5288 §3 does: cafebabe is the salt, the rest the
    // explicit nonce, here epoch 0xfaced and so on read as DTLS's epoch + sequence number.
    const explicit = IV.subarray(4);
    const epoch = explicit.readUInt16BE(0);
    const seq = explicit.readUIntBE(2, 6);
    assert.deepEqual(seqNum(epoch, seq), explicit);
    const g = new AeadCipher(K, IV.subarray(0, 4), 16, 'aes-128-gcm');
    const frag = g.seal(23, 0xfefd, epoch, seq, P);
    const c = createCipheriv('aes-128-gcm', K, IV);
    const aad = Buffer.concat([explicit, hex('17fefd'), Buffer.from([0, P.length])]);
    c.setAAD(aad);
    const ct = Buffer.concat([c.update(P), c.final()]);
    // Same key and nonce as the test vector: the same keystream, so the same ciphertext.
    assert.equal(ct.toString('hex'), C);
    assert.deepEqual(frag, Buffer.concat([explicit, ct, c.getAuthTag()]));
    assert.deepEqual(g.open(23, 0xfefd, epoch, seq, frag), P);
    assert.equal(g.open(23, 0xfefd, epoch, seq + 1, frag), undefined, 'another sequence number');
    const bad = Buffer.from(frag);
    bad[frag.length - 1]! ^= 1;
    assert.equal(g.open(23, 0xfefd, epoch, seq, bad), undefined, 'a flipped tag bit');
  });
});

describe('ECDHE-ECDSA handshake pieces (RFC 8422, RFC 5246 §7.4)', () => {
  it('a Certificate message round-trips; an empty list is a client without a certificate', () => {
    const chain = [Buffer.from('leaf-der'), Buffer.from('ca-der')];
    assert.deepEqual(parseCertificate(encodeCertificate(chain)), chain);
    assert.deepEqual(parseCertificate(encodeCertificate([])), []);
    assert.throws(() => parseCertificate(Buffer.from([0, 0, 5, 0, 0])), /truncated/);
  });

  it('CertificateVerify verifies with the signer’s key only, over exactly the transcript', () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const b = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const transcript = Buffer.from('client hello … client key exchange');
    const sig = sign('sha256', transcript, a.privateKey);
    const body = Buffer.concat([
      hex('0403'),
      Buffer.from([sig.length >> 8, sig.length & 0xff]),
      sig,
    ]);
    assert.equal(certificateVerifies(body, a.publicKey, transcript), true);
    assert.equal(certificateVerifies(body, b.publicKey, transcript), false, 'another key');
    assert.equal(certificateVerifies(body, a.publicKey, Buffer.from('other')), false);
    const sha1 = Buffer.from(body);
    sha1[0] = 0x02; // ecdsa_sha1: not what we asked for
    assert.equal(certificateVerifies(sha1, a.publicKey, transcript), false);
  });
});

describe('replay window (RFC 6347 §4.1.2.6)', () => {
  it('accepts each record once and refuses records older than 64 behind the highest', () => {
    const w = new ReplayWindow();
    for (const s of [0, 1, 5, 3]) {
      assert.ok(w.fresh(s));
      w.accept(s);
    }
    assert.ok(!w.fresh(5));
    assert.ok(!w.fresh(3));
    assert.ok(w.fresh(2) && w.fresh(4));
    w.accept(100);
    assert.ok(!w.fresh(36), '64 behind 100 is outside the window');
    assert.ok(w.fresh(37));
    w.accept(37);
    assert.ok(!w.fresh(37));
    w.accept(2 ** 48 - 1);
    assert.ok(!w.fresh(2 ** 48 - 1));
    assert.ok(!w.fresh(100));
  });

  it('a record never seen inside the window stays acceptable after the window moves on by less than 64', () => {
    const w = new ReplayWindow();
    w.accept(10);
    w.accept(70);
    assert.ok(w.fresh(11));
    assert.ok(!w.fresh(10));
    assert.ok(!w.fresh(6), 'outside');
  });
});

describe('HelloVerifyRequest cookies (RFC 6347 §4.2.1)', () => {
  it('binds the source and the hello, and survives exactly one rotation', () => {
    let t = 0;
    const jar = new CookieJar(60_000, () => t);
    const hello = Buffer.from('hello');
    const c = jar.issue('1.2.3.4|5', hello);
    assert.ok(jar.valid('1.2.3.4|5', hello, c));
    assert.ok(!jar.valid('1.2.3.4|6', hello, c), 'another port');
    assert.ok(!jar.valid('1.2.3.4|5', Buffer.from('hellO'), c), 'another hello');
    assert.ok(!jar.valid('1.2.3.4|5', hello, c.subarray(1)), 'a short cookie');
    t = 61_000;
    assert.ok(jar.valid('1.2.3.4|5', hello, c), 'one period later');
    t = 122_000;
    assert.ok(!jar.valid('1.2.3.4|5', hello, c), 'two periods later');
  });
});

describe('record and handshake framing', () => {
  it('parses several records of a datagram and stops at a truncated one', () => {
    const a = encodeRecord({
      type: 22,
      version: 0xfefd,
      epoch: 0,
      seq: 1,
      fragment: Buffer.from('ab'),
    });
    const b = encodeRecord({
      type: 23,
      version: 0xfefd,
      epoch: 1,
      seq: 2 ** 40,
      fragment: Buffer.from('c'),
    });
    const rs = parseRecords(Buffer.concat([a, b, b.subarray(0, 13)]));
    assert.equal(rs.length, 2);
    assert.equal(rs[1]!.seq, 2 ** 40);
    assert.equal(rs[1]!.epoch, 1);
  });

  it('reassembles a fragmented message in any order, and flags retransmitted ones', () => {
    const r = new Reassembler(4096);
    r.expect(2);
    const body = Buffer.from('0123456789');
    const frag = (offset: number, len: number) => ({
      msgType: 16,
      length: 10,
      messageSeq: 2,
      offset,
      body: body.subarray(offset, offset + len),
    });
    assert.equal(r.add(frag(6, 4)).message, undefined);
    assert.equal(r.add(frag(0, 4)).message, undefined);
    const m = r.add(frag(3, 4)).message;
    assert.deepEqual(m?.body, body);
    assert.equal(r.next, 3);
    assert.ok(r.add(frag(0, 10)).old);
    assert.throws(() =>
      r.add({ msgType: 16, length: 100_000, messageSeq: 3, offset: 0, body: Buffer.alloc(1) }),
    );
  });

  it('refuses a fragment that claims to reach past its message', () => {
    const h = Buffer.from([16, 0, 0, 4, 0, 0, 0, 0, 2, 0, 0, 4, 1, 2, 3, 4]);
    assert.throws(() => parseFragments(h));
  });

  it('parses a ClientHello and what its cookie covers', () => {
    const random = Buffer.alloc(32, 7);
    const a = parseClientHello(clientHelloBody({ random, ems: true }));
    const b = parseClientHello(clientHelloBody({ random, ems: true, cookie: Buffer.alloc(32, 1) }));
    assert.deepEqual(a.cookieless, b.cookieless);
    assert.equal(b.cookie.length, 32);
    assert.deepEqual(b.suites, [0xc0a8]);
    assert.ok(b.extensions.has(0x17));
    assert.throws(() => parseClientHello(clientHelloBody({ random }).subarray(0, 40)));
  });
});
