/**
 * Helpers of the local-port tests: an in-process hub that issues real tickets, a device enrolled
 * on it, a LocalPortHost backed by that device's key and chain, and a line client over TLS.
 */
import { connect, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import type { Hub } from '@bulwark/hub';
import type { DeviceEvent, TwinValue } from '@bulwark/protocol';
import type { AgentFiles, LocalPortHost } from '../src/ports.js';
import { FakeClock, PASSWORD, startTestHub as startAgentTestHub } from './helpers.js';

export { PASSWORD };

/** AgentFiles in a Map (what a reboot keeps: the same instance handed to a new server). */
export class MapFiles implements AgentFiles {
  readonly map = new Map<string, Uint8Array>();
  failWrites = false;
  async read(name: string) {
    const v = this.map.get(name);
    return v && new Uint8Array(v);
  }
  async write(name: string, data: Uint8Array) {
    if (this.failWrites)
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    this.map.set(name, new Uint8Array(data));
  }
  async remove(name: string) {
    this.map.delete(name);
  }
  async list(prefix: string) {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async wipe() {
    this.map.clear();
  }
}

/** A hub on 127.0.0.1 (any free port, temp dir) with its owner signed in. */
export interface TestHub {
  hub: Hub;
  url: string;
  orgId: string;
  userId: string;
  /** The owner (access token): may issue every level. */
  owner: BulwarkClient;
  anon: BulwarkClient;
  client(token: string): BulwarkClient;
  close(): Promise<void>;
}

export async function startTestHub(): Promise<TestHub> {
  const base = await startAgentTestHub();
  const anon = base.client();
  const setup = await anon.setup.complete({
    token: base.hub.setupToken!,
    organization: 'Acme',
    email: 'owner@example.com',
    name: 'Owner',
    password: PASSWORD,
  });
  const tokens = await anon.auth.login({ email: 'owner@example.com', password: PASSWORD });
  return {
    hub: base.hub,
    url: base.url,
    orgId: setup.organization.id,
    userId: setup.user.id,
    owner: base.client(tokens.accessToken),
    anon,
    client: (token) => base.client(token),
    close: () => base.close(),
  };
}

/** A device registered and enrolled through the hub: its key, certificate and chain. */
export interface EnrolledDevice {
  id: string;
  orgId: string;
  keyPem: string;
  certPem: string;
  /** Issuing CA, then root CA (PEM). */
  chain: string[];
}

export async function enrollDevice(api: BulwarkClient, anon: BulwarkClient, name: string) {
  const device = await api.devices.create({ name, type: 'rpi4' });
  const { token } = await api.devices.createEnrollmentToken(device.id, {});
  const { keyPem, csrPem } = await generateDeviceKeyAndCsr();
  const issued = await anon.enroll({ token, csr: csrPem });
  return {
    id: device.id,
    orgId: issued.organizationId,
    keyPem,
    certPem: issued.certificate,
    chain: issued.chain,
  } satisfies EnrolledDevice;
}

/** A LocalPortHost on an enrolled device's credentials, recording what the port does. */
export class TestHost implements LocalPortHost {
  readonly deviceId: string;
  readonly orgId: string;
  readonly clock = new FakeClock();
  files = new MapFiles();
  readonly events: DeviceEvent[] = [];
  readonly revoked = new Set<string>();
  readonly params = new Map<string, TwinValue>([
    ['logging.level', 'info'],
    ['sampling.intervalSeconds', 30],
    ['network.hostname', 'dev-1'],
  ]);
  reboots = 0;
  resets = 0;

  constructor(private readonly device: EnrolledDevice) {
    this.deviceId = device.id;
    this.orgId = device.orgId;
  }
  tlsCredentials() {
    return { key: this.device.keyPem, cert: this.device.certPem + this.device.chain.join('') };
  }
  ticketIssuers() {
    return [this.device.chain[0] ?? ''];
  }
  revokedTickets(): ReadonlySet<string> {
    return this.revoked;
  }
  getParam(path: string) {
    return this.params.get(path);
  }
  listParams() {
    return Object.fromEntries(this.params);
  }
  async setParam(path: string, value: TwinValue) {
    if (path === 'sampling.intervalSeconds' && (typeof value !== 'number' || value < 1))
      throw new Error('must be a number of seconds, at least 1');
    if (!this.params.has(path)) throw new Error(`no parameter '${path}'`);
    this.params.set(path, value);
  }
  async reboot() {
    this.reboots++;
  }
  async factoryReset() {
    this.resets++;
  }
  report(event: DeviceEvent) {
    this.events.push(event);
  }
  /** The `detail.action` of every reported event, in order. */
  actions(): string[] {
    return this.events.map((e) =>
      typeof e.detail['action'] === 'string' ? e.detail['action'] : '',
    );
  }
}

/** Reads replies line by line from a TLS connection to the port. */
export class LineClient {
  #buf = '';
  #waiters: Array<() => void> = [];
  #ended = false;
  readonly raw: Buffer[] = [];

  private constructor(readonly socket: TLSSocket) {
    socket.on('data', (d: Buffer) => {
      this.raw.push(d);
      this.#buf += d.toString('latin1');
      this.#wake();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  #wake() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /**
   * Connects, checking that the server presents the device's certificate chained to the
   * organization's CA (the device certificate names the device, not a host name).
   */
  static async connect(port: number, device: EnrolledDevice): Promise<LineClient> {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const peer = socket.getPeerCertificate(true);
    const leaf = new X509Certificate(peer.raw);
    const issuing = new X509Certificate(device.chain[0] ?? '');
    if (!leaf.verify(issuing.publicKey) || !leaf.subject.includes(device.id)) {
      socket.destroy();
      throw new Error('the local port did not present the device certificate');
    }
    return new LineClient(socket);
  }

  /** The next line (without CRLF), waiting at most `ms`. Rejects on close or timeout. */
  async line(ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl !== -1) {
        const line = this.#buf.slice(0, nl).replace(/\r$/, '');
        this.#buf = this.#buf.slice(nl + 1);
        return line;
      }
      if (this.#ended) throw new Error(`connection closed (pending: ${JSON.stringify(this.#buf)})`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no line within ${ms} ms (pending: ${JSON.stringify(this.#buf)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until `n` bytes beyond what lines consumed are buffered, and takes them. */
  async bytes(n: number, ms = 5000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (this.#buf.length < n) {
      if (this.#ended) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.#buf.length} of ${n} bytes within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const out = Buffer.from(this.#buf.slice(0, n), 'latin1');
    this.#buf = this.#buf.slice(n);
    return out;
  }

  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  /** Sends a line and returns the reply line. */
  async ask(line: string, ms = 5000): Promise<string> {
    this.send(line);
    return this.line(ms);
  }

  /** Resolves when the server has closed the connection. */
  async closed(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.#ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the server did not close the connection');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
