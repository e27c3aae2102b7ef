/**
 * How a hub node reaches NATS: server URLs plus TLS (a private CA, a client certificate) and
 * credentials (user and password, a token, or a `.creds` file), shared by the bus, the domain
 * events and the blob store; and the names a deployment uses on a NATS it may share with others.
 */
import { BulwarkError } from '@bulwark/protocol';
import {
  connect,
  credsAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

/** Where NATS is and how to authenticate to it. */
export interface NatsConnectOptions {
  /** NATS server URL(s), comma-separated: `nats://127.0.0.1:4222` (`tls://…` requires TLS). */
  servers: string;
  /** Connection name shown by the NATS server. */
  name?: string;
  /** TLS: a PEM CA bundle file to verify the server with, and a client certificate and key. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** User and password authentication. */
  user?: string;
  password?: string;
  /** Token authentication. */
  token?: string;
  /**
   * The contents of a NATS `.creds` file (user JWT and nkey seed) for decentralized
   * authentication; the caller reads the file (this package touches no files).
   */
  creds?: Uint8Array;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Server URLs with any credentials masked, for messages. */
export const redactServers = (servers: readonly string[]): string =>
  servers.map((s) => s.replace(/\/\/[^@/]*@/, '//***@')).join(', ');

/** The URL list of `servers`, trimmed, empty entries dropped. */
export const serverList = (servers: string): string[] =>
  servers
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * The client options for `opts`. Refuses, naming the setting, a half-given client certificate and
 * more than one kind of credential (the client would silently pick one).
 */
export function connectionOptions(opts: NatsConnectOptions): ConnectionOptions {
  const kinds = [
    opts.user !== undefined || opts.password !== undefined ? 'user/password' : undefined,
    opts.token !== undefined ? 'token' : undefined,
    opts.creds !== undefined ? 'creds file' : undefined,
  ].filter((k) => k !== undefined);
  if (kinds.length > 1) {
    throw new RangeError(`NATS: give one kind of credential, not ${kinds.join(' and ')}`);
  }
  if (opts.password !== undefined && opts.user === undefined) {
    throw new RangeError('NATS: a password needs a user');
  }
  const tls = opts.tls;
  if (tls && (tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new RangeError('NATS: a client certificate and its key go together');
  }
  const servers = serverList(opts.servers);
  const wantsTls = tls !== undefined || servers.some((s) => s.startsWith('tls://'));
  return {
    servers,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    // Once connected, keep reconnecting forever: a hub outlives broker restarts. Requests made
    // meanwhile fail on their timeouts, never silently.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    ...(wantsTls ? { tls: { ...tls } } : {}),
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    ...(opts.password !== undefined ? { pass: opts.password } : {}),
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.creds !== undefined ? { authenticator: credsAuthenticator(opts.creds) } : {}),
  };
}

/**
 * Connects to NATS; rejects with a BulwarkError `unavailable` naming the servers (credentials
 * masked) and the reason when it cannot. `what` names the part connecting, for the message.
 */
export async function connectNats(opts: NatsConnectOptions, what: string): Promise<NatsConnection> {
  const where = redactServers(serverList(opts.servers));
  try {
    return await connect(connectionOptions(opts));
  } catch (err) {
    throw new BulwarkError(
      'unavailable',
      `${what}: cannot connect to NATS at ${where}: ${messageOf(err)}`,
      { cause: err },
    );
  }
}

/** The JetStream names one deployment uses, derived from its prefix (see `deploymentNames`). */
export interface DeploymentNames {
  messagesStream: string;
  messagesSubject: string;
  eventsStream: string;
  eventsSubject: string;
  /** Object store bucket of firmware images (its stream is `OBJ_<bucket>`). */
  blobsBucket: string;
}

/** The default deployment prefix: the names every release before prefixes used. */
export const DEFAULT_DEPLOYMENT_PREFIX = 'bulwark';

/**
 * Lower-case letters, digits, `-` and `_`: valid in stream and bucket names and as a subject
 * token, and upper-casing it for stream names cannot make two prefixes collide.
 */
const PREFIX = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/**
 * The streams, subjects and bucket of the deployment `prefix`, so several deployments can share
 * one NATS without seeing each other's messages: `bulwark` (the default) gives `BULWARK_MESSAGES`
 * on `bulwark.msg.>`, `BULWARK_EVENTS` on `bulwark.evt.>` and the bucket `BULWARK_BLOBS`.
 */
export function deploymentNames(prefix: string = DEFAULT_DEPLOYMENT_PREFIX): DeploymentNames {
  if (!PREFIX.test(prefix)) {
    throw new RangeError(
      `NATS prefix '${prefix}': use 1-32 lower-case letters, digits, '-' or '_', starting with a letter or digit`,
    );
  }
  const up = prefix.toUpperCase();
  return {
    messagesStream: `${up}_MESSAGES`,
    messagesSubject: `${prefix}.msg`,
    eventsStream: `${up}_EVENTS`,
    eventsSubject: `${prefix}.evt`,
    blobsBucket: `${up}_BLOBS`,
  };
}

/**
 * Deletes a deployment's streams and object store bucket from NATS — everything it kept there —
 * and returns the names deleted. For decommissioning a deployment and for tests; never called by
 * the hub.
 */
export async function removeDeployment(
  opts: NatsConnectOptions,
  prefix: string,
): Promise<string[]> {
  const n = deploymentNames(prefix);
  const nc = await connectNats(opts, 'remove deployment');
  const deleted: string[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    for (const stream of [n.messagesStream, n.eventsStream, `OBJ_${n.blobsBucket}`]) {
      if (await jsm.streams.delete(stream).catch(() => false)) deleted.push(stream);
    }
  } finally {
    await nc.close();
  }
  return deleted;
}
