import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, Timestamp } from './common.js';

const Pem = Type.String({ minLength: 1, maxLength: 262144 });

/** A device's channel right, as a gateway enforces it locally. */
export const GatewayChannelRightSchema = Type.Object(
  { channelId: Id, publish: Type.Boolean(), subscribe: Type.Boolean() },
  { additionalProperties: false },
);

/** One device a gateway may speak for (decision 0040). */
export const GatewaySiteDeviceSchema = Type.Object(
  {
    id: Id,
    state: Type.String(),
    /** Serials of its certificates that are neither revoked nor retired. */
    serials: Type.Array(Type.String()),
    channels: Type.Array(GatewayChannelRightSchema),
  },
  { additionalProperties: false },
);
export type GatewaySiteDevice = Static<typeof GatewaySiteDeviceSchema>;

/**
 * What a gateway needs to admit its site's devices offline: the organization's CAs and CRL, and
 * the devices it may speak for with their live certificate serials and channel rights.
 */
export const GatewaySiteSchema = Type.Object(
  {
    orgId: Id,
    gatewayId: Id,
    /** The site (location of kind `site`) the gateway sits in, if any. */
    siteId: Nullable(Id),
    root: Pem,
    issuing: Pem,
    crl: Pem,
    devices: Type.Array(GatewaySiteDeviceSchema),
    generatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type GatewaySiteView = Static<typeof GatewaySiteSchema>;
