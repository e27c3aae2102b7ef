/**
 * Update-job test helpers: a signing setup that publishes artifacts (ready or pending), and a
 * device on MQTT (device key) that collects its offers and reports on its jobs.
 */
import { randomBytes } from 'node:crypto';
import type { BulwarkClient } from '@bulwark/sdk';
import { updateTopic, type UpdateOffer } from '@bulwark/protocol';
import type { MqttClient } from 'mqtt';
import type { TestHub } from './helpers.js';
import { connectTls, publish, subscribe } from './mqtt-helpers.js';
import { signingKeys } from './signing-fixture.js';

/** Generates keys, pushes the organization's root, and publishes artifacts signed with them. */
export async function publisher(owner: BulwarkClient) {
  const keys = signingKeys('ed25519');
  await owner.firmware.pushRoot(keys.root);
  let counter = 0;
  return {
    root: keys.root,
    /** An artifact of `version` for `types`; its image uploaded (ready) unless `pending`. */
    async artifact(version: string, types: string[], opts: { pending?: boolean } = {}) {
      const image = randomBytes(2048);
      const meta = keys.release(image, {
        name: `fw-${version}-${++counter}.img`,
        types,
        version,
        releaseCounter: counter,
      });
      const a = await owner.firmware.create(meta);
      return { artifact: opts.pending ? a : await owner.firmware.uploadImage(a.id, image), image };
    },
  };
}

interface Offer {
  topic: string;
  body: UpdateOffer;
}

/** A device on MQTT subscribed to its update offers. */
export async function updateDevice(t: TestHub, d: { id: string; key: string }) {
  const c: MqttClient = await connectTls(t, { clientId: d.id, username: d.id, password: d.key });
  const got: Offer[] = [];
  const waiters: Array<(o: Offer) => boolean> = [];
  c.on('message', (topic, payload) => {
    const o = { topic, body: JSON.parse(payload.toString()) as UpdateOffer };
    const i = waiters.findIndex((w) => w(o));
    if (i >= 0) waiters.splice(i, 1);
    else got.push(o);
  });
  const granted = await subscribe(c, updateTopic.inbound(d.id), 1);
  if (granted[0] !== 1) throw new Error(`subscription refused: ${granted.join(',')}`);
  return {
    c,
    got,
    /** The next offer (install or cancel) for this job; rejects after 5 s. */
    next(jobId: string, action: UpdateOffer['action'] = 'install'): Promise<UpdateOffer> {
      const match = (o: Offer) =>
        o.topic === updateTopic.offer(d.id, jobId) && o.body.action === action;
      const seen = got.findIndex(match);
      if (seen >= 0) return Promise.resolve(got.splice(seen, 1)[0]!.body);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${action} offer for ${jobId}`)), 5000);
        waiters.push((o) => {
          if (!match(o)) return false;
          clearTimeout(timer);
          resolve(o.body);
          return true;
        });
      });
    },
    /** Publishes a status report on a job; resolves with the PUBACK reason code. */
    report: (jobId: string, body: unknown) =>
      publish(
        c,
        updateTopic.status(d.id, jobId),
        typeof body === 'string' ? body : JSON.stringify(body),
      ),
    /** Publishes what it runs. */
    installed: (body: unknown) =>
      publish(
        c,
        updateTopic.installed(d.id),
        typeof body === 'string' ? body : JSON.stringify(body),
      ),
    end: () => c.end(true),
  };
}

/** Polls until `check` returns a value: at most 100 tries 30 ms apart. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`timed out waiting for ${what}`);
}
