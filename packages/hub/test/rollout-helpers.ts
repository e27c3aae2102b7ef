/** Rollout test helpers: a signed, uploaded artifact; driving a job as its device would. */
import { randomBytes } from 'node:crypto';
import type { BulwarkClient } from '@bulwark/sdk';
import type { UpdateJobRecord } from '@bulwark/core';
import type { DeviceReportedUpdateState } from '@bulwark/protocol';
import type { TestHub } from './helpers.js';
import { signingKeys } from './signing-fixture.js';

/** Signing keys of one test organization and a way to publish ready artifacts with them. */
export async function firmwarePublisher(owner: BulwarkClient) {
  const keys = signingKeys();
  await owner.firmware.pushRoot(keys.root);
  return {
    /** A ready artifact of `version` for `types`. */
    async publish(
      version: string,
      types: string[],
      releaseCounter: number,
      o: { expiresInSeconds?: number } = {},
    ) {
      const { artifact, image } = await this.pending(version, types, releaseCounter, o);
      return owner.firmware.uploadImage(artifact.id, image);
    },
    /** A pending artifact (metadata accepted, image not uploaded) and its image. */
    async pending(
      version: string,
      types: string[],
      releaseCounter: number,
      o: { expiresInSeconds?: number } = {},
    ) {
      const image = randomBytes(4096);
      const meta = keys.release(image, {
        name: `fw-${version}.img`,
        types,
        version,
        releaseCounter,
        ...o,
      });
      return { artifact: await owner.firmware.create(meta), image };
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
