/**
 * The agent's one MQTT connection to the hub (or a gateway), with its own reconnect loop:
 * MQTT.js's auto-reconnect retries at a fixed period, which lets a fleet stampede a restarted hub,
 * so it is off and every retry waits a full-jitter backoff instead. The link connects while it is
 * wanted (always in persistent mode; in windows in periodic and on-demand modes).
 */
import type { TLSSocket } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Backoff } from './backoff.js';

/** What one connection attempt needs (read afresh for each attempt: the certificate may rotate). */
export interface LinkEndpoint {
  url: string;
  clientId: string;
  tls?: { key: string; cert: string; ca: string[] };
  will: { topic: string; payload: Uint8Array };
  keepaliveSeconds: number;
}

/** The link's callbacks into the agent. */
export interface LinkHandlers {
  endpoint(): LinkEndpoint | undefined;
  /** After CONNACK: subscribe, publish presence. A rejection drops the connection. */
  onConnect(link: Link, sessionPresent: boolean): Promise<void>;
  onMessage(topic: string, payload: Uint8Array): void;
  onDown(reason: string): void;
  log(level: 'info' | 'warn', msg: string): void;
}

/** Publish options. */
export interface PublishOpts {
  qos: 0 | 1;
  retain?: boolean;
  contentType?: string;
}

/** Session state the hub keeps while the device is away: a week covers a periodic device's gap. */
const SESSION_EXPIRY_SECONDS = 7 * 24 * 3600;
const CONNECT_TIMEOUT_MS = 10_000;

/** One logical link to the hub across many TCP connections. */
export class Link {
  private client: MqttClient | undefined;
  private up = false;
  private wanted = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly backoff: Backoff;
  /** Publishes waiting for their acknowledgement on the current connection. */
  private readonly pending = new Set<(err?: Error) => void>();
  /**
   * The TLS session of the last connection, to resume on the next one (decision 0022): a
   * resumed handshake costs the hub a fraction of a full one, which is what brings a fleet back
   * quickly after a hub restart. Bound to the URL and the certificate it was made with: a
   * session carries its certificate, so a renewed one starts afresh.
   */
  private tlsSession: { url: string; cert: string; ticket: Buffer } | undefined;
  /** Connections made, and of them TLS sessions resumed (for the simulator's figures). */
  connects = 0;
  resumed = 0;

  constructor(
    private readonly h: LinkHandlers,
    backoff: { minMs: number; maxMs: number; random?: () => number },
  ) {
    this.backoff = new Backoff(backoff.minMs, backoff.maxMs, backoff.random);
  }

  get connected(): boolean {
    return this.up;
  }

  /** Connect (true) or disconnect cleanly (false). */
  want(on: boolean): void {
    if (this.stopped) return;
    this.wanted = on;
    if (on && this.loop === undefined)
      this.loop = this.run().finally(() => (this.loop = undefined));
    if (!on) this.client?.end(false);
    this.wake?.();
  }

  /** Drops the current connection (e.g. to reconnect with a renewed certificate). */
  reconnect(): void {
    this.backoff.reset();
    this.client?.end(true);
  }

  /** Stops for good; `final` is published (e.g. presence offline) first if connected. */
  async stop(final?: { topic: string; payload: Uint8Array; retain: boolean }): Promise<void> {
    if (final !== undefined && this.up) {
      await this.publish(final.topic, final.payload, { qos: 1, retain: final.retain }).catch(
        () => undefined,
      );
    }
    this.stopped = true;
    this.wanted = false;
    const c = this.client;
    if (c) await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
    this.wake?.();
    await this.loop;
  }

  /**
   * Publishes; resolves on PUBACK (QoS 1) or once written (QoS 0); rejects when offline or when
   * the connection closes first. (MQTT.js keeps a persistent session's unacknowledged callbacks
   * for a reconnect of the same client, which never comes here: each connection is a new client.)
   */
  publish(topic: string, payload: Uint8Array, opts: PublishOpts): Promise<void> {
    const c = this.client;
    if (!this.up || c === undefined) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      let done = false;
      const settle = (err?: Error) => {
        if (done) return;
        done = true;
        this.pending.delete(settle);
        if (err) reject(err);
        else resolve();
      };
      this.pending.add(settle);
      c.publish(
        topic,
        Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        {
          qos: opts.qos,
          retain: opts.retain ?? false,
          ...(opts.contentType !== undefined
            ? { properties: { contentType: opts.contentType } }
            : {}),
        },
        (err, packet) => {
          const code = (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
          if (err) settle(err);
          else if (code >= 0x80)
            settle(
              Object.assign(new Error(`refused by the hub (0x${code.toString(16)})`), {
                reasonCode: code,
              }),
            );
          else settle();
        },
      );
    });
  }

  /** Subscribes; resolves with the granted QoS per filter. */
  subscribe(filters: string[]): Promise<number[]> {
    const c = this.client;
    if (c === undefined) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) =>
      c.subscribe(filters, { qos: 1 }, (err, granted) =>
        err ? reject(err) : resolve((granted ?? []).map((g) => g.qos)),
      ),
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).then(() => {
      this.wake = undefined;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.wanted) {
      const ep = this.h.endpoint();
      if (ep === undefined) {
        await this.sleep(this.backoff.next());
        continue;
      }
      const reason = await this.connectOnce(ep);
      if (this.stopped || !this.wanted) break;
      const wait = this.backoff.next();
      this.h.log('info', `link down (${reason}); retrying in ${wait} ms`);
      await this.sleep(wait);
    }
  }

  /** One connection, from CONNECT until it closes; resolves with why it closed. */
  private connectOnce(ep: LinkEndpoint): Promise<string> {
    return new Promise((resolve) => {
      const opts: IClientOptions = {
        clientId: ep.clientId,
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: SESSION_EXPIRY_SECONDS },
        keepalive: ep.keepaliveSeconds,
        reconnectPeriod: 0,
        connectTimeout: CONNECT_TIMEOUT_MS,
        will: {
          topic: ep.will.topic,
          payload: Buffer.from(ep.will.payload),
          qos: 1,
          retain: true,
        },
        ...(ep.tls
          ? {
              key: ep.tls.key,
              cert: ep.tls.cert,
              ca: ep.tls.ca,
              rejectUnauthorized: true,
              minVersion: 'TLSv1.2',
              ...(this.tlsSession?.url === ep.url && this.tlsSession.cert === ep.tls.cert
                ? { session: this.tlsSession.ticket }
                : {}),
            }
          : {}),
      };
      const c = mqtt.connect(ep.url, opts);
      this.client = c;
      const stream = c.stream as unknown as Partial<TLSSocket> | undefined;
      let resumedTls = false;
      if (ep.tls && typeof stream?.on === 'function') {
        const { url, cert } = { url: ep.url, cert: ep.tls.cert };
        // TLS 1.3 sends tickets after the handshake; the last one is the one to keep.
        stream.on('session', (ticket: Buffer) => (this.tlsSession = { url, cert, ticket }));
        stream.once?.('secureConnect', () => (resumedTls = stream.isSessionReused?.() === true));
      }
      let reason = 'closed';
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        const wasUp = this.up;
        this.up = false;
        if (this.client === c) this.client = undefined;
        c.removeAllListeners();
        c.on('error', () => undefined);
        c.end(true);
        for (const settle of [...this.pending]) settle(new Error(`connection closed: ${reason}`));
        if (wasUp) this.h.onDown(reason);
        resolve(reason);
      };
      c.on('connect', (connack) => {
        this.up = true;
        this.connects++;
        if (resumedTls) this.resumed++;
        this.backoff.reset();
        this.h.onConnect(this, connack.sessionPresent).catch((err: Error) => {
          reason = `setup failed: ${err.message}`;
          finish();
        });
      });
      c.on('message', (topic, payload) => this.h.onMessage(topic, new Uint8Array(payload)));
      c.on('error', (err) => {
        reason = err.message;
      });
      c.on('disconnect', (p) => {
        reason = `server disconnect 0x${(p.reasonCode ?? 0).toString(16)}`;
      });
      c.on('close', finish);
      c.on('end', finish);
    });
  }
}
