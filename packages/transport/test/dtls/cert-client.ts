/**
 * A test client for the certificate handshakes (X.509 and raw public keys, RFC 7250) that runs up
 * to a CertificateVerify signed with a key of its choosing — maybe not the one it presents.
 */
import { createECDH, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { CT, HT } from '../../src/dtls/constants.js';
import { encodeHandshake, parseFragments } from '../../src/dtls/handshake.js';
import { encodeRecord, parseRecords } from '../../src/dtls/record.js';
import { clientHelloBody, clientHelloRecord, Udp } from './raw-client.js';

/**
 * A ClientHello for ECDHE_ECDSA_WITH_AES_128_CCM_8 with signature_algorithms
 * ecdsa_secp256r1_sha256 and, when given, client_/server_certificate_type lists (RFC 7250 §3).
 */
export function ecdsaHello(
  random: Buffer,
  cookie?: Buffer,
  types?: { client: number[]; server: number[] },
): Buffer {
  const exts = [Buffer.from([0x00, 0x0d, 0, 4, 0, 2, 0x04, 0x03])];
  if (types) {
    const ext = (t: number, l: number[]) => Buffer.from([0, t, 0, l.length + 1, l.length, ...l]);
    exts.push(ext(0x13, types.client), ext(0x14, types.server));
  }
  const block = Buffer.concat(exts);
  return Buffer.concat([
    clientHelloBody({ random, suites: [0xc0ae], ...(cookie ? { cookie } : {}) }),
    Buffer.from([block.length >> 8, block.length & 0xff]),
    block,
  ]);
}

/**
 * Runs a certificate handshake to its CertificateVerify, signed with `signer` (PEM): the server's
 * flight (type → body) and the alert it answers with, if any (none: it went on to the judge and
 * waits for our Finished). An alert instead of the flight comes back as `alert` too.
 */
export async function certificateVerifyExchange(
  port: number,
  o: { certificate: Buffer; signer: string; types?: { client: number[]; server: number[] } },
): Promise<{ alert: number | undefined; flight: Map<number, Buffer> }> {
  const udp = await new Udp(port).open();
  const flight = new Map<number, Buffer>();
  try {
    const random = randomBytes(32);
    udp.send(clientHelloRecord(ecdsaHello(random, undefined, o.types), 0, 0));
    const hvr = parseFragments(parseRecords((await udp.next())!)[0]!.fragment)[0]!;
    const ch = ecdsaHello(random, hvr.body.subarray(3, 3 + hvr.body[2]!), o.types);
    udp.send(clientHelloRecord(ch, 1, 1));
    const transcript = [encodeHandshake(HT.clientHello, 1, ch)];
    while (!flight.has(HT.serverHelloDone)) {
      const d = await udp.next();
      if (d === undefined) throw new Error('the server flight did not come');
      for (const r of parseRecords(d)) {
        if (r.type === CT.alert) return { alert: r.fragment[1], flight };
        for (const fr of parseFragments(r.fragment)) {
          transcript.push(encodeHandshake(fr.msgType, fr.messageSeq, fr.body));
          flight.set(fr.msgType, fr.body);
        }
      }
    }
    const point = createECDH('prime256v1').generateKeys();
    const mine: [number, Buffer][] = [
      [HT.certificate, o.certificate],
      [HT.clientKeyExchange, Buffer.concat([Buffer.from([point.length]), point])],
    ];
    mine.forEach(([type, body], i) => transcript.push(encodeHandshake(type, 2 + i, body)));
    const sig = sign('sha256', Buffer.concat(transcript), createPrivateKey(o.signer));
    mine.push([
      HT.certificateVerify,
      Buffer.concat([Buffer.from([4, 3, sig.length >> 8, sig.length & 0xff]), sig]),
    ]);
    mine.forEach(([type, body], i) =>
      udp.send(
        encodeRecord({
          type: CT.handshake,
          version: 0xfefd,
          epoch: 0,
          seq: 2 + i,
          fragment: encodeHandshake(type, 2 + i, body),
        }),
      ),
    );
    for (;;) {
      const d = await udp.next(1000);
      if (d === undefined) return { alert: undefined, flight };
      const alert = parseRecords(d).find((r) => r.type === CT.alert);
      if (alert) return { alert: alert.fragment[1], flight };
    }
  } finally {
    udp.close();
  }
}
