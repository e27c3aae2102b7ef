/**
 * Raw public keys in the DTLS server (RFC 7250; decision 0041, 2026-12-07): the certificate type
 * extensions, our key served as an SPKI, a client key proven by its CertificateVerify before it is
 * judged, and the refusals. (The interop test is hub/test/coaps-rpk.test.ts, GnuTLS.)
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startDtlsServer, type DtlsAuthFailure, type DtlsServer } from '../../src/dtls/index.js';
import { HT } from '../../src/dtls/constants.js';
import { encodeRawKeyCertificate, spkiOf } from '../../src/dtls/rpk.js';
import { certificateVerifyExchange } from './cert-client.js';

const RPK = { client: [2], server: [0, 2] };
const pem = (k: KeyObject): string => k.export({ type: 'pkcs8', format: 'pem' }).toString();
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

describe('DTLS 1.2 with raw public keys (RFC 7250)', () => {
  const serverKey = p256().privateKey;
  const judged: Buffer[] = [];
  const failures: DtlsAuthFailure[] = [];
  let server: DtlsServer;
  let certOnly: DtlsServer;

  before(async () => {
    const common = {
      host: '127.0.0.1',
      port: 0,
      psk: async () => undefined,
      onData: () => undefined,
      onAuthFailure: (f: DtlsAuthFailure) => failures.push(f),
    };
    const credential = { key: serverKey, chain: [] };
    server = await startDtlsServer({
      ...common,
      certificates: {
        credential,
        verify: async () => ({ ok: true }),
        verifyRawKey: async (spki) => {
          judged.push(spki);
          return { ok: false, refusal: 'unknown', reason: 'not pinned' };
        },
      },
    });
    certOnly = await startDtlsServer({
      ...common,
      certificates: { credential, verify: async () => ({ ok: true }) },
    });
  });
  after(async () => {
    await server.close();
    await certOnly.close();
  });

  it('the ServerHello names RawPublicKey both ways, our Certificate is our SPKI, the proven key is judged', async () => {
    const kp = p256();
    const spki = spkiOf(kp.publicKey);
    const r = await certificateVerifyExchange(server.port, {
      certificate: encodeRawKeyCertificate(spki),
      signer: pem(kp.privateKey),
      types: RPK,
    });
    assert.deepEqual(r.flight.get(HT.certificate), encodeRawKeyCertificate(spkiOf(serverKey)));
    const hello = r.flight.get(HT.serverHello)!;
    assert.ok(hello.includes(Buffer.from([0x00, 0x13, 0, 1, 2])), 'client_certificate_type: 2');
    assert.ok(hello.includes(Buffer.from([0x00, 0x14, 0, 1, 2])), 'server_certificate_type: 2');
    assert.equal(r.alert, 42, 'the judge refused it: bad_certificate');
    assert.deepEqual(judged.at(-1), spki);
  });

  it('a CertificateVerify made with another key: decrypt_error, reported with the raw key, never judged', async () => {
    const n = judged.length;
    const spki = spkiOf(p256().publicKey);
    const r = await certificateVerifyExchange(server.port, {
      certificate: encodeRawKeyCertificate(spki),
      signer: pem(p256().privateKey),
      types: RPK,
    });
    assert.equal(r.alert, 51);
    assert.equal(judged.length, n);
    const f = failures.at(-1)!;
    assert.equal(f.reason, 'wrong_key');
    assert.deepEqual(f.rawPublicKey, spki);
  });

  it('a key not on P-256 is unsupported_certificate, not judged', async () => {
    const n = judged.length;
    const ed = generateKeyPairSync('ed25519');
    const r = await certificateVerifyExchange(server.port, {
      certificate: encodeRawKeyCertificate(spkiOf(ed.publicKey)),
      signer: pem(p256().privateKey),
      types: RPK,
    });
    assert.equal(r.alert, 43);
    assert.equal(judged.length, n);
  });

  it('a server without a raw-key judge refuses a client that can only send a raw key (unsupported_certificate)', async () => {
    const kp = p256();
    const r = await certificateVerifyExchange(certOnly.port, {
      certificate: encodeRawKeyCertificate(spkiOf(kp.publicKey)),
      signer: pem(kp.privateKey),
      types: RPK,
    });
    assert.equal(r.alert, 43);
    assert.equal(r.flight.size, 0, 'refused at the hello');
  });
});
