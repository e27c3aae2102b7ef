import type { OperationOutput } from '@bulwark/protocol';
import type { BodyOf, Call } from './types.js';
import { createCall, type CallOptions } from './call.js';
import { auditApi } from './resources/audit.js';
import { checksApi } from './resources/checks.js';
import { rulesApi } from './resources/rules.js';
import { detectApi } from './resources/detect.js';
import { eventsApi } from './resources/events.js';
import { channelsApi } from './resources/channels.js';
import { authApi, setupApi } from './resources/auth.js';
import { devicesApi } from './resources/devices.js';
import { firmwareApi } from './resources/firmware.js';
import { firmwarePoliciesApi, rolloutsApi } from './resources/rollouts.js';
import { apiKeysApi, orgsApi, usersApi } from './resources/identity.js';
import { locationsApi } from './resources/locations.js';
import { alertsApi, notificationsApi } from './resources/alerts.js';
import { mitigationsApi } from './resources/mitigations.js';
import { viewsApi } from './resources/views.js';
import { commandsApi, deviceStatusApi, twinsApi } from './resources/management.js';
import { pkiApi } from './resources/pki.js';
import { provisioningApi } from './resources/provisioning.js';
import { ticketsApi } from './resources/tickets.js';
import { updatesApi } from './resources/updates.js';

/** Options of `createClient`. */
export type ClientOptions = CallOptions;

/** A typed client of the Bulwark REST API. */
export interface BulwarkClient {
  /** Any operation by its id in ROUTES, typed from the route's schemas. */
  readonly call: Call;
  readonly devices: ReturnType<typeof devicesApi> & ReturnType<typeof deviceStatusApi>;
  readonly twins: ReturnType<typeof twinsApi>;
  readonly commands: ReturnType<typeof commandsApi>;
  readonly alerts: ReturnType<typeof alertsApi>;
  /** Notification endpoints, routing rules and deliveries (dead letters) — decision 0030. */
  readonly notifications: ReturnType<typeof notificationsApi>;
  /** Mitigation actions, their log and policies (decision 0036). */
  readonly mitigations: ReturnType<typeof mitigationsApi>;
  /** Saved fleet views (named device filters) of the caller. */
  readonly views: ReturnType<typeof viewsApi>;
  readonly apiKeys: ReturnType<typeof apiKeysApi>;
  readonly users: ReturnType<typeof usersApi>;
  readonly orgs: ReturnType<typeof orgsApi>;
  readonly locations: ReturnType<typeof locationsApi>;
  readonly channels: ReturnType<typeof channelsApi>;
  readonly audit: ReturnType<typeof auditApi>;
  readonly setup: ReturnType<typeof setupApi>;
  readonly auth: ReturnType<typeof authApi>;
  readonly pki: ReturnType<typeof pkiApi>;
  readonly tickets: ReturnType<typeof ticketsApi>;
  readonly firmware: ReturnType<typeof firmwareApi> & {
    /** The auto-upgrade policy (decision 0011). */
    readonly policies: ReturnType<typeof firmwarePoliciesApi>;
  };
  /** Rollouts of firmware artifacts (decision 0011). */
  readonly rollouts: ReturnType<typeof rolloutsApi>;
  /** Firmware update jobs: deploy an artifact to a device, follow it, cancel it. */
  readonly updates: ReturnType<typeof updatesApi>;
  /** Bulk registration and provisioning claims (decision 0027). */
  readonly provisioning: ReturnType<typeof provisioningApi>;
  /** Fleet audit checks: findings and suppressions (decision 0031). */
  readonly checks: ReturnType<typeof checksApi>;
  /** Rules on telemetry (decision 0035). */
  readonly rules: ReturnType<typeof rulesApi>;
  /** Detection rules and per-device baselines (decision 0034). */
  readonly detect: ReturnType<typeof detectApi>;
  /** The organization's live events (Server-Sent Events read with fetch). */
  readonly events: ReturnType<typeof eventsApi>;
  /** Who the caller is, in which organization, with which permissions. */
  me(): Promise<OperationOutput<'getMe'>>;
  /** Device enrollment: a one-time token and a CSR in, a certificate and its chain out. */
  enroll(body: BodyOf<'enroll'>): Promise<OperationOutput<'enroll'>>;
}

/** Creates a client for one hub; it holds no state beyond its options. */
export function createClient(opts: ClientOptions): BulwarkClient {
  const call = createCall(opts);
  return {
    call,
    devices: { ...devicesApi(call), ...deviceStatusApi(call) },
    twins: twinsApi(call),
    commands: commandsApi(call),
    alerts: alertsApi(call),
    notifications: notificationsApi(call),
    mitigations: mitigationsApi(call),
    views: viewsApi(call),
    apiKeys: apiKeysApi(call),
    users: usersApi(call),
    orgs: orgsApi(call),
    locations: locationsApi(call),
    channels: channelsApi(call),
    audit: auditApi(call),
    setup: setupApi(call),
    auth: authApi(call),
    pki: pkiApi(call),
    tickets: ticketsApi(call),
    firmware: { ...firmwareApi(call), policies: firmwarePoliciesApi(call) },
    rollouts: rolloutsApi(call),
    updates: updatesApi(call),
    provisioning: provisioningApi(call),
    checks: checksApi(call),
    rules: rulesApi(call),
    detect: detectApi(call),
    events: eventsApi(call),
    me: () => call('getMe'),
    enroll: (body) => call('enroll', { body }),
  };
}
