/**
 * The device plane's port to the links devices are on (DESIGN.md §3, decision 0015): MQTT today,
 * the gateway and CoAP later. A link hands the hub's messages to a device's session
 * (`DeviceLink`) and tells the device plane what happens on it (`DevicePlaneInbound`). Neither
 * side knows the other's protocol: topics, packets and reason codes stay in the link's adapter.
 */
import type {
  CommandRequest,
  DesiredTwin,
  DevicePlaneKind,
  TunnelOffer,
  UpdateOffer,
} from '@bulwark/protocol';

/** A device's session on a link: the device, its organization, and this connection's own id. */
export interface DeviceSession {
  orgId: string;
  deviceId: string;
  /** One connection of the device: presence and delivery belong to it, not to the device. */
  sessionId: string;
}

/** A message the hub sends a device (the desired twin, a command, an update offer or cancel). */
export type DeviceOutbound =
  | { kind: 'desired'; body: DesiredTwin }
  | { kind: 'command'; body: CommandRequest }
  | { kind: 'updateOffer'; body: UpdateOffer }
  | { kind: 'tunnel'; body: TunnelOffer };

/** What the device plane sends through. */
export interface DeviceLink {
  /**
   * Hands `message` to the device's session (QoS and retain as `DEVICE_PLANE` says; the link
   * redelivers it until the device acknowledges). False — nothing sent — when that session is not
   * on this link or has not subscribed to that message.
   */
  deliver(session: DeviceSession, message: DeviceOutbound): boolean;
}

/** How a session ended. */
export interface SessionEnd {
  /**
   * The device did not drop off: it said goodbye, or the hub ended the session (revocation,
   * shutdown). Only an unclean end opens a `device_offline` alert.
   */
  clean: boolean;
  /** The link's words for it (for the log and the presence record). */
  reason: string;
}

/** What a link tells the device plane. */
export interface DevicePlaneInbound {
  /** A device's session started (authenticated, admitted). */
  connected(session: DeviceSession): void;
  disconnected(session: DeviceSession, end: SessionEnd): void;
  /** The session now takes these hub → device messages (a subscription covering them). */
  subscribed(session: DeviceSession, kinds: readonly DevicePlaneKind[]): void;
  /**
   * A device's message on its plane: `rest` is the topic's levels after `$devices/{id}/`. True
   * when the device plane took it; false for a message that is not one of its own (the link
   * routes it as any other). Throws BulwarkError `device_payload_invalid` for a bad payload —
   * nothing changed — which the link refuses (MQTT 0x99 with the reason).
   */
  report(
    session: DeviceSession,
    rest: string,
    payload: Uint8Array,
    opts?: { will?: boolean },
  ): Promise<boolean>;
}

/** Where the device plane tells of failures it survives (a pino logger fits). */
export interface DevicePlaneLog {
  warn(obj: object, msg: string): void;
}
