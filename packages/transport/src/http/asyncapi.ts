/**
 * The AsyncAPI 3.0 document of the hub's MQTT interface (decision 0015), generated — like the
 * OpenAPI one — from the contract in `@bulwark/protocol`: one channel per message of the device
 * plane (`DEVICE_PLANE`: address, who sends it, QoS, retain, payload schema) and the data
 * channels `channels/{channelId}/messages[/{subtopic}]`. Operations are from the hub's point of
 * view: `send` what the hub publishes, `receive` what it takes in. Served at
 * `GET /api/v1/asyncapi.json`.
 */
import {
  DEVICE_PLANE,
  DEVICE_PLANE_KINDS,
  MAX_SUBTOPIC_LENGTH,
  type DevicePlaneMessage,
} from '@bulwark/protocol';

type Json = Record<string, unknown>;
type Schema = DevicePlaneMessage['schema'];

/** The AsyncAPI version the document follows. */
export const ASYNCAPI_VERSION = '3.0.0';

/**
 * A plain JSON copy of a TypeBox schema: TypeBox's symbol keys and `$id`s dropped, and the
 * `errorMessage` phrases (for the hub's refusals, not part of the contract) too.
 */
function plain(schema: Schema): Json {
  return JSON.parse(
    JSON.stringify(schema, (k, v: unknown) =>
      k === '$id' || k === 'errorMessage' ? undefined : v,
    ),
  ) as Json;
}

/** `commands/{commandId}/status` → the address parameters' names (`commandId`). */
const paramsOf = (rest: string): string[] =>
  [...rest.matchAll(/\{([a-zA-Z]+)\}/g)].map((m) => m[1] ?? '');

/** The schema name of a message: `updateStatus` → `UpdateStatus`. */
const schemaName = (kind: string) => kind.charAt(0).toUpperCase() + kind.slice(1);

const PARAMETERS: Record<string, string> = {
  deviceId: 'The device id (a UUID). Only that device and the hub use its plane.',
  commandId: 'The command id the hub gave it.',
  jobId: 'The update job id.',
  sessionId: 'The remote-access relay session id (decision 0042).',
  channelId: 'The channel id (a UUID); access by the channel connection of the client.',
  subtopic: `One or more topic levels (at most ${MAX_SUBTOPIC_LENGTH} characters); subscriptions may use + and # here.`,
};

/** A device-plane message's security: only the device itself (certificate or device key). */
const DEVICE_SECURITY = [
  { $ref: '#/components/securitySchemes/deviceCertificate' },
  { $ref: '#/components/securitySchemes/deviceKey' },
];
const ALL_SECURITY = [...DEVICE_SECURITY, { $ref: '#/components/securitySchemes/apiKey' }];

/** The AsyncAPI 3.0 document of the hub's MQTT interface. */
export function asyncApiDocument(info: { version: string; host?: string }): Json {
  const channels: Json = {};
  const operations: Json = {};
  const messages: Json = {};
  const schemas: Json = {};

  for (const kind of DEVICE_PLANE_KINDS) {
    const m: DevicePlaneMessage = DEVICE_PLANE[kind];
    const name = schemaName(kind);
    schemas[name] = plain(m.schema);
    messages[kind] = {
      name,
      title: m.summary,
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${name}` },
      ...(m.will ? { description: "Also the device's MQTT will: `{online: false}`." } : {}),
    };
    channels[kind] = {
      address: `$devices/{deviceId}/${m.rest}`,
      title: m.summary,
      parameters: Object.fromEntries(
        ['deviceId', ...paramsOf(m.rest)].map((p) => [p, { description: PARAMETERS[p] }]),
      ),
      messages: { [kind]: { $ref: `#/components/messages/${kind}` } },
    };
    const hubSends = m.from === 'hub';
    operations[`${hubSends ? 'send' : 'receive'}${name}`] = {
      action: hubSends ? 'send' : 'receive',
      channel: { $ref: `#/channels/${kind}` },
      summary: hubSends
        ? `The hub publishes: ${m.summary}. The device subscribes.`
        : `The device publishes: ${m.summary}. A payload of the wrong shape is refused (MQTT 5: PUBACK 0x99 with a reason string) and changes nothing.`,
      messages: [{ $ref: `#/channels/${kind}/messages/${kind}` }],
      security: DEVICE_SECURITY,
      bindings: { mqtt: { qos: m.qos, retain: m.retain, bindingVersion: '0.2.0' } },
    };
  }

  // Data: any content type; SenML (RFC 8428) JSON and CBOR are validated and normalised.
  messages['channelMessage'] = {
    name: 'ChannelMessage',
    title: 'A message on a channel',
    description:
      'SenML (RFC 8428) as application/senml+json or application/senml+cbor is validated and normalised; any other content type (the MQTT 5 content type property; none on MQTT 3.1.1) is stored and forwarded as opaque bytes.',
    payload: { description: "Any payload up to the hub's maximum size." },
  };
  for (const [id, address] of [
    ['channelMessages', 'channels/{channelId}/messages'],
    ['channelSubtopicMessages', 'channels/{channelId}/messages/{subtopic}'],
  ] as const) {
    channels[id] = {
      address,
      title: 'Data on a channel',
      parameters: Object.fromEntries(
        paramsOf(address).map((p) => [p, { description: PARAMETERS[p] }]),
      ),
      messages: { channelMessage: { $ref: '#/components/messages/channelMessage' } },
    };
    const name = schemaName(id);
    operations[`receive${name}`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${id}` },
      summary:
        'A device or application with the publish right publishes; acknowledged (PUBACK) once stored (persisted channels) and on the bus.',
      messages: [{ $ref: `#/channels/${id}/messages/channelMessage` }],
      security: ALL_SECURITY,
    };
    operations[`send${name}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${id}` },
      summary:
        'The hub delivers to every subscriber with the subscribe right (on any node, from any protocol).',
      messages: [{ $ref: `#/channels/${id}/messages/channelMessage` }],
      security: ALL_SECURITY,
    };
  }

  const variable = (def: string, description: string) => ({ default: def, description });
  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: 'Bulwark hub messaging',
      version: info.version,
      description:
        "The MQTT interface of the Bulwark hub: channel data and each device's management plane (`$devices/{deviceId}/…`), generated from the contract in @bulwark/protocol. Operations are from the hub's point of view. MQTT 3.1.1 and 5; everything not listed here is refused.",
    },
    defaultContentType: 'application/json',
    servers: {
      mqtts: {
        host: '{host}:{port}',
        protocol: 'secure-mqtt',
        description: 'MQTT over TLS; devices present their certificate or a device key.',
        variables: {
          host: variable(info.host ?? 'localhost', "The hub's host name."),
          port: variable('8883', 'The --mqtt-port of the hub.'),
        },
        security: ALL_SECURITY,
      },
      wss: {
        host: '{host}:{port}',
        pathname: '/mqtt',
        protocol: 'wss',
        description: 'MQTT over WebSocket on the HTTPS port.',
        variables: {
          host: variable(info.host ?? 'localhost', "The hub's host name."),
          port: variable('443', 'The --http-port of the hub.'),
        },
        security: ALL_SECURITY,
      },
    },
    channels,
    operations,
    components: {
      schemas,
      messages,
      securitySchemes: {
        deviceCertificate: {
          type: 'X509',
          description:
            "Mutual TLS with a device certificate issued by the organization's CA (CN = device id).",
        },
        deviceKey: {
          type: 'userPassword',
          description: 'MQTT username = the device id, password = its device key.',
        },
        apiKey: {
          type: 'apiKey',
          in: 'password',
          description: 'An application: MQTT password = an API key (bwk_…); channels only.',
        },
      },
    },
  };
}
