/** Remote access through the hub relay (decision 0042). */
export {
  DEFAULT_TUNNEL_RELAY_LIMITS,
  TunnelRelay,
  type CreatedRelaySession,
  type JoinResult,
  type PairedSession,
  type RelayCloseReason,
  type RelayJoiner,
  type RelayLeg,
  type RelaySessionSpec,
  type RelayVia,
  type TunnelRelayLimits,
} from './tunnel-relay.js';
export {
  TunnelService,
  relayPath,
  type OpenTunnelRequest,
  type OpenedTunnel,
  type TunnelOfferSink,
} from './tunnel-service.js';
export { RelayGatewayLegs, type GatewayLegClaim, type GatewayLegDialer } from './relay-gateway.js';
