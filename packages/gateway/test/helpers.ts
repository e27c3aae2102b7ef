/**
 * Gateway test rig: a real hub in-process on loopback (restartable on the same ports), an
 * organization with a site, a gateway enrolled as a device of type gateway and running beside its
 * agent, and site devices with their own certificates connecting to the gateway over MQTT/TLS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { Agent, DirFiles, SyntheticSystem } from '@bulwark/agent';
import { loadConfig, startHub, type Hub } from '@bulwark/hub';
import { createClient, generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import { Gateway } from '../src/gateway.js';
import { parseGatewayConfig } from '../src/config.js';

/** BULWARK_TEST_DEBUG=1 prints the agent's and the gateway's log. */
const debugLog =
  (who: string) =>
  (level: string, msg: string): void => {
    if (process.env['BULWARK_TEST_DEBUG']) process.stderr.write(`[${who} ${level}] ${msg}\n`);
  };

export const PASSWORD = 'a long and unguessable passphrase';

export interface TestHub {
  hub: Hub;
  dir: string;
  url: string;
  ca: string;
  caFile: string;
  mqttPort: number;
  client(token?: string): BulwarkClient;
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export function tempDir(prefix = 'bulwark-gw-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts a hub on `host` (default 127.0.0.1), any free ports, in a fresh temp dir. */
export async function startTestHub(
  host = '127.0.0.1',
  o: { relayTap?: (to: 'device' | 'operator', chunk: Buffer) => void } = {},
): Promise<TestHub> {
  const dir = tempDir('bulwark-gw-hub-');
  let running = true;
  const boot = (httpPort: number, mqttPort: number) =>
    startHub(
      loadConfig(
        [
          '--data-dir',
          dir,
          '--http-port',
          String(httpPort),
          '--mqtt-port',
          String(mqttPort),
          '--http-host',
          host,
          '--log-level',
          'warn',
        ],
        {},
      ),
      {
        print: () => undefined,
        logger: pino({ level: 'silent' }),
        ...(o.relayTap ? { relayTap: o.relayTap } : {}),
      },
    );
  const first = await boot(0, 0);
  const t: TestHub = {
    hub: first,
    dir,
    url: first.info.url,
    ca: readFileSync(first.info.caFile, 'utf8'),
    caFile: first.info.caFile,
    mqttPort: first.info.mqttPort,
    client: (token) => {
      const dispatcher = new UndiciAgent({ connect: { ca: t.ca } });
      const f = ((input: string, init?: RequestInit) =>
        undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch;
      return createClient({ baseUrl: t.url, ...(token ? { token } : {}), fetch: f });
    },
    async stop() {
      if (!running) return;
      running = false;
      await t.hub.stop();
    },
    async restart() {
      await t.stop();
      t.hub = await boot(Number(new URL(t.url).port), t.mqttPort);
      running = true;
    },
    async close() {
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Completes setup: the owner's token, an API key, a channel the site's devices publish to. */
export async function setupOrg(t: TestHub) {
  const anon = t.client();
  const setup = await anon.setup.complete({
    token: t.hub.setupToken!,
    organization: 'Acme',
    email: 'owner@example.com',
    name: 'Owner',
    password: PASSWORD,
  });
  const tokens = await anon.auth.login({ email: 'owner@example.com', password: PASSWORD });
  const owner = t.client(tokens.accessToken);
  const { key } = await owner.apiKeys.create({
    name: 'test',
    permissions: ['devices:read', 'devices:manage'],
  });
  const api = t.client(key);
  const channelId = (await api.call('createChannel', { body: { name: 'site-telemetry' } })).id;
  const site = await api.call('createLocation', { body: { name: 'plant-1', kind: 'site' } });
  return { orgId: setup.organization.id, owner, api, channelId, siteId: site.id };
}

/** A device registered in the organization, enrolled with its own key: its TLS material. */
export interface SiteDevice {
  deviceId: string;
  serial: string;
  keyPem: string;
  certPem: string;
  chain: string[];
}

export async function enrollDevice(
  t: TestHub,
  api: BulwarkClient,
  name: string,
  o: { type?: string; locationId?: string | null; channelId?: string; tags?: string[] } = {},
): Promise<SiteDevice> {
  const d = await api.devices.create({
    name,
    type: o.type ?? 'sensor',
    ...(o.locationId ? { locationId: o.locationId } : {}),
    ...(o.tags ? { tags: o.tags } : {}),
  });
  if (o.channelId)
    await api.call('connectClient', {
      params: { id: o.channelId },
      body: { clientType: 'device', clientId: d.id, publish: true, subscribe: false },
    });
  const { token } = await api.devices.createEnrollmentToken(d.id, {});
  const { keyPem, csrPem } = await generateDeviceKeyAndCsr();
  const issued = await t.client().enroll({ token, csr: csrPem });
  return {
    deviceId: d.id,
    serial: issued.serial,
    keyPem,
    certPem: issued.certificate,
    chain: issued.chain,
  };
}

/** A self-signed TLS server certificate for 127.0.0.1 and `ips` (the gateway's local broker). */
export function serverCert(
  dir: string,
  ips: string[] = [],
): { certFile: string; keyFile: string; pem: string } {
  const certFile = join(dir, 'broker-cert.pem');
  const keyFile = join(dir, 'broker-key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=gateway.local',
      '-addext',
      `subjectAltName=${['127.0.0.1', ...ips].map((ip) => `IP:${ip}`).join(',')}`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, pem: readFileSync(certFile, 'utf8') };
}

export interface RunningGateway {
  agent: Agent;
  gateway: Gateway;
  deviceId: string;
  port: number;
  brokerCa: string;
  dir: string;
  stop(): Promise<void>;
}

/** Registers a gateway device in the site, enrolls it through its agent and starts it. */
export async function startGateway(
  t: TestHub,
  api: BulwarkClient,
  siteId: string | null,
  gw: Record<string, unknown> = {},
): Promise<RunningGateway> {
  const d = await api.devices.create({
    name: `gw-${Math.random().toString(36).slice(2, 8)}`,
    type: 'gateway',
    ...(siteId ? { locationId: siteId } : {}),
  });
  const { token } = await api.devices.createEnrollmentToken(d.id, {});
  const dir = tempDir();
  const tls = serverCert(dir);
  writeFileSync(join(dir, 'hub-ca.pem'), t.ca);
  const config = parseGatewayConfig({
    hubUrl: t.url,
    mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
    caFile: t.caFile,
    stateDir: join(dir, 'state'),
    enrollment: { token },
    connection: { backoffMinMs: 50, backoffMaxMs: 500 },
    gateway: {
      broker: { host: '127.0.0.1', port: 0, certFile: tls.certFile, keyFile: tls.keyFile },
      syncIntervalSeconds: 3600,
      // No mDNS scan unless a test asks for one (on loopback): tests never query a real LAN.
      inventory: { enabled: false },
      ...gw,
    },
  });
  const agent = new Agent({
    config: config.agent,
    files: await DirFiles.open(config.agent.stateDir),
    system: new SyntheticSystem(),
    log: debugLog('agent'),
  });
  await agent.start();
  await agent.whenConnected(20_000);
  const gateway = await Gateway.start(agent, config, debugLog('gateway'));
  await waitFor(() => gateway.status().siteSyncs > 0, 'the first site sync');
  return {
    agent,
    gateway,
    deviceId: d.id,
    port: gateway.status().brokerPort!,
    brokerCa: tls.pem,
    dir,
    async stop() {
      await gateway.stop();
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An MQTT 5 client of a site device, connected to the gateway with its own certificate. */
export function connectDevice(
  g: { port: number; brokerCa: string },
  dev: Pick<SiteDevice, 'deviceId' | 'keyPem' | 'certPem' | 'chain'>,
): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtts://127.0.0.1:${g.port}`, {
    clientId: dev.deviceId,
    key: dev.keyPem,
    cert: dev.certPem + (dev.chain[0] ?? ''),
    ca: g.brokerCa,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 15_000,
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every stored message of a channel in the hub's order (received time, then id). */
export async function stored(api: BulwarkClient, channelId: string) {
  const out: { id: string; at: string; device: string; protocol: string; text: string }[] = [];
  for await (const m of api.channels.allMessages(channelId, { limit: 500 }))
    out.push({
      id: m.id,
      at: m.receivedAt,
      device: m.publisher.id,
      protocol: m.protocol,
      text: Buffer.from(m.payload, 'base64').toString('utf8'),
    });
  return out;
}

/**
 * Tries to connect a device to the gateway: 'connected' (and ends it), or the refusal — a TLS
 * failure or a refused CONNECT, seen as an error or the connection closing.
 */
export function tryConnect(
  g: { port: number; brokerCa: string },
  dev: Pick<SiteDevice, 'deviceId' | 'keyPem' | 'certPem' | 'chain'>,
): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(`mqtts://127.0.0.1:${g.port}`, {
      clientId: dev.deviceId,
      key: dev.keyPem,
      cert: dev.certPem + (dev.chain[0] ?? ''),
      ca: g.brokerCa,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    const done = (what: string) => {
      clearTimeout(timer);
      c.removeAllListeners();
      c.on('error', () => undefined);
      c.end(true);
      resolve(what);
    };
    const timer = setTimeout(() => done('timeout'), 8_000);
    c.once('connect', () => done('connected'));
    c.once('error', (err) => done(`refused: ${err.message}`));
    c.once('close', () => done('refused: closed'));
  });
}
