/** Helpers for the MQTT persistence tests: a client that collects from its first packet on. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/** A connected client, what CONNACK said, and every message it got (collected from the start). */
export interface Collecting {
  client: MqttClient;
  sessionPresent: boolean;
  got: Array<{ topic: string; payload: string; retain: boolean }>;
  /** Resolves once `pred(got)` holds (checked on every message), rejects after `ms`. */
  until(pred: (got: Collecting['got']) => boolean, ms: number): Promise<void>;
  end(): Promise<void>;
}

/**
 * Connects (v5 unless told otherwise) to `mqtts://127.0.0.1:port`, listening for messages before
 * CONNACK: a resumed session's queue arrives right behind it.
 */
export function connectCollecting(port: number, opts: IClientOptions): Promise<Collecting> {
  const client = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...opts,
  });
  const got: Collecting['got'] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString(), retain: packet.retain });
    for (const w of [...waiters]) w();
  });
  return new Promise((resolve, reject) => {
    client.once('connect', (ack) =>
      resolve({
        client,
        sessionPresent: ack.sessionPresent,
        got,
        until(pred, ms) {
          return new Promise<void>((res, rej) => {
            const check = () => {
              if (!pred(got)) return;
              clearTimeout(timer);
              waiters.delete(check);
              res();
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`condition not met within ${ms} ms (${got.length} messages)`));
            }, ms);
            waiters.add(check);
            check();
          });
        },
        end: () => new Promise<void>((r) => client.end(false, {}, () => r())),
      }),
    );
    client.once('error', (e) => {
      client.end(true);
      reject(e);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
}

/** Publishes and resolves once acknowledged (rejects on an error or a failure reason code). */
export function publishAcked(
  client: MqttClient,
  topic: string,
  payload: string,
  opts: { qos: 1 | 2; retain?: boolean },
): Promise<void> {
  return new Promise((resolve, reject) =>
    client.publish(topic, payload, { qos: opts.qos, retain: opts.retain ?? false }, (err, p) => {
      const rc = (p as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
      if (err) reject(err);
      else if (rc >= 0x80) reject(new Error(`refused with 0x${rc.toString(16)}`));
      else resolve();
    }),
  );
}
