// Minimal MQTT 3.1.1 encoding/decoding for the load generator (pre-encoded packets, no library:
// MQTT.js would be the bottleneck, not the broker).

/** Encode a Remaining Length. */
export function varint(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

const str = (s) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

export function connectPacket(clientId, keepAlive = 0) {
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, 0x02, keepAlive >> 8, keepAlive & 0xff]),
    str(clientId),
  ]);
  return Buffer.concat([Buffer.from([0x10, ...varint(body.length)]), body]);
}

export function subscribePacket(filter, qos) {
  const body = Buffer.concat([Buffer.from([0, 1]), str(filter), Buffer.from([qos])]);
  return Buffer.concat([Buffer.from([0x82, ...varint(body.length)]), body]);
}

/** A PUBLISH with a 100-byte payload: [u16 publisher][u32 seq][f64 send time ms][padding]. */
export function publishPacket(topic, qos, packetId, pub, seq, ts = 0) {
  const t = Buffer.from(topic);
  const rem = 2 + t.length + (qos > 0 ? 2 : 0) + 100;
  const lenBytes = varint(rem);
  const b = Buffer.alloc(1 + lenBytes.length + rem, 0x61);
  let p = 0;
  b[p++] = 0x30 | (qos << 1);
  for (const x of lenBytes) b[p++] = x;
  b.writeUInt16BE(t.length, p);
  p += 2;
  p += t.copy(b, p);
  if (qos > 0) {
    b.writeUInt16BE(packetId, p);
    p += 2;
  }
  b.writeUInt16BE(pub, p);
  b.writeUInt32BE(seq, p + 2);
  b.writeDoubleBE(ts, p + 6);
  return b;
}

/**
 * Incremental packet splitter: calls onPacket(header, buf, bodyStart, end) for every complete
 * packet across chunk boundaries.
 */
export function splitter(onPacket) {
  let rest = null;
  return (chunk) => {
    let buf = rest === null ? chunk : Buffer.concat([rest, chunk]);
    rest = null;
    let off = 0;
    while (off < buf.length) {
      let len = 0;
      let mul = 1;
      let i = off + 1;
      let done = false;
      for (; i < buf.length && i < off + 5; i++) {
        len += (buf[i] & 0x7f) * mul;
        mul *= 128;
        if ((buf[i] & 0x80) === 0) {
          done = true;
          i++;
          break;
        }
      }
      if (!done || i + len > buf.length) break;
      onPacket(buf[off], buf, i, i + len);
      off = i + len;
    }
    if (off < buf.length) rest = buf.subarray(off);
  };
}
