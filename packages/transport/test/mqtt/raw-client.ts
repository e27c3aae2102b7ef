/** A raw MQTT client over TCP for tests that need exact control (flow control, keep-alive, fuzzing). */
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';

/** A bare client: send packets or bytes, await the next packet or the close. */
export class RawClient {
  readonly packets: Packet[] = [];
  closed = false;
  private waiters: Array<() => void> = [];
  private constructor(
    readonly socket: net.Socket,
    readonly version: 4 | 5,
  ) {
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (p: Packet) => {
      this.packets.push(p);
      this.wake();
    });
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, version: 4 | 5 = 4): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s, version)));
      s.setNoDelay(true);
      s.once('error', reject);
    });
  }

  /** Open and CONNECT; resolves after CONNACK (throws if refused). */
  static async connect(
    port: number,
    clientId: string,
    version: 4 | 5 = 4,
    extra: Record<string, unknown> = {},
  ): Promise<RawClient> {
    const c = await RawClient.open(port, version);
    c.send({
      cmd: 'connect',
      clientId,
      protocolVersion: version,
      clean: true,
      keepalive: 60,
      ...extra,
    });
    const ack = await c.next('connack');
    const code =
      (ack as { returnCode?: number; reasonCode?: number }).reasonCode ??
      (ack as { returnCode?: number }).returnCode;
    if (code !== 0) throw new Error(`refused ${code}`);
    return c;
  }

  send(p: Record<string, unknown>): void {
    this.socket.write(
      mqttPacket.generate(p as unknown as Packet, { protocolVersion: this.version }),
    );
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The next packet (of a command, if given), in arrival order; throws after `ms`. */
  async next(cmd?: string, ms = 3000): Promise<Packet> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.packets.findIndex((p) => cmd === undefined || p.cmd === cmd);
      if (i >= 0) return this.packets.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`closed while waiting for ${cmd ?? 'a packet'}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${cmd ?? 'a packet'}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Wait for the server to close the connection. */
  async waitClosed(ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!this.closed) {
      const left = end - Date.now();
      if (left <= 0) throw new Error('connection still open');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A CONNECT written by hand, for what mqtt-packet will not generate: an empty client id with
 * Clean Start / Clean Session 0 ([MQTT-3.1.3-8] is the server's to decide, not the encoder's).
 */
export function connectBytes(o: {
  version: 4 | 5;
  clientId: string;
  clean: boolean;
  username?: string;
  password?: string;
  sessionExpiry?: number;
}): Buffer {
  const str = (v: string): Buffer => {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  let flags = o.clean ? 0x02 : 0;
  if (o.username !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  const parts = [str('MQTT'), Buffer.from([o.version, flags, 0, 30])];
  if (o.version === 5) {
    const e = o.sessionExpiry ?? 0;
    parts.push(
      e > 0
        ? Buffer.from([5, 0x11, e >>> 24, (e >>> 16) & 0xff, (e >>> 8) & 0xff, e & 0xff])
        : Buffer.from([0]),
    );
  }
  parts.push(str(o.clientId));
  if (o.username !== undefined) parts.push(str(o.username));
  if (o.password !== undefined) parts.push(str(o.password));
  const body = Buffer.concat(parts);
  if (body.length > 127) throw new Error('connectBytes: keep it short');
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}
