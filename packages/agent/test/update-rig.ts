/**
 * The rig of the agent install-path tests: a real hub (enrollment, the firmware repository, image
 * downloads over mutual TLS with Range), the test playing the hub's update plane on an in-process
 * broker (offers in, statuses out), signing keys generated per run, and a loopback TCP proxy in
 * front of the hub's HTTPS that counts bytes and can cut or stall the connections.
 */
import { createHash } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  createRelease,
  createRoot,
  expiryAfter,
  generateSigningKey,
  signMetadata,
  type ReleaseSpec,
  type SigningKey,
} from '@bulwark/firmware';
import {
  updateTopic,
  type InstalledFirmware,
  type UpdateInstallOffer,
  type UpdateStatusReport,
} from '@bulwark/protocol';
import type { BulwarkClient } from '@bulwark/sdk';
import { DirectorySlots } from '../src/update/directory-slots.js';
import {
  PASSWORD,
  setupOwner,
  startPlayHub,
  startTestHub,
  type PlayHub,
  type TestHub,
} from './helpers.js';
import { makeImage } from './update-fixtures.js';

export const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;

/** The factory image of the rig's devices: version 1.0.0, release counter 5. */
export const FACTORY_IMAGE = makeImage(64 * 1024, 3);
export const FACTORY = {
  version: '1.0.0',
  counter: 5,
  sha256: sha(FACTORY_IMAGE),
  length: FACTORY_IMAGE.byteLength,
};
export const DEVICE_TYPE = 'sensor';
export const HARDWARE = 'rev-a';

/** Keys and documents of one organization's firmware signing. */
export class Signing {
  readonly rootKey = generateSigningKey('ed25519');
  readonly releaseKey = generateSigningKey('p256');
  readonly strangerKey = generateSigningKey('ed25519');

  rootDoc(keys: { root?: SigningKey; release?: SigningKey } = {}): Record<string, unknown> {
    const root = keys.root ?? this.rootKey;
    return json(
      signMetadata(
        createRoot({
          version: 1,
          expires: expiryAfter(365 * 86400),
          rootKeys: [root.publicKey],
          rootThreshold: 1,
          releaseKeys: [(keys.release ?? this.releaseKey).publicKey],
          releaseThreshold: 1,
        }),
        [root],
      ).toJSON(),
    );
  }

  readonly nextRootKey = generateSigningKey('ed25519');
  readonly nextReleaseKey = generateSigningKey('ed25519');

  /** Root version 2: new root and release keys, signed by the old root key and the new one. */
  rotatedRootDoc(): Record<string, unknown> {
    return json(
      signMetadata(
        createRoot({
          version: 2,
          expires: expiryAfter(365 * 86400),
          rootKeys: [this.nextRootKey.publicKey],
          rootThreshold: 1,
          releaseKeys: [this.nextReleaseKey.publicKey],
          releaseThreshold: 1,
        }),
        [this.rootKey, this.nextRootKey],
      ).toJSON(),
    );
  }

  /** Signed release metadata (JSON text) for `image`, fields overridable. */
  release(image: Uint8Array, over: Partial<ReleaseSpec> = {}, key?: SigningKey): string {
    const spec: ReleaseSpec = {
      name: 'fw.img',
      types: [DEVICE_TYPE],
      hardware: [HARDWARE],
      version: '2.0.0',
      releaseCounter: 6,
      length: image.byteLength,
      sha256: sha(image),
      expires: expiryAfter(30 * 86400),
      ...over,
    };
    return JSON.stringify(signMetadata(createRelease(spec), [key ?? this.releaseKey]).toJSON());
  }
}

/** A loopback TCP proxy to `port` that counts the bytes coming back and can cut or stall them. */
export class Proxy {
  bytesDown = 0;
  /** Connections accepted so far. */
  connections = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Cut every connection once this many bytes came down (then forget it). */
  cutAtBytes: number | undefined;
  /** Hold the bytes coming down (a stalled link) while true. */
  stalled = false;
  private held: (() => void)[] = [];
  port = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      this.connections++;
      const up = connect(this.target, '127.0.0.1');
      this.sockets.add(client).add(up);
      const drop = () => {
        client.destroy();
        up.destroy();
        this.sockets.delete(client);
        this.sockets.delete(up);
      };
      client.on('error', drop).on('close', drop);
      up.on('error', drop).on('close', drop);
      client.pipe(up);
      up.on('data', (d: Buffer) => {
        const send = () => {
          this.bytesDown += d.length;
          if (this.cutAtBytes !== undefined && this.bytesDown >= this.cutAtBytes) {
            this.cutAtBytes = undefined;
            drop();
            return;
          }
          client.write(d);
        };
        if (this.stalled) {
          up.pause();
          this.held.push(() => {
            send();
            up.resume();
          });
        } else send();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Lets the held bytes go. */
  release(): void {
    this.stalled = false;
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** The hub, the play broker, an owner session and the org's pushed root. */
export interface Rig {
  hub: TestHub;
  play: PlayHub;
  owner: BulwarkClient;
  api: BulwarkClient;
  signing: Signing;
  close(): Promise<void>;
  /** Registers a device; returns its id and an enrollment token. */
  device(name: string): Promise<{ deviceId: string; token: string }>;
  /** Uploads `image` with metadata for it; returns the artifact id, image path, length, hash. */
  artifact(
    image: Uint8Array,
    over?: Partial<ReleaseSpec>,
  ): Promise<{ id: string; imagePath: string; metadata: string; length: number; sha256: string }>;
  /** An install offer (root: the org's; deadline in 10 minutes). */
  offer(
    jobId: string,
    a: { id: string; imagePath: string; metadata: string; length: number; sha256: string },
    over?: Partial<UpdateInstallOffer>,
  ): UpdateInstallOffer;
  send(deviceId: string, jobId: string, offer: unknown): void;
  statuses(deviceId: string, jobId: string): UpdateStatusReport[];
  installed(deviceId: string): InstalledFirmware[];
}

export async function startRig(): Promise<Rig> {
  const hub = await startTestHub();
  const play = await startPlayHub();
  const s = await setupOwner(hub);
  const tokens = await hub.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
  const owner = hub.client(tokens.accessToken);
  const signing = new Signing();
  await owner.firmware.pushRoot(signing.rootDoc() as never);
  const rootText = JSON.stringify(signing.rootDoc());
  const rig: Rig = {
    hub,
    play,
    owner,
    api: s.api,
    signing,
    async close() {
      await play.stop();
      await hub.close();
    },
    async device(name) {
      const d = await s.api.devices.create({ name, type: DEVICE_TYPE });
      const { token } = await s.api.devices.createEnrollmentToken(d.id, {});
      return { deviceId: d.id, token };
    },
    async artifact(image, over = {}) {
      const metadata = signing.release(image, over);
      const a = await owner.firmware.create(JSON.parse(metadata) as never);
      await owner.firmware.uploadImage(a.id, image);
      return {
        id: a.id,
        imagePath: `/api/v1/firmware/artifacts/${a.id}/image`,
        metadata,
        length: a.length,
        sha256: a.sha256,
      };
    },
    offer(jobId, a, over = {}) {
      return {
        action: 'install',
        id: jobId,
        artifactId: a.id,
        metadata: a.metadata,
        root: rootText,
        imagePath: a.imagePath,
        // As the hub sends it (protocol's UpdateInstallOffer schema): from the signed metadata.
        length: a.length,
        sha256: a.sha256,
        deadline: new Date(Date.now() + 600_000).toISOString(),
        ...over,
      };
    },
    send(deviceId, jobId, offer) {
      play.send(updateTopic.offer(deviceId, jobId), offer);
    },
    statuses: (deviceId, jobId) =>
      play.json<UpdateStatusReport>(updateTopic.status(deviceId, jobId)),
    installed: (deviceId) => play.json<InstalledFirmware>(updateTopic.installed(deviceId)),
  };
  return rig;
}

/** Slots under `<dir>/slots` with the rig's factory image in `a`, booted once. */
export async function provisionSlots(dir: string): Promise<DirectorySlots> {
  const slots = await DirectorySlots.open(join(dir, 'slots'));
  await slots.installFactory('a', FACTORY_IMAGE, FACTORY);
  await slots.boot();
  return slots;
}

/** The agent configuration of a rig device (plaintext MQTT to the play broker). */
export function rigConfig(
  rig: Rig,
  dir: string,
  token: string,
  o: { hubUrl?: string; update?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return {
    hubUrl: o.hubUrl ?? rig.hub.url,
    mqttUrl: `mqtt://127.0.0.1:${rig.play.port}`,
    caFile: rig.hub.caFile,
    stateDir: join(dir, 'state'),
    enrollment: { token },
    connection: { insecurePlaintextForTests: true, backoffMinMs: 50, backoffMaxMs: 300 },
    device: { type: DEVICE_TYPE, firmwareVersion: '1.0.0' },
    update: {
      slotsDir: join(dir, 'slots'),
      hardware: HARDWARE,
      healthTimeoutSeconds: 20,
      ...o.update,
    },
  };
}
