/**
 * Firmware-cache test rig: a TCP proxy in front of the hub's HTTPS port that counts the bytes the
 * hub sends (the hub side of the uplink), an organization's signing keys and signed artifacts, a
 * gateway with its cache on whose hub URL is that proxy, and HTTPS downloads with a device's own
 * certificate.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request, Agent as HttpsAgent } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  createRelease,
  createRoot,
  expiryAfter,
  generateSigningKey,
  signMetadata,
} from '@bulwark/firmware';
import { Agent, DirFiles, SyntheticSystem } from '@bulwark/agent';
import type { BulwarkClient } from '@bulwark/sdk';
import { Gateway } from '../src/gateway.js';
import { parseGatewayConfig } from '../src/config.js';
import { serverCert, tempDir, waitFor, type RunningGateway, type TestHub } from './helpers.js';

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A TCP proxy to the hub's `port` on `host` counting the bytes from the hub to its clients. */
export async function countingProxy(port: number, host = '127.0.0.1') {
  const sockets = new Set<Socket>();
  const p = {
    fromHub: 0,
    port: 0,
    server: undefined as unknown as Server,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => p.server.close(() => r()));
    },
  };
  p.server = createServer((client) => {
    const hub = connect(port, host);
    sockets.add(client).add(hub);
    hub.on('data', (c: Buffer) => (p.fromHub += c.byteLength));
    client.pipe(hub).pipe(client);
    const end = () => {
      client.destroy();
      hub.destroy();
      sockets.delete(client);
      sockets.delete(hub);
    };
    client.on('error', end).on('close', end);
    hub.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => p.server.listen(0, host, () => r()));
  p.port = (p.server.address() as { port: number }).port;
  return p;
}

const doc = (m: { toJSON(): unknown }) =>
  JSON.parse(JSON.stringify(m.toJSON())) as { signed: Record<string, unknown>; signatures: [] };

/** Pushes a fresh root; `artifact` signs, creates and uploads an image (ready). */
export async function firmwarePublisher(owner: BulwarkClient) {
  const rootKey = generateSigningKey('ed25519');
  const releaseKey = generateSigningKey('ed25519');
  const root = doc(
    signMetadata(
      createRoot({
        version: 1,
        expires: expiryAfter(365 * 86400),
        rootKeys: [rootKey.publicKey],
        rootThreshold: 1,
        releaseKeys: [releaseKey.publicKey],
        releaseThreshold: 1,
      }),
      [rootKey],
    ),
  );
  await owner.firmware.pushRoot(root);
  let counter = 10;
  return {
    async artifact(bytes: number, types = ['sensor'], version = `2.0.${counter}`) {
      const image = randomBytes(bytes);
      const meta = doc(
        signMetadata(
          createRelease({
            name: `fw-${version}.img`,
            types,
            hardware: [],
            version,
            releaseCounter: ++counter,
            length: image.byteLength,
            sha256: sha256(image),
            expires: expiryAfter(30 * 86400),
          }),
          [releaseKey],
        ),
      );
      const a = await owner.firmware.create(meta);
      await owner.firmware.uploadImage(a.id, image);
      return { id: a.id, image, sha256: sha256(image) };
    },
  };
}

export interface CacheGateway extends RunningGateway {
  cachePort: number;
}

/** A gateway in the site whose hub is reached through `hubUrl` (the counting proxy), cache on. */
export async function startCacheGateway(
  t: TestHub,
  api: BulwarkClient,
  siteId: string,
  hubUrl: string,
  cache: Record<string, unknown> = {},
): Promise<CacheGateway> {
  const d = await api.devices.create({ name: 'gw-cache', type: 'gateway', locationId: siteId });
  const { token } = await api.devices.createEnrollmentToken(d.id, {});
  const dir = tempDir();
  const tls = serverCert(dir);
  const config = parseGatewayConfig({
    hubUrl,
    mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
    caFile: t.caFile,
    stateDir: join(dir, 'state'),
    enrollment: { token },
    connection: { backoffMinMs: 50, backoffMaxMs: 500 },
    gateway: {
      broker: { host: '127.0.0.1', port: 0, certFile: tls.certFile, keyFile: tls.keyFile },
      syncIntervalSeconds: 3600,
      inventory: { enabled: false },
      cache: { enabled: true, host: '127.0.0.1', port: 0, ...cache },
    },
  });
  const agent = new Agent({
    config: config.agent,
    files: await DirFiles.open(config.agent.stateDir),
    system: new SyntheticSystem(),
  });
  await agent.start();
  await agent.whenConnected(20_000);
  const gateway = await Gateway.start(agent, config, () => undefined);
  await waitFor(() => gateway.status().siteSyncs > 0, 'the first site sync');
  writeFileSync(join(dir, 'cache-ca.pem'), tls.pem);
  return {
    agent,
    gateway,
    deviceId: d.id,
    port: gateway.status().brokerPort!,
    cachePort: gateway.status().cache!.port!,
    brokerCa: tls.pem,
    dir,
    async stop() {
      await gateway.stop();
      await agent.stop();
    },
  };
}

/** A device's TLS identity for a download. */
export interface DeviceTls {
  keyPem: string;
  certPem: string;
  chain: string[];
}

export interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The connection (kept open when `keepAlive` was given). */
  socket: Socket;
}

/** One GET to the cache as `dev` (a raw path: nothing normalizes it), with its own TLS session. */
export function cacheGet(
  g: { cachePort: number; brokerCa: string },
  dev: DeviceTls,
  path: string,
  headers: Record<string, string> = {},
  keepAlive?: HttpsAgent,
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const agent = keepAlive ?? new HttpsAgent({ keepAlive: false, maxCachedSessions: 0 });
    const req = request(
      {
        host: '127.0.0.1',
        port: g.cachePort,
        path,
        method: 'GET',
        headers,
        ca: g.brokerCa,
        key: dev.keyPem,
        cert: dev.certPem + (dev.chain[0] ?? ''),
        agent,
        timeout: 60_000,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          if (keepAlive === undefined) agent.destroy();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
            socket: socket!,
          });
        });
        res.on('error', reject);
      },
    );
    let socket: Socket | undefined;
    req.on('socket', (sock: Socket) => (socket = sock));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => {
      if (keepAlive === undefined) agent.destroy();
      reject(err);
    });
    req.end();
  });
}

/** Runs `f` over `items`, `n` at a time. */
export async function pool<T, R>(items: T[], n: number, f: (x: T, i: number) => Promise<R>) {
  const out: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]!, i);
      }
    }),
  );
  return out;
}
