// The subscriber device of bench/ingest.mjs: mutual TLS with its own certificate, MQTT 5, one
// subscription at the cell's QoS; records which (publisher, seq) arrived and each message's latency
// from the time it was due (open loop) and from the time it was written.
import tls from 'node:tls';
import {
  connect5,
  parseConnack,
  puback,
  readPayload,
  readPublish5,
  splitter,
  subscribe5,
} from './ingest-codec.mjs';

/** Growable bitmap of delivered sequence numbers, one per publisher. */
export class Seen {
  #bits = new Map();
  has(pub, seq) {
    const b = this.#bits.get(pub);
    return b !== undefined && seq >> 3 < b.length && (b[seq >> 3] & (1 << (seq & 7))) !== 0;
  }
  /** Marks it; false when it was already marked (a duplicate). */
  add(pub, seq) {
    let b = this.#bits.get(pub);
    if (b === undefined || seq >> 3 >= b.length) {
      const grown = new Uint8Array(Math.max(1024, (seq >> 3) * 2 + 1));
      if (b) grown.set(b);
      this.#bits.set(pub, (b = grown));
    }
    const bit = 1 << (seq & 7);
    if (b[seq >> 3] & bit) return false;
    b[seq >> 3] |= bit;
    return true;
  }
}

/** Growable list of numbers. */
class Samples {
  #a = new Float64Array(65536);
  n = 0;
  push(x) {
    if (this.n === this.#a.length) {
      const g = new Float64Array(this.#a.length * 2);
      g.set(this.#a);
      this.#a = g;
    }
    this.#a[this.n++] = x;
  }
  quantile(q) {
    if (this.n === 0) return NaN;
    const s = this.#a.slice(0, this.n).sort();
    return s[Math.min(this.n - 1, Math.floor(q * this.n))];
  }
}

/** Connects, subscribes, and resolves once the SUBACK grants the subscription. */
export async function subscriber({ port, ca, identity, filter, qos, epoch }) {
  const stats = {
    delivered: 0,
    duplicates: 0,
    foreign: 0,
    last: 0,
    closedByBroker: 0,
    seen: new Seen(),
    fromDue: new Samples(),
    fromWrite: new Samples(),
  };
  const s = tls.connect({ port, host: '127.0.0.1', ca, cert: identity.cert, key: identity.key });
  s.setNoDelay(true);
  await new Promise((resolve, reject) => {
    s.once('secureConnect', resolve);
    s.once('error', reject);
  });
  s.on('error', () => undefined);
  // A broker that closes the subscriber's connection mid-cell is reported, not silently absorbed.
  let closing = false;
  s.once('close', () => {
    if (!closing) stats.closedByBroker = performance.now();
  });
  let onSuback;
  const subacked = new Promise((resolve, reject) => {
    onSuback = (code) =>
      code < 0x80 ? resolve() : reject(new Error(`subscription refused (0x${code.toString(16)})`));
    setTimeout(() => reject(new Error('no SUBACK within 10 s')), 10_000).unref();
  });
  let connacked = false;
  let acks = [];
  const split = splitter((h, buf, start, end) => {
    const type = h >> 4;
    if (type === 9) onSuback(buf[end - 1]);
    if (type !== 3) return;
    const m = readPublish5(h, buf, start, end);
    if (m.qos > 0) acks.push(puback(m.id));
    const p = readPayload(buf, m.payloadStart, end);
    if (p === null) {
      stats.foreign++;
      return;
    }
    const t = (performance.timeOrigin + performance.now() - epoch) * 1000;
    if (!stats.seen.add(p.pub, p.seq)) {
      stats.duplicates++;
      return;
    }
    stats.delivered++;
    stats.last = performance.now();
    stats.fromDue.push((t - p.intended) / 1000);
    stats.fromWrite.push((t - p.written) / 1000);
  });
  s.on('data', (chunk) => {
    if (!connacked) {
      const ack = parseConnack(chunk);
      if (ack?.reason !== 0) return s.destroy(new Error('the subscriber was refused'));
      connacked = true;
      // The CONNACK arrives alone: the SUBACK comes only after the SUBSCRIBE below.
      s.write(subscribe5(filter, qos));
      return;
    }
    acks = [];
    split(chunk);
    if (acks.length > 0) s.write(acks.length === 1 ? acks[0] : Buffer.concat(acks));
  });
  s.write(connect5(identity.clientId, 0));
  await subacked;
  return {
    stats,
    close: () => {
      closing = true;
      s.destroy();
    },
  };
}
