/**
 * What the nodes of a cluster share besides the database and the master key (decision 0021): the
 * bus and the domain events on NATS JetStream, and the firmware images in JetStream's object
 * store — all under the deployment's prefix, over TLS and with credentials when configured. One
 * node alone uses the in-process bus and events and keeps images in its data dir.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { BulwarkError } from '@bulwark/protocol';
import {
  connectionOptions,
  createNatsBlobStore,
  createNatsBus,
  createNatsEvents,
  deploymentNames,
  type DeploymentNames,
  type NatsConnectOptions,
} from '@bulwark/bus-nats';
import {
  createMemoryBus,
  createMemoryEvents,
  type BlobStore,
  type Bus,
  type DomainEvents,
} from '@bulwark/core';
import { FsBlobStore } from './blob-store.js';
import { ConfigError, type HubConfig } from './config.js';

/** The NATS settings of a cluster node. */
export interface NatsSettings {
  connect: NatsConnectOptions;
  names: DeploymentNames;
  replicas: number;
}

type NatsConfig = Pick<
  HubConfig,
  | 'bus'
  | 'natsPrefix'
  | 'natsReplicas'
  | 'natsTlsCa'
  | 'natsTlsCert'
  | 'natsTlsKey'
  | 'natsUser'
  | 'natsPassword'
  | 'natsToken'
  | 'natsCreds'
>;

/** The NATS flags given a value other than their default, for the "needs NATS" refusal. */
function natsFlagsGiven(c: NatsConfig): string[] {
  const given: Array<[string, boolean]> = [
    ['--nats-prefix', c.natsPrefix !== 'bulwark'],
    ['--nats-replicas', c.natsReplicas !== 1],
    ['--nats-tls-ca', c.natsTlsCa !== ''],
    ['--nats-tls-cert', c.natsTlsCert !== ''],
    ['--nats-tls-key', c.natsTlsKey !== ''],
    ['--nats-user', c.natsUser !== ''],
    ['--nats-password', c.natsPassword !== ''],
    ['--nats-token', c.natsToken !== ''],
    ['--nats-creds', c.natsCreds !== ''],
  ];
  return given.filter(([, g]) => g).map(([f]) => f);
}

const readable = (path: string, flag: string): string => {
  try {
    readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${flag} ${path}: cannot read it (${(err as Error).message})`);
  }
  return path;
};

/**
 * The NATS settings from the config, or undefined for `--bus memory`. Refuses NATS flags without
 * a NATS bus (they would be silently ignored), unreadable files, a bad prefix, a half-given client
 * certificate and two kinds of credentials.
 */
export function natsSettings(config: NatsConfig): NatsSettings | undefined {
  if (config.bus === 'memory') {
    const given = natsFlagsGiven(config);
    if (given.length > 0)
      throw new ConfigError(`${given.join(', ')} need a NATS bus (--bus nats://host:port)`);
    return undefined;
  }
  if (!/^(nats|tls):\/\//.test(config.bus))
    throw new ConfigError(
      `--bus ${JSON.stringify(config.bus)}: use memory or nats://host:port (tls://host:port)`,
    );
  let names: DeploymentNames;
  try {
    names = deploymentNames(config.natsPrefix);
  } catch (err) {
    throw new ConfigError(`--nats-prefix: ${(err as Error).message}`);
  }
  const tls =
    config.natsTlsCa || config.natsTlsCert || config.natsTlsKey
      ? {
          ...(config.natsTlsCa ? { caFile: readable(config.natsTlsCa, '--nats-tls-ca') } : {}),
          ...(config.natsTlsCert
            ? { certFile: readable(config.natsTlsCert, '--nats-tls-cert') }
            : {}),
          ...(config.natsTlsKey ? { keyFile: readable(config.natsTlsKey, '--nats-tls-key') } : {}),
        }
      : undefined;
  const connect: NatsConnectOptions = {
    servers: config.bus,
    ...(tls ? { tls } : {}),
    ...(config.natsUser ? { user: config.natsUser } : {}),
    ...(config.natsPassword ? { password: config.natsPassword } : {}),
    ...(config.natsToken ? { token: config.natsToken } : {}),
    ...(config.natsCreds
      ? { creds: readFileSync(readable(config.natsCreds, '--nats-creds')) }
      : {}),
  };
  try {
    connectionOptions(connect); // the client's own checks, now, with the flags' names
  } catch (err) {
    throw new ConfigError(
      `${(err as Error).message} (--nats-user/--nats-password, --nats-token, --nats-creds, --nats-tls-cert/--nats-tls-key)`,
    );
  }
  return { connect, names, replicas: config.natsReplicas };
}

/** The bus: in-process for one node, the deployment's JetStream stream for a cluster. */
export async function openBus(nats: NatsSettings | undefined, nodeId: string): Promise<Bus> {
  if (!nats) return createMemoryBus();
  return createNatsBus({
    ...nats.connect,
    name: `bulwark-hub-${nodeId}`,
    stream: nats.names.messagesStream,
    subjectPrefix: nats.names.messagesSubject,
    replicas: nats.replicas,
  });
}

/** The domain-events port: in-process for one node, the deployment's events stream for a cluster. */
export async function openEvents(
  nats: NatsSettings | undefined,
  nodeId: string,
  log: Logger,
): Promise<DomainEvents> {
  if (nats)
    return createNatsEvents({
      ...nats.connect,
      nodeId,
      stream: nats.names.eventsStream,
      subjectPrefix: nats.names.eventsSubject,
      replicas: nats.replicas,
      onError: (err) => log.warn({ err }, 'domain events'),
    });
  return createMemoryEvents({
    nodeId,
    onError: (err, e) => log.warn({ err, event: e.type }, 'event listener failed'),
  });
}

/** The firmware image store the hub uses, and how to release it. */
export interface OpenedBlobs {
  store: BlobStore;
  /** `fs <dir>` or `nats <bucket>`, for the start banner and logs. */
  describe: string;
  close(): Promise<void>;
}

/** The image store `--blobs` names (auto: the object store with a NATS bus, else the data dir). */
export async function openBlobs(
  config: Pick<HubConfig, 'blobs' | 'dataDir'>,
  nats: NatsSettings | undefined,
  nodeId: string,
  log?: Logger,
): Promise<OpenedBlobs> {
  const mode = config.blobs === 'auto' ? (nats ? 'nats' : 'fs') : config.blobs;
  if (mode === 'fs') {
    const dir = join(config.dataDir, 'blobs');
    return { store: new FsBlobStore(dir), describe: `fs ${dir}`, close: async () => undefined };
  }
  if (mode !== 'nats')
    throw new ConfigError(`--blobs ${JSON.stringify(config.blobs)}: use auto, fs or nats`);
  if (!nats) throw new ConfigError('--blobs nats needs a NATS bus (--bus nats://host:port)');
  const store = await createNatsBlobStore({
    ...nats.connect,
    name: `bulwark-blobs-${nodeId}`,
    bucket: nats.names.blobsBucket,
    replicas: nats.replicas,
  });
  try {
    const { copied, refused } = await importLocalBlobs(join(config.dataDir, 'blobs'), store);
    if (copied.length > 0) log?.info({ images: copied }, 'images copied from the data dir to NATS');
    if (refused.length > 0)
      log?.warn({ images: refused }, 'images in the data dir that fail their hash: not copied');
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return { store, describe: `nats ${nats.names.blobsBucket}`, close: () => store.close() };
}

/**
 * Copies the images a node kept in its data dir before the cluster stored them in NATS (an
 * upgrade) into `store`, verified like any upload; images already there are skipped. The files
 * stay: the operator removes `DIR/blobs` once every node has started. Returns the keys copied,
 * and those refused because the file no longer matches its name (damaged on disk).
 */
export async function importLocalBlobs(
  dir: string,
  store: BlobStore,
): Promise<{ copied: string[]; refused: string[] }> {
  const copied: string[] = [];
  const refused: string[] = [];
  if (!existsSync(dir)) return { copied, refused };
  const local = new FsBlobStore(dir);
  for (const sub of readdirSync(dir)) {
    if (!/^[0-9a-f]{2}$/.test(sub)) continue; // tmp/ holds unverified partial writes
    for (const key of readdirSync(join(dir, sub))) {
      if (!/^[0-9a-f]{64}$/.test(key) || (await store.stat(key))) continue;
      const data = await local.get(key);
      if (!data) continue;
      try {
        await store.put(data, { length: statSync(join(dir, sub, key)).size, sha256: key });
        copied.push(key);
      } catch (err) {
        if (!(err instanceof BulwarkError && err.code.startsWith('firmware_'))) throw err;
        refused.push(key);
      }
    }
  }
  return { copied, refused };
}
