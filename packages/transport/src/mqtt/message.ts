/** The engine's in-memory application message, shared by every subscriber it is routed to. */

/** MQTT 5 PUBLISH properties that travel with a message to its subscribers ([MQTT-3.3.2-…]). */
export interface MessageProperties {
  payloadFormatIndicator?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Array<[string, string]>;
}

/** A routed application message. Encodings are cached on it so fan-out encodes once. */
export interface Message {
  topic: string;
  /** The topic's UTF-8 bytes, encoded once. */
  topicBuf: Buffer;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  props: MessageProperties | null;
  /** The encoded forwarded properties (without length, Subscription Identifier or expiry). */
  propsBody: Buffer | null;
  /** Epoch ms after which the message must not be delivered (v5 Message Expiry); 0 = never. */
  expiresAt: number;
  /** Session key of the publisher (for v5 No Local); null for injected messages. */
  origin: string | null;
  /** Cached QoS 0 encodings: [v3.1.1 retain 0, v3.1.1 retain 1, v5 retain 0, v5 retain 1]. */
  enc: Array<Buffer | undefined> | null;
}

/** Create a message (computes the topic bytes once). */
export function createMessage(
  topic: string,
  payload: Buffer,
  qos: 0 | 1 | 2,
  retain: boolean,
  props: MessageProperties | null,
  expirySeconds: number,
  origin: string | null,
): Message {
  return {
    topic,
    topicBuf: Buffer.from(topic, 'utf8'),
    payload,
    qos,
    retain,
    props,
    propsBody: null,
    expiresAt: expirySeconds > 0 ? Date.now() + expirySeconds * 1000 : 0,
    origin,
    enc: null,
  };
}
