import type {
  Admission,
  AlertService,
  ApiKeyService,
  AuditService,
  AuthService,
  CertificateRecord,
  Device,
  DevicePrincipal,
  DeviceService,
  SavedViewService,
  BulkActionService,
  FirmwareRepoService,
  LocationService,
  MaintenanceWindowService,
  MessagingService,
  OrgService,
  ScopedGrantService,
  DeviceAccess,
  DevicePskService,
  DeviceRpkService,
  BootstrapPskService,
  PkiService,
  Principal,
  TicketService,
  TunnelService,
  TwinService,
  CommandService,
  PresenceService,
  MetricsHistoryService,
  UpdateJobService,
  RolloutService,
  FirmwarePolicyService,
  ClaimService,
  DeviceImportService,
  AuditCheckService,
  DetectService,
  FirmwareAdvisoryService,
  DeviceLogService,
  NotificationService,
  RuleService,
  MitigationService,
  GatewayRules,
  GatewaySites,
  DomainEvents,
} from '@bulwark/core';
import type { OperationId, OperationInput, OperationOutput } from '@bulwark/protocol';
import { BulwarkError } from '@bulwark/protocol';
import type { WebSession } from './session-cookie.js';

/** The core services the REST API calls. */
export interface HttpServices {
  auth: AuthService;
  /** The one admission rule of the device edge (device certificates and keys). */
  admission: Admission;
  alerts: AlertService;
  /** Notification endpoints, routing rules and deliveries (decision 0030). */
  notifications: NotificationService;
  /** Maintenance windows that hold notifications back (decision 0030, amendment). */
  maintenanceWindows: MaintenanceWindowService;
  /** Mitigation actions and policies (decision 0036). */
  mitigations: MitigationService;
  apiKeys: ApiKeyService;
  orgs: OrgService;
  /** Members' permissions on device groups (decision 0046). */
  scopedGrants: ScopedGrantService;
  /** May this principal act on this device — org-wide or by a scoped grant (decision 0046)? */
  deviceAccess: DeviceAccess;
  devices: DeviceService;
  /** Saved fleet views, each principal's own (decision 0038 amendment). */
  savedViews: SavedViewService;
  /** Bulk actions on a device selection, per device (decision 0038 amendment). */
  bulkActions: BulkActionService;
  locations: LocationService;
  pki: PkiService;
  /** DTLS-PSK identities and keys of CoAP devices (decision 0041). */
  devicePsks: DevicePskService;
  /** Pinned DTLS raw public keys of CoAP devices (RFC 7250; decision 0041). */
  deviceRpks: DeviceRpkService;
  /** Factory bootstrap credentials and rotation marks of LwM2M devices (decision 0045). */
  bootstrapPsks: BootstrapPskService;
  audit: AuditService;
  messaging: MessagingService;
  tickets: TicketService;
  /** Remote-access tunnels through the hub relay (decision 0042). */
  tunnels: TunnelService;
  twins: TwinService;
  commands: CommandService;
  presence: PresenceService;
  /** Devices' health history (decision 0038 amendment). */
  metricsHistory: MetricsHistoryService;
  /** Central device logs (decision 0032). */
  deviceLogs: DeviceLogService;
  firmware: FirmwareRepoService;
  /** Firmware update jobs (decision 0008). */
  updates: UpdateJobService;
  /** Rollouts and the auto-upgrade policy (decision 0011). */
  rollouts: RolloutService;
  firmwarePolicies: FirmwarePolicyService;
  /** Claim-based provisioning (decision 0027). */
  claims: ClaimService;
  /** Bulk registration of devices with their enrollment tokens (decision 0027). */
  deviceImport: DeviceImportService;
  /** Fleet audit checks: findings and suppressions (decision 0031). */
  checks: AuditCheckService;
  /** Withdrawn / vulnerable marks on firmware artifacts (decision 0031). */
  advisories: FirmwareAdvisoryService;
  /** Rules on telemetry (decision 0035). */
  rules: RuleService;
  /** Detection rules and per-device baselines (decision 0034). */
  detect: DetectService;
  /** Which devices a gateway speaks for (decision 0040). */
  gatewaySites: GatewaySites;
  /** The rules a gateway evaluates at its site (decision 0040, local operation). */
  gatewayRules: Pick<GatewayRules, 'forSite'>;
  /** Typed domain events (the live event stream reads them). */
  events: DomainEvents;
}

/** What a handler knows about the call, and what it tells the audit log. */
export interface HandlerContext {
  principal: Principal | null;
  /** The device admitted by its certificate or key, on `device` routes. */
  device: { device: Device; cert: CertificateRecord | null; principal: DevicePrincipal } | null;
  source: string;
  /**
   * Checks the request's bearer credential again (long-lived answers such as the event stream):
   * the principal it stands for now, or a throw once it is revoked, expired or no longer a member.
   */
  reauthenticate?: () => Promise<Principal>;
  /** The browser session's cookie and headers (login, refresh, logout read it; decision 0038). */
  web?: WebSession;
  /** Filled by handlers where the route params don't say it (e.g. the id of a created device). */
  audit: {
    orgId?: string;
    actorType?: 'user' | 'device' | 'anonymous' | 'claim';
    actorId?: string;
    targetId?: string;
    detail?: Record<string, unknown>;
  };
}

/** A handler: validated input in, response body out. */
export type Handler<Op extends OperationId> = (
  input: OperationInput<Op>,
  ctx: HandlerContext,
) => Promise<OperationOutput<Op>>;

/** One handler per operation of the route table; the app refuses to start if one is missing. */
export type Handlers = { [Op in OperationId]: Handler<Op> };

/** The principal, or an error (for handlers of `principal`/`user` routes, which always have one). */
export function principalOf(ctx: HandlerContext): Principal {
  if (!ctx.principal) throw new BulwarkError('unauthenticated');
  return ctx.principal;
}
