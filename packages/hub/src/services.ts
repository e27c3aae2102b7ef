import { join } from 'node:path';
import {
  Admission,
  DevicePskService,
  DeviceRpkService,
  BootstrapPskService,
  AlertService,
  ApiKeyService,
  AuditService,
  AuthService,
  CommandService,
  ManagementSignals,
  PresenceService,
  TwinService,
  UpdateJobService,
  RolloutService,
  FirmwarePolicyService,
  DEFAULT_IDENTITY_CONFIG,
  DEFAULT_PKI_CONFIG,
  DEFAULT_PROVISIONING_CONFIG,
  ClaimService,
  DeviceImportService,
  AuditCheckService,
  FirmwareAdvisoryService,
  RuleActions,
  RuleEngine,
  RuleService,
  type HubCheckSource,
  DeviceLogService,
  MetricsHistoryService,
  DEFAULT_TICKET_CONFIG,
  DeviceService,
  DEFAULT_FIRMWARE_REPO_CONFIG,
  FirmwareRepoService,
  DEFAULT_MESSAGING_CONFIG,
  LocationService,
  GatewaySites,
  GatewayRules,
  GatewayUplink,
  MessagingService,
  NotificationService,
  MaintenanceWindowService,
  MitigationService,
  OrgService,
  ScopedGrantService,
  DeviceAccess,
  SavedViewService,
  BulkActionService,
  PkiService,
  SecretBox,
  TicketService,
  TunnelRelay,
  RelayGatewayLegs,
  TunnelService,
  createMemoryBus,
  cacheCertificateChecks,
  createEdgeThrottle,
  canonicalAddress,
  SourceBlocks,
  DetectEngine,
  DetectService,
  detectAlerts,
  createMemoryEvents,
  DEFAULT_EDGE_THROTTLE,
  deriveKey,
  systemClock,
  type BlobStore,
  type Bus,
  type CertificateCache,
  type Clock,
  type DomainEvents,
  type Storage,
  type TunnelOfferSink,
} from '@bulwark/core';
import { isSenmlContentType, parseSenml } from '@bulwark/senml';
import { createCertificateAuthority } from '@bulwark/pki';
import type { HttpServices } from '@bulwark/transport';
import { FsBlobStore } from './blob-store.js';
import type { HubConfig } from './config.js';
import { tufFirmwareVerifier } from './firmware-verifier.js';
import { jwtSigner } from './token-signer.js';

/** Every core service, wired on one storage and master key. */
export type HubServices = HttpServices & {
  managementSignals: ManagementSignals;
  /** Admission's certificate checks between access changes (the revocation sweep forgets too). */
  certificateCache: CertificateCache;
  /** Typed domain events (in-process, or NATS in a cluster). */
  events: DomainEvents;
  /**
   * Rules on telemetry as messages arrive (decision 0035); the hub subscribes the engine to the
   * bus. Held one level down so the call instrumentation does not wrap the per-message handler.
   */
  ruleEvaluation: { engine: RuleEngine };
  /** Messages a gateway forwards for its site's devices (decision 0040). */
  gatewayUplink: GatewayUplink;
  /** Device legs of the relay a gateway carries for its site devices (decision 0042). */
  relayGateways: RelayGatewayLegs;
  /**
   * Source addresses block_source mitigations locked, as admission reads them (decision 0036);
   * one level down so the call instrumentation does not wrap the per-authentication check.
   */
  edgeBlocks: { list: SourceBlocks };
};

/**
 * The organization that operates the hub (`--checks-hub-org`; empty: the oldest organization, the
 * one first-start setup made): it sees hub-wide findings and unattributable attacks.
 */
export async function hubOrgId(storage: Storage, configured: string): Promise<string | undefined> {
  if (configured !== '') return configured;
  return (await storage.organizations.list(1))[0]?.id;
}

/** The never-block list, canonical; an entry that is no IP address stops the start. */
function neverBlockList(list: readonly string[]): string[] {
  return list.map((a) => {
    const c = canonicalAddress(a.trim());
    if (c === null) throw new Error(`edge-never-block: ${JSON.stringify(a)} is not an IP address`);
    return c;
  });
}

/** Builds the core services (no sockets): used by the hub process and the local commands. */
export function createServices(
  storage: Storage,
  masterKey: Buffer,
  config: Pick<
    HubConfig,
    | 'scryptLn'
    | 'deviceCertDays'
    | 'certOverlapSeconds'
    | 'certRenewalsPerDay'
    | 'maxPayloadBytes'
    | 'writerQueue'
    | 'dataDir'
    | 'maxImageBytes'
    | 'maxOrgsPerUser'
    | 'edgeFailuresPerSource'
    | 'edgeNeverBlock'
    | 'claimFailuresPerSource'
    | 'claimsPerMinute'
    | 'checksIntervalHours'
    | 'detect'
    | 'checksHubOrg'
    | 'checksCertExpiryDays'
    | 'checksCertMaxAgeDays'
    | 'checksApiKeyUnusedDays'
    | 'checksMaxPublishChannels'
    | 'checksFirmwareStaleDays'
    | 'checksCaExpiryDays'
    | 'logRetentionDays'
    | 'logMaxRowsPerDevice'
    | 'metricsHistoryDays'
    | 'metricsHistoryIntervalSeconds'
  >,
  clock: Clock = systemClock,
  messaging: {
    bus: Bus;
    nodeId: string;
    onBatch?: (b: { rows: number; ms: number; error?: unknown }) => void;
    onIngest?: (protocol: string, outcome: string) => void;
    events?: DomainEvents;
    /** Where firmware images live (default DATA_DIR/blobs; the NATS object store in a cluster). */
    blobs?: BlobStore;
    /** The hub-configuration audit checks of this node's listeners (decision 0031). */
    hubChecks?: HubCheckSource;
    /** Asks a device on this node to dial the relay (the device plane, once the brokers run). */
    tunnelOffer?: TunnelOfferSink;
  } = {
    bus: createMemoryBus(),
    nodeId: 'local',
  },
): HubServices {
  const box = new SecretBox(masterKey);
  const events = messaging.events ?? createMemoryEvents({ nodeId: messaging.nodeId });
  const auth = new AuthService({
    storage,
    clock,
    box,
    tokens: jwtSigner(deriveKey(masterKey, 'access-token')),
    config: {
      ...DEFAULT_IDENTITY_CONFIG,
      scrypt: { ...DEFAULT_IDENTITY_CONFIG.scrypt, ln: config.scryptLn },
    },
  });
  // The one owner of alerts (core/src/alerts).
  const alerts = new AlertService({ storage, clock, events });
  // Detection (decision 0034): counts what this node sees, judges the rules, raises alerts.
  const detectEngine = new DetectEngine({
    enabled: config.detect === 'on',
    clock,
    events,
    store: storage.detect,
    alerts: detectAlerts(alerts),
    nodeId: messaging.nodeId,
    deviceType: async (orgId, deviceId) => (await storage.devices.get(orgId, deviceId))?.type,
    resolveSubject: async (subject) => {
      // A device key's claimed device (a certificate-only device too: its id names its
      // organization), or an API key's id. Anything else names no organization truthfully.
      if (subject.startsWith('device:')) {
        const deviceId = subject.slice('device:'.length);
        const orgId = deviceId === '' ? undefined : await storage.devices.orgOf(deviceId);
        return orgId !== undefined ? { orgId, deviceId } : undefined;
      }
      if (subject.startsWith('key:')) {
        const key = await storage.apiKeys.get(subject.slice('key:'.length));
        return key ? { orgId: key.orgId, deviceId: null } : undefined;
      }
      return undefined;
    },
    // Unattributable failures go where hub-wide findings go (decision 0031's hub organization).
    operatorOrgId: () => hubOrgId(storage, config.checksHubOrg),
    certificates: (orgId, deviceId) => storage.pki.listCertificates(orgId, deviceId),
  });
  const locations = new LocationService({ storage, clock });
  const devices = new DeviceService({ storage, clock, locations, events });
  const gatewaySites = new GatewaySites({ storage, clock });
  // Before the PKI: decommissioning a device removes its channel rights.
  const channels = new MessagingService({
    storage,
    clock,
    bus: messaging.bus,
    nodeId: messaging.nodeId,
    normalize: (contentType, payload, now) =>
      isSenmlContentType(contentType) ? parseSenml(contentType, payload, { now }) : undefined,
    config: {
      ...DEFAULT_MESSAGING_CONFIG,
      maxPayloadBytes: config.maxPayloadBytes,
      writer: { ...DEFAULT_MESSAGING_CONFIG.writer, maxQueue: config.writerQueue },
    },
    ...(messaging.onBatch ? { onBatch: messaging.onBatch } : {}),
    ...(messaging.onIngest ? { onIngest: messaging.onIngest } : {}),
    // Every accepted device message is counted by the detection engine (decision 0034).
    onAccepted: (client, bytes) => {
      if (client.type === 'device') detectEngine.message(client.orgId, client.id, bytes);
    },
    events,
  });
  const pki = new PkiService({
    storage,
    clock,
    box,
    ca: createCertificateAuthority(),
    devices,
    channels,
    config: {
      ...DEFAULT_PKI_CONFIG,
      deviceCertDays: config.deviceCertDays,
      renewalOverlapSeconds: config.certOverlapSeconds,
      renewalsPerDay: config.certRenewalsPerDay,
    },
  });
  // The chain is keyed (decision 0016): a database writer without the master key cannot rewrite it.
  const audit = new AuditService({
    store: storage.audit,
    clock,
    key: deriveKey(masterKey, 'audit-chain'),
  });
  // The one admission rule of the device edge (core/src/edge).
  // A reconnect storm is not serialised on the database (decision 0022).
  const certificateCache = cacheCertificateChecks(pki, { events, clock });
  // Addresses block_source mitigations locked (decision 0036); hub/edge.ts keeps the list.
  const sourceBlocks = new SourceBlocks(clock);
  // DTLS-PSK keys of CoAP devices, sealed with the master key like CA keys (decision 0041).
  const devicePsks: DevicePskService = new DevicePskService({
    storage,
    box,
    clock,
    events,
    reserved: async (identity) => (await bootstrapPsks.resolve(identity)) !== undefined,
  });
  // Factory bootstrap credentials of LwM2M devices: bootstrap-only, never admitted (decision 0045).
  const bootstrapPsks = new BootstrapPskService({
    storage,
    box,
    clock,
    deviceIdentity: (identity) => devicePsks.resolve(identity),
  });
  // Pinned DTLS raw public keys (RFC 7250; decision 0041, 2026-12-07).
  const deviceRpks = new DeviceRpkService({ storage, clock, events });
  const admission = new Admission({
    storage,
    clock,
    certificates: certificateCache,
    psks: devicePsks,
    rpks: deviceRpks,
    events,
    blocks: sourceBlocks,
    throttle: createEdgeThrottle(
      {
        ...DEFAULT_EDGE_THROTTLE,
        source: { ...DEFAULT_EDGE_THROTTLE.source, threshold: config.edgeFailuresPerSource },
      },
      clock,
    ),
  });
  // Notification endpoints and rules; the hub's notification runner routes and delivers
  // (decision 0030). Endpoint secrets are sealed with the master key like CA keys.
  const notifications = new NotificationService({ storage, clock, box });
  const maintenanceWindows = new MaintenanceWindowService({ storage, clock });
  // Device management: the device plane (hub/device-plane.ts) listens to the signals to push
  // desired twins and commands to devices connected to this node at once.
  const managementSignals = new ManagementSignals();
  const twins = new TwinService({
    storage,
    clock,
    devices,
    audit,
    signals: managementSignals,
    events,
  });
  const commands = new CommandService({
    storage,
    clock,
    devices,
    signals: managementSignals,
    events,
  });
  const presence = new PresenceService({ storage, clock, devices, alerts, events });
  const updates = new UpdateJobService({
    storage,
    clock,
    devices,
    signals: managementSignals,
    audit,
    events,
  });
  // Rollouts and the auto-upgrade policy start jobs through the job service (decision 0011); the
  // hub's rollout runner ticks them and feeds call-home reports to the policy.
  const rolloutDeps = { storage, clock, devices, jobs: updates, jobStore: storage.updateJobs };
  const rollouts = new RolloutService({
    ...rolloutDeps,
    audit,
    alerts,
    events,
    nodeId: messaging.nodeId,
  });
  const firmwarePolicies = new FirmwarePolicyService({
    ...rolloutDeps,
    audit,
    alerts,
    nodeId: messaging.nodeId,
  });
  // A ticket revocation reaches the device through its desired twin: `tickets.revoked` is the
  // list of revoked, unexpired ticket ids (a merge patch replaces the whole array).
  // Remote access (decision 0042): the relay of this node, closed at once by a revocation here
  // and within its watch interval by one on another node.
  const relay = new TunnelRelay({ clock, audit, storage });
  // Per-device decisions with scoped grants (decision 0046): tickets, bulk actions, device routes.
  const deviceAccess = new DeviceAccess({ storage });
  const tickets = new TicketService({
    access: deviceAccess,
    storage,
    clock,
    pki,
    devices,
    audit,
    config: DEFAULT_TICKET_CONFIG,
    revocations: async (orgId, deviceId, jtis, actor) => {
      await twins.patchDesired(orgId, deviceId, { tickets: { revoked: jtis } }, { actor });
    },
    onRevoked: (orgId, jti) => relay.ticketRevoked(orgId, jti),
  });
  const tunnels = new TunnelService({
    clock,
    storage,
    tickets,
    relay,
    offer: (orgId, deviceId, offer) => messaging.tunnelOffer?.(orgId, deviceId, offer) ?? false,
  });
  // A site device's leg comes through its gateway, admitted by the uplink's site rule.
  const relayGateways = new RelayGatewayLegs({ sites: gatewaySites, storage, clock, relay });
  // Rules on telemetry (decision 0035): this node's evaluator reloads before a change returns;
  // other nodes reload on the `rule.changed` event.
  const ruleActions = new RuleActions({
    alerts,
    commands,
    twins,
    audit,
    clock,
    events,
    notifications: storage.notifications,
  });
  const ruleEngine = new RuleEngine({
    store: storage.rules,
    storage,
    clock,
    nodeId: messaging.nodeId,
    events,
    actions: ruleActions,
  });
  // Rules at gateway sites (decision 0040, local operation): synced down, firings applied here.
  const gatewayRules = new GatewayRules({
    store: storage.rules,
    storage,
    sites: gatewaySites,
    actions: ruleActions,
    clock,
  });
  const gatewayUplink = new GatewayUplink({
    sites: gatewaySites,
    messaging: channels,
    clock,
    events,
  });
  gatewayUplink.rules = gatewayRules;
  const rules = new RuleService({
    storage,
    clock,
    events,
    parseSenml: (payload, now) => parseSenml('application/senml+json', payload, { now }),
    onChange: (orgId) => ruleEngine.reloadOrg(orgId),
  });
  // Mitigations (decision 0036) act through the services that own what they change; the hub's
  // mitigation runner applies policies to this node's alerts.
  const mitigations = new MitigationService({
    storage,
    clock,
    devices,
    pki,
    twins,
    updates,
    alerts,
    audit,
    events,
    operatorOrgId: () => hubOrgId(storage, config.checksHubOrg),
    neverBlock: neverBlockList(config.edgeNeverBlock),
  });
  return {
    edgeBlocks: { list: sourceBlocks },
    devicePsks,
    deviceRpks,
    bootstrapPsks,
    rules,
    ruleEvaluation: { engine: ruleEngine },
    mitigations,
    auth,
    apiKeys: new ApiKeyService({ storage, clock, events }),
    orgs: new OrgService({ storage, clock, auth, maxOrgsPerUser: config.maxOrgsPerUser }),
    scopedGrants: new ScopedGrantService({ storage, clock }),
    deviceAccess,
    devices,
    savedViews: new SavedViewService({ storage, clock }),
    bulkActions: new BulkActionService({
      devices,
      updates,
      twins,
      commands,
      access: deviceAccess,
    }),
    locations,
    pki,
    audit,
    twins,
    commands,
    presence,
    // Health history (decision 0038 amendment); the hub prunes it every hour (metrics-history.ts).
    metricsHistory: new MetricsHistoryService({
      store: storage.metricsHistory,
      devices,
      clock,
      config: {
        retentionDays: config.metricsHistoryDays,
        minIntervalSeconds: config.metricsHistoryIntervalSeconds,
      },
    }),
    // Central device logs (decision 0032); the hub prunes them every minute (device-logs.ts).
    deviceLogs: new DeviceLogService({
      store: storage.deviceLogs,
      devices,
      clock,
      events,
      config: {
        retentionDays: config.logRetentionDays,
        maxRowsPerDevice: config.logMaxRowsPerDevice,
      },
    }),
    managementSignals,
    certificateCache,
    events,
    admission,
    alerts,
    notifications,
    maintenanceWindows,
    tickets,
    tunnels,
    relayGateways,
    updates,
    rollouts,
    firmwarePolicies,
    // Firmware images live content-addressed under DATA_DIR/blobs (decision 0007), or in the
    // cluster's object store (decision 0021).
    firmware: new FirmwareRepoService({
      store: storage.firmware,
      blobs: messaging.blobs ?? new FsBlobStore(join(config.dataDir, 'blobs')),
      verifier: tufFirmwareVerifier,
      clock,
      audit,
      config: { ...DEFAULT_FIRMWARE_REPO_CONFIG, maxImageBytes: config.maxImageBytes },
      // An artifact an open job, a live rollout or a policy uses is not deleted.
      usage: storage,
    }),
    messaging: channels,
    gatewaySites,
    gatewayRules,
    gatewayUplink,
    // Fleet provisioning (decision 0027): bulk registration and claims.
    claims: new ClaimService({
      storage,
      clock,
      locations,
      pki,
      messaging: channels,
      config: {
        failures: {
          ...DEFAULT_PROVISIONING_CONFIG.failures,
          threshold: config.claimFailuresPerSource,
        },
        claimsPerMinute: config.claimsPerMinute,
      },
    }),
    // Fleet audit checks (decision 0031): on demand and on the hub's schedule (checks-runner.ts).
    checks: new AuditCheckService({
      storage,
      clock,
      nodeId: messaging.nodeId,
      alerts,
      ...(messaging.hubChecks ? { hubChecks: messaging.hubChecks } : {}),
      config: {
        intervalMs: config.checksIntervalHours * 3600_000,
        hubOrgId: config.checksHubOrg,
        certExpiryDays: config.checksCertExpiryDays,
        certMaxAgeDays: config.checksCertMaxAgeDays,
        apiKeyUnusedDays: config.checksApiKeyUnusedDays,
        maxPublishChannels: config.checksMaxPublishChannels,
        firmwareStaleDays: config.checksFirmwareStaleDays,
        caExpiryDays: config.checksCaExpiryDays,
      },
    }),
    advisories: new FirmwareAdvisoryService({ storage, clock }),
    detect: new DetectService({
      store: storage.detect,
      clock,
      devices,
      engine: detectEngine,
      nodeId: messaging.nodeId,
    }),
    deviceImport: new DeviceImportService({
      storage,
      clock,
      locations,
      tokenTtlSeconds: DEFAULT_PKI_CONFIG.enrollmentTokenTtlSeconds,
    }),
  };
}
