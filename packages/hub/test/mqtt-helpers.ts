/** MQTT test helpers: MQTT.js clients against a test hub, and waiting for messages. */
import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt';
import type { TestHub } from './helpers.js';

/** Connects over TLS to the hub's MQTT port (v5 unless told otherwise); resolves on CONNACK. */
export function connectTls(t: TestHub, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(`mqtts://127.0.0.1:${t.hub.info.mqttPort}`, {
    ca: t.ca,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (e) => {
      client.end(true);
      reject(e);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
}

/** Connects over WebSocket (wss://…/mqtt). */
export function connectWs(t: TestHub, opts: IClientOptions = {}): Promise<MqttClient> {
  const url = t.url.replace('https://', 'wss://') + '/mqtt';
  const client = mqtt.connect(url, {
    ca: t.ca,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

/** Resolves with the first `n` messages a client receives (or rejects after `ms`). */
export function nextMessages(
  client: MqttClient,
  n = 1,
  ms = 5000,
): Promise<{ topic: string; payload: Buffer; contentType?: string }[]> {
  const got: { topic: string; payload: Buffer; contentType?: string }[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${n} messages`)), ms);
    client.on('message', (topic, payload, packet) => {
      got.push({
        topic,
        payload,
        ...(packet.properties?.contentType ? { contentType: packet.properties.contentType } : {}),
      });
      if (got.length === n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/**
 * Subscribes and resolves with the SUBACK's codes as sent on the wire (MQTT.js reports a refused
 * subscription as an error carrying the requested QoS, so read the packet itself).
 */
export function subscribe(
  client: MqttClient,
  topic: string,
  qos: 0 | 1 | 2 = 1,
): Promise<number[]> {
  return new Promise((resolve) => {
    let codes: number[] = [];
    const onPacket = (p: Packet) => {
      if (p.cmd === 'suback')
        codes = p.granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos));
    };
    client.on('packetreceive', onPacket);
    client.subscribe(topic, { qos }, () => {
      client.off('packetreceive', onPacket);
      resolve(codes);
    });
  });
}

/** Publishes and resolves with the PUBACK reason code (0 = success). */
export function publish(
  client: MqttClient,
  topic: string,
  payload: string | Buffer,
  opts: { qos?: 0 | 1 | 2; contentType?: string } = {},
): Promise<number> {
  return new Promise((resolve) =>
    client.publish(
      topic,
      payload,
      {
        qos: opts.qos ?? 1,
        ...(opts.contentType ? { properties: { contentType: opts.contentType } } : {}),
      },
      (err, packet) =>
        resolve(
          err
            ? ((err as { code?: number }).code ?? 0x80)
            : ((packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0),
        ),
    ),
  );
}
