/**
 * The REST API as data: one entry per operation. The HTTP transport registers exactly these routes
 * and validates with these schemas, the OpenAPI document is generated from them, and the SDK's
 * methods are typed from them, so the three cannot drift apart.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Permission } from './identity.js';
import * as A from './audit.js';
import * as C from './common.js';
import * as M from './channels.js';
import * as D from './devices.js';
import * as I from './identity.js';
import * as P from './pki.js';

/** Who may call a route. */
export type RouteAuth =
  | 'none' // public (setup, login, enrollment with a token, CRL)
  | 'principal' // a user's access token or an API key
  | 'user' // a user's access token only (not an API key)
  | 'device' // a device: its client certificate (mutual TLS) or its device key (HTTP Basic)
  | 'device-cert'; // a device's client certificate only (certificate renewal)

/** One API operation. `path` uses `:name` for parameters, relative to `/api/v1`. */
export interface RouteDef {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly auth: RouteAuth;
  readonly permission?: Permission;
  readonly params?: TSchema;
  readonly query?: TSchema;
  readonly body?: TSchema;
  readonly status: number;
  readonly response?: TSchema;
  /** A non-JSON response body's media type (e.g. a PEM CRL). */
  readonly produces?: string;
  /** The body is taken as raw bytes of any content type (message ingest), not parsed. */
  readonly rawBody?: true;
}

const route = <const R extends RouteDef>(r: R): R => r;

export const ROUTES = {
  // setup and sessions
  getSetupStatus: route({
    method: 'GET',
    path: '/setup',
    summary: 'Is first-start setup still pending?',
    tag: 'auth',
    auth: 'none',
    status: 200,
    response: I.SetupStatusSchema,
  }),
  completeSetup: route({
    method: 'POST',
    path: '/setup',
    summary: 'Create the first organization and its owner with the one-time setup token',
    tag: 'auth',
    auth: 'none',
    body: I.SetupRequest,
    status: 201,
    response: I.SetupResponse,
  }),
  login: route({
    method: 'POST',
    path: '/auth/login',
    summary: 'Log in with email, password and (if enrolled) a TOTP code',
    tag: 'auth',
    auth: 'none',
    body: I.LoginRequest,
    status: 200,
    response: I.TokenPair,
  }),
  refresh: route({
    method: 'POST',
    path: '/auth/refresh',
    summary: 'Exchange a refresh token for new tokens (the old one is revoked)',
    tag: 'auth',
    auth: 'none',
    body: I.RefreshRequest,
    status: 200,
    response: I.TokenPair,
  }),
  logout: route({
    method: 'POST',
    path: '/auth/logout',
    summary: 'Revoke a refresh token',
    tag: 'auth',
    auth: 'none',
    body: I.RefreshRequest,
    status: 204,
  }),
  getMe: route({
    method: 'GET',
    path: '/me',
    summary: 'Who am I, in which organization, with which permissions',
    tag: 'auth',
    auth: 'principal',
    status: 200,
    response: I.MeSchema,
  }),
  beginTotp: route({
    method: 'POST',
    path: '/me/totp',
    summary: 'Start TOTP enrollment: returns a new secret to confirm',
    tag: 'auth',
    auth: 'user',
    body: C.Empty,
    status: 200,
    response: I.TotpEnrollment,
  }),
  confirmTotp: route({
    method: 'POST',
    path: '/me/totp/confirm',
    summary: 'Confirm TOTP enrollment with a current code',
    tag: 'auth',
    auth: 'user',
    body: I.TotpConfirm,
    status: 204,
  }),
  disableTotp: route({
    method: 'POST',
    path: '/me/totp/disable',
    summary: 'Turn TOTP off (needs a current code)',
    tag: 'auth',
    auth: 'user',
    body: I.TotpConfirm,
    status: 204,
  }),
  // organizations and users
  listOrganizations: route({
    method: 'GET',
    path: '/orgs',
    summary: 'Organizations the caller belongs to',
    tag: 'organizations',
    auth: 'principal',
    status: 200,
    response: Type.Array(I.OrganizationSchema),
  }),
  createOrganization: route({
    method: 'POST',
    path: '/orgs',
    summary: 'Create an organization; the caller becomes its owner',
    tag: 'organizations',
    auth: 'user',
    body: I.CreateOrganizationRequest,
    status: 201,
    response: I.OrganizationSchema,
  }),
  listUsers: route({
    method: 'GET',
    path: '/users',
    summary: 'Members of the organization',
    tag: 'users',
    auth: 'principal',
    permission: 'users:manage',
    status: 200,
    response: Type.Array(I.UserSchema),
  }),
  createUser: route({
    method: 'POST',
    path: '/users',
    summary: 'Add a user to the organization with a role',
    tag: 'users',
    auth: 'principal',
    permission: 'users:manage',
    body: I.CreateUserRequest,
    status: 201,
    response: I.UserSchema,
  }),
  updateUser: route({
    method: 'PATCH',
    path: '/users/:id',
    summary: "Change a member's role or grants",
    tag: 'users',
    auth: 'principal',
    permission: 'users:manage',
    params: C.IdParams,
    body: I.UpdateUserRequest,
    status: 200,
    response: I.UserSchema,
  }),
  removeUser: route({
    method: 'DELETE',
    path: '/users/:id',
    summary: 'Remove a member from the organization and revoke their sessions',
    tag: 'users',
    auth: 'principal',
    permission: 'users:manage',
    params: C.IdParams,
    status: 204,
  }),
  listApiKeys: route({
    method: 'GET',
    path: '/api-keys',
    summary: "The organization's API keys",
    tag: 'api-keys',
    auth: 'principal',
    permission: 'api-keys:manage',
    status: 200,
    response: Type.Array(I.ApiKeySchema),
  }),
  createApiKey: route({
    method: 'POST',
    path: '/api-keys',
    summary: 'Create a scoped API key (the secret is shown once)',
    tag: 'api-keys',
    auth: 'principal',
    permission: 'api-keys:manage',
    body: I.CreateApiKeyRequest,
    status: 201,
    response: I.CreatedApiKey,
  }),
  revokeApiKey: route({
    method: 'DELETE',
    path: '/api-keys/:id',
    summary: 'Revoke an API key at once',
    tag: 'api-keys',
    auth: 'principal',
    permission: 'api-keys:manage',
    params: C.IdParams,
    status: 204,
  }),
  // devices
  listDevices: route({
    method: 'GET',
    path: '/devices',
    summary: 'Devices, filtered and paginated',
    tag: 'devices',
    auth: 'principal',
    permission: 'devices:read',
    query: D.DeviceListQuery,
    status: 200,
    response: C.PageOf(D.DeviceSchema),
  }),
  createDevice: route({
    method: 'POST',
    path: '/devices',
    summary: 'Register a device',
    tag: 'devices',
    auth: 'principal',
    permission: 'devices:manage',
    body: D.CreateDeviceRequest,
    status: 201,
    response: D.DeviceSchema,
  }),
  getDevice: route({
    method: 'GET',
    path: '/devices/:id',
    summary: 'One device',
    tag: 'devices',
    auth: 'principal',
    permission: 'devices:read',
    params: C.IdParams,
    status: 200,
    response: D.DeviceSchema,
  }),
  updateDevice: route({
    method: 'PATCH',
    path: '/devices/:id',
    summary: 'Change a device (name, type, tags, mode, location, quarantine)',
    tag: 'devices',
    auth: 'principal',
    permission: 'devices:manage',
    params: C.IdParams,
    body: D.UpdateDeviceRequest,
    status: 200,
    response: D.DeviceSchema,
  }),
  decommissionDevice: route({
    method: 'POST',
    path: '/devices/:id/decommission',
    summary: 'Decommission a device: revokes all its certificates and keys',
    tag: 'devices',
    auth: 'principal',
    permission: 'devices:manage',
    params: C.IdParams,
    body: C.Empty,
    status: 200,
    response: D.DeviceSchema,
  }),
  createEnrollmentToken: route({
    method: 'POST',
    path: '/devices/:id/enrollment-tokens',
    summary: 'A one-time, expiring token with which the device enrolls its CSR',
    tag: 'pki',
    auth: 'principal',
    permission: 'devices:manage',
    params: C.IdParams,
    body: P.CreateEnrollmentTokenRequest,
    status: 201,
    response: P.EnrollmentTokenSchema,
  }),
  listCertificates: route({
    method: 'GET',
    path: '/devices/:id/certificates',
    summary: "A device's certificates, newest first",
    tag: 'pki',
    auth: 'principal',
    permission: 'devices:read',
    params: C.IdParams,
    status: 200,
    response: Type.Array(P.CertificateSchema),
  }),
  revokeCertificate: route({
    method: 'POST',
    path: '/devices/:id/certificates/:serial/revoke',
    summary: 'Revoke a device certificate at once (published in the CRL)',
    tag: 'pki',
    auth: 'principal',
    permission: 'devices:manage',
    params: P.SerialParams,
    body: P.RevokeRequest,
    status: 200,
    response: P.CertificateSchema,
  }),
  listDeviceKeys: route({
    method: 'GET',
    path: '/devices/:id/keys',
    summary: "A constrained device's keys",
    tag: 'pki',
    auth: 'principal',
    permission: 'devices:read',
    params: C.IdParams,
    status: 200,
    response: Type.Array(D.DeviceKeySchema),
  }),
  createDeviceKey: route({
    method: 'POST',
    path: '/devices/:id/keys',
    summary: 'A random device key for a device without a certificate (shown once)',
    tag: 'pki',
    auth: 'principal',
    permission: 'devices:manage',
    params: C.IdParams,
    body: C.Empty,
    status: 201,
    response: D.CreatedDeviceKey,
  }),
  revokeDeviceKey: route({
    method: 'DELETE',
    path: '/devices/:id/keys/:keyId',
    summary: 'Revoke a device key',
    tag: 'pki',
    auth: 'principal',
    permission: 'devices:manage',
    params: Type.Object({ id: C.Id, keyId: C.Id }, { additionalProperties: false }),
    status: 204,
  }),
  // device-facing PKI
  enroll: route({
    method: 'POST',
    path: '/enroll',
    summary: 'Device enrollment: one-time token + CSR → certificate',
    tag: 'pki',
    auth: 'none',
    body: P.EnrollRequest,
    status: 201,
    response: P.IssuedCertificateSchema,
  }),
  renewCertificate: route({
    method: 'POST',
    path: '/certificates/renew',
    summary: 'Renew a device certificate, authenticated by the current one (mutual TLS)',
    tag: 'pki',
    auth: 'device-cert',
    body: P.RenewRequest,
    status: 201,
    response: P.IssuedCertificateSchema,
  }),
  getCaBundle: route({
    method: 'GET',
    path: '/pki/ca',
    summary: "The organization's root and issuing CA and the hub's server CA",
    tag: 'pki',
    auth: 'principal',
    permission: 'devices:read',
    status: 200,
    response: P.CaBundleSchema,
  }),
  getCrl: route({
    method: 'GET',
    path: '/orgs/:id/crl',
    summary: "The organization's certificate revocation list (PEM, public)",
    tag: 'pki',
    auth: 'none',
    params: C.IdParams,
    status: 200,
    produces: 'application/x-pem-file',
  }),
  // locations
  listLocations: route({
    method: 'GET',
    path: '/locations',
    summary: 'The location tree (flat, parents first)',
    tag: 'locations',
    auth: 'principal',
    permission: 'devices:read',
    status: 200,
    response: Type.Array(D.LocationSchema),
  }),
  createLocation: route({
    method: 'POST',
    path: '/locations',
    summary: 'Add a site, building, floor or room',
    tag: 'locations',
    auth: 'principal',
    permission: 'devices:manage',
    body: D.CreateLocationRequest,
    status: 201,
    response: D.LocationSchema,
  }),
  getLocation: route({
    method: 'GET',
    path: '/locations/:id',
    summary: 'One location',
    tag: 'locations',
    auth: 'principal',
    permission: 'devices:read',
    params: C.IdParams,
    status: 200,
    response: D.LocationSchema,
  }),
  updateLocation: route({
    method: 'PATCH',
    path: '/locations/:id',
    summary: 'Rename or move a location',
    tag: 'locations',
    auth: 'principal',
    permission: 'devices:manage',
    params: C.IdParams,
    body: D.UpdateLocationRequest,
    status: 200,
    response: D.LocationSchema,
  }),
  deleteLocation: route({
    method: 'DELETE',
    path: '/locations/:id',
    summary: 'Delete an empty location',
    tag: 'locations',
    auth: 'principal',
    permission: 'devices:manage',
    params: C.IdParams,
    status: 204,
  }),
  // channels and messages
  listChannels: route({
    method: 'GET',
    path: '/channels',
    summary: "The organization's channels",
    tag: 'channels',
    auth: 'principal',
    permission: 'devices:read',
    query: Type.Object({ ...C.PageQuery }, { additionalProperties: false }),
    status: 200,
    response: C.PageOf(M.ChannelSchema),
  }),
  createChannel: route({
    method: 'POST',
    path: '/channels',
    summary: 'Create a channel (persisted unless told otherwise)',
    tag: 'channels',
    auth: 'principal',
    permission: 'devices:manage',
    body: M.CreateChannelRequest,
    status: 201,
    response: M.ChannelSchema,
  }),
  getChannel: route({
    method: 'GET',
    path: '/channels/:id',
    summary: 'One channel',
    tag: 'channels',
    auth: 'principal',
    permission: 'devices:read',
    params: C.IdParams,
    status: 200,
    response: M.ChannelSchema,
  }),
  updateChannel: route({
    method: 'PATCH',
    path: '/channels/:id',
    summary: 'Rename a channel or change its storage and retention',
    tag: 'channels',
    auth: 'principal',
    permission: 'devices:manage',
    params: C.IdParams,
    body: M.UpdateChannelRequest,
    status: 200,
    response: M.ChannelSchema,
  }),
  deleteChannel: route({
    method: 'DELETE',
    path: '/channels/:id',
    summary: 'Delete a channel, its connections and its stored messages',
    tag: 'channels',
    auth: 'principal',
    permission: 'devices:manage',
    params: C.IdParams,
    status: 204,
  }),
  listConnections: route({
    method: 'GET',
    path: '/channels/:id/connections',
    summary: 'Devices and applications connected to a channel',
    tag: 'channels',
    auth: 'principal',
    permission: 'devices:read',
    params: C.IdParams,
    status: 200,
    response: Type.Array(M.ConnectionSchema),
  }),
  connectClient: route({
    method: 'POST',
    path: '/channels/:id/connections',
    summary: 'Connect a device or API key to a channel with publish and/or subscribe rights',
    tag: 'channels',
    auth: 'principal',
    permission: 'devices:manage',
    params: C.IdParams,
    body: M.ConnectRequest,
    status: 200,
    response: M.ConnectionSchema,
  }),
  disconnectClient: route({
    method: 'DELETE',
    path: '/channels/:id/connections/:clientType/:clientId',
    summary: "Remove a client's rights on a channel",
    tag: 'channels',
    auth: 'principal',
    permission: 'devices:manage',
    params: M.ConnectionParams,
    status: 204,
  }),
  listMessages: route({
    method: 'GET',
    path: '/channels/:id/messages',
    summary: 'Stored messages by time range, publisher, subtopic or SenML name',
    tag: 'messages',
    auth: 'principal',
    permission: 'devices:read',
    params: C.IdParams,
    query: M.MessageQuerySchema,
    status: 200,
    response: C.PageOf(M.MessageSchema),
  }),
  aggregateMessages: route({
    method: 'GET',
    path: '/channels/:id/aggregate',
    summary: 'Time-bucket aggregation (min/max/avg/count/last) of a SenML value',
    tag: 'messages',
    auth: 'principal',
    permission: 'devices:read',
    params: C.IdParams,
    query: M.AggregateQuerySchema,
    status: 200,
    response: Type.Array(M.BucketSchema),
  }),
  publishMessage: route({
    method: 'POST',
    path: '/channels/:id/messages',
    summary: 'Device ingest: publish a message (device certificate or device key)',
    tag: 'messages',
    auth: 'device',
    params: C.IdParams,
    rawBody: true,
    status: 202,
    response: M.AcceptedSchema,
  }),
  publishSubtopic: route({
    method: 'POST',
    path: '/channels/:id/messages/*',
    summary: 'Device ingest to a subtopic',
    tag: 'messages',
    auth: 'device',
    params: M.IngestParams,
    rawBody: true,
    status: 202,
    response: M.AcceptedSchema,
  }),
  // audit
  listAudit: route({
    method: 'GET',
    path: '/audit',
    summary: "The organization's audit events, newest first",
    tag: 'audit',
    auth: 'principal',
    permission: 'audit:read',
    query: A.AuditQuery,
    status: 200,
    response: C.PageOf(A.AuditEventSchema),
  }),
} as const;

export type Routes = typeof ROUTES;
export type OperationId = keyof Routes;

type InputOf<R> = (R extends { params: infer S extends TSchema }
  ? { params: Static<S> }
  : unknown) &
  (R extends { query: infer S extends TSchema } ? { query?: Static<S> } : unknown) &
  (R extends { body: infer S extends TSchema } ? { body: Static<S> } : unknown) &
  (R extends { rawBody: true } ? { body: Uint8Array; contentType?: string } : unknown);
type OutputOf<R> = R extends { response: infer S extends TSchema }
  ? Static<S>
  : R extends { produces: string }
    ? string
    : void;
/** The input of an operation: path params, query and body, each present only where the route has one. */
export type OperationInput<Op extends OperationId> = InputOf<Routes[Op]>;
/** What an operation returns (void for 204, string for non-JSON bodies). */
export type OperationOutput<Op extends OperationId> = OutputOf<Routes[Op]>;
