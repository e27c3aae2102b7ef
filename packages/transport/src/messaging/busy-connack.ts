import type { Duplex } from 'node:stream';

/** The most of a CONNECT read to learn its protocol level: header, length, name, level. */
const ENOUGH = 16;
/** A client that sends no CONNECT this soon is simply closed. */
const WAIT_MS = 5000;

/**
 * Answers a connection the listener has no room for: reads the start of its CONNECT and sends
 * CONNACK "Server busy" — 0x89 to MQTT 5 (§3.2.2.2), return code 3 "Server unavailable" to
 * 3.1.1 ([MQTT-3.2.2-3]) — then closes it. Nothing of the CONNECT is used beyond its protocol
 * level, and no admission work is done; anything that is not an MQTT CONNECT is just closed.
 */
export function refuseBusy(stream: Duplex): void {
  let got = Buffer.alloc(0);
  const timer = setTimeout(() => stream.destroy(), WAIT_MS);
  timer.unref();
  const done = (answer?: Buffer) => {
    clearTimeout(timer);
    stream.off('data', onData);
    if (answer) stream.end(answer);
    else stream.destroy();
  };
  const onData = (chunk: Buffer) => {
    got = Buffer.concat([got, chunk]).subarray(0, ENOUGH);
    if (got[0] !== 0x10) return done();
    // Remaining Length: 1–4 bytes, 7 bits each (§1.5.5); then the protocol name and level.
    let i = 1;
    while (i < got.length && i < 4 && (got[i]! & 0x80) !== 0) i++;
    if (got.length < i + 3) return;
    const nameLength = got.readUInt16BE(i + 1);
    if (nameLength > 6) return done();
    const levelAt = i + 3 + nameLength;
    if (got.length <= levelAt) return;
    const level = got[levelAt];
    if (level === 5) done(Buffer.from([0x20, 0x03, 0x00, 0x89, 0x00]));
    else if (level === 4 || level === 3) done(Buffer.from([0x20, 0x02, 0x00, 0x03]));
    else done();
  };
  stream.on('data', onData);
  stream.on('error', () => undefined);
}
