/** Rollout test helpers: a signed, uploaded artifact; driving a job as its device would. */
import { createHash, randomBytes } from 'node:crypto';
import {
  createRelease,
  createRoot,
  expiryAfter,
  generateSigningKey,
  signMetadata,
} from '@bulwark/firmware';
import type { BulwarkClient } from '@bulwark/sdk';
import type { UpdateJobRecord } from '@bulwark/core';
import type { DeviceReportedUpdateState } from '@bulwark/protocol';
import type { TestHub } from './helpers.js';

const json = (v: unknown) =>
  JSON.parse(JSON.stringify(v)) as { signed: Record<string, unknown>; signatures: unknown[] };

/** Signing keys of one test organization and a way to publish ready artifacts with them. */
export async function firmwarePublisher(owner: BulwarkClient) {
  const rootKey = generateSigningKey('ed25519');
  const releaseKey = generateSigningKey('p256');
  const root = createRoot({
    version: 1,
    expires: expiryAfter(365 * 86400),
    rootKeys: [rootKey.publicKey],
    rootThreshold: 1,
    releaseKeys: [releaseKey.publicKey],
    releaseThreshold: 1,
  });
  await owner.firmware.pushRoot(json(signMetadata(root, [rootKey]).toJSON()));
  return {
    /** A ready artifact of `version` for `types`. */
    async publish(version: string, types: string[], releaseCounter: number) {
      const { artifact, image } = await this.pending(version, types, releaseCounter);
      return owner.firmware.uploadImage(artifact.id, image);
    },
    /** A pending artifact (metadata accepted, image not uploaded) and its image. */
    async pending(version: string, types: string[], releaseCounter: number) {
      const image = randomBytes(4096);
      const release = createRelease({
        name: `fw-${version}.img`,
        types,
        hardware: [],
        version,
        releaseCounter,
        length: image.byteLength,
        sha256: createHash('sha256').update(image).digest('hex'),
        expires: expiryAfter(30 * 86400),
      });
      const artifact = await owner.firmware.create(
        json(signMetadata(release, [releaseKey]).toJSON()),
      );
      return { artifact, image };
    },
  };
}

/** Reports states on a job as its device would (the hub's job service, no MQTT). */
export async function drive(
  t: TestHub,
  job: Pick<UpdateJobRecord, 'orgId' | 'deviceId' | 'id'>,
  states: DeviceReportedUpdateState[],
  extra: { version?: string; type?: string; reason?: string } = {},
): Promise<void> {
  for (const state of states) {
    const installed =
      (state === 'succeeded' || state === 'rolled_back') && extra.version !== undefined
        ? {
            installed: { type: extra.type ?? 'gateway', version: extra.version, releaseCounter: 1 },
          }
        : {};
    const reason =
      state === 'rolled_back' || state === 'failed'
        ? { reason: extra.reason ?? 'health_check_failed' }
        : {};
    const r = await t.hub.services.updates.report(job.orgId, job.deviceId, job.id, {
      state,
      ...installed,
      ...reason,
    });
    if (r !== 'applied') throw new Error(`report ${state} on ${job.id} was ${r}`);
  }
}

/** Polls `fn` until it returns a defined value: at most 100 tries 20 ms apart. */
export async function eventually<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met within 2 s');
}
