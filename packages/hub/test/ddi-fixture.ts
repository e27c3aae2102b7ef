/**
 * A hub with a trusted firmware root, a device with a device key and helpers to speak hawkBit DDI
 * to it (decision 0012) — shared by the DDI resource tests and the SWUpdate interop test.
 */
import type { UpdateJobRecord } from '@bulwark/core';
import { raw, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { signingKeys } from './signing-fixture.js';

/** A DDI feedback body as hawkBit clients send it. */
export const feedback = (
  id: number,
  execution: string,
  finished = 'none',
  details: string[] = [],
) => ({
  id,
  time: '20261124T120000',
  status: { execution, result: { finished, progress: { cnt: 0, of: 1 } }, details },
});

/** The href of a `_links` entry of a DDI answer. */
export const link = (j: Record<string, unknown>, name: string) =>
  ((j['_links'] as Record<string, { href: string } | undefined> | undefined) ?? {})[name]?.href;

/** The answer of one DDI request. */
export interface DdiAnswer {
  status: number;
  text: string;
  json: Record<string, unknown>;
  headers: Headers;
  bytes: Buffer;
}

export interface DdiFixture {
  t: TestHub;
  orgId: string;
  /** The owner's access token (all permissions). */
  token: string;
  /** Creates a device of type `gateway` with a device key. */
  device(name: string): Promise<{ id: string; key: string }>;
  /** Uploads an image as a ready artifact named `name`. */
  artifact(image: Uint8Array, name: string, version: string, counter: number): Promise<string>;
  /** Deploys an artifact to a device: the new job. */
  deploy(deviceId: string, artifactId: string): Promise<UpdateJobRecord>;
  /** The job as stored now. */
  job(id: string): Promise<UpdateJobRecord>;
  /** A DDI request for `controllerId` (path relative to its base) with a target token. */
  ddi(
    controllerId: string,
    token: string | null,
    method: string,
    path?: string,
    opts?: { body?: unknown; headers?: Record<string, string>; tenant?: string },
  ): Promise<DdiAnswer>;
  close(): Promise<void>;
}

/** Starts the hub (extra flags allowed), sets up an owner and pushes a firmware root. */
export async function startDdiFixture(extra: string[] = []): Promise<DdiFixture> {
  const t = await startTestHub(['--ddi-poll-seconds', '2', ...extra]);
  const s = await setupOwner(t);
  const token = s.tokens.accessToken;
  const keys = signingKeys();
  const r = await raw(t, 'POST', '/firmware/root', keys.root, token);
  if (r.status !== 200) throw new Error(`root push failed: ${r.text}`);

  return {
    t,
    orgId: s.orgId,
    token,
    async device(name) {
      const d = await s.api.devices.create({ name, type: 'gateway' });
      const { key } = await s.api.devices.createKey(d.id);
      return { id: d.id, key };
    },
    async artifact(image, name, version, counter) {
      const meta = keys.release(image, { name, version, releaseCounter: counter });
      const c = await raw(t, 'POST', '/firmware/artifacts', meta, token);
      if (c.status !== 201) throw new Error(`artifact create failed: ${c.text}`);
      const id = String(c.json['id']);
      const up = await t.fetchWith()(`${t.url}/api/v1/firmware/artifacts/${id}/image`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: image,
      });
      if (up.status !== 200) throw new Error(`image upload failed: ${await up.text()}`);
      await up.arrayBuffer().catch(() => undefined);
      return id;
    },
    async deploy(deviceId, artifactId) {
      return t.hub.services.updates.deploy(s.orgId, deviceId, artifactId, {
        actor: { type: 'user', id: s.userId },
      });
    },
    async job(id) {
      const j = await t.hub.storage.updateJobs.get(s.orgId, id);
      if (!j) throw new Error(`no job ${id}`);
      return j;
    },
    async ddi(controllerId, tok, method, path = '', opts = {}) {
      const tenant = opts.tenant ?? s.orgId;
      const body = opts.body;
      const res = await t.fetchWith()(`${t.url}/${tenant}/controller/v1/${controllerId}${path}`, {
        method,
        headers: {
          ...(tok ? { authorization: `TargetToken ${tok}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...opts.headers,
        },
        ...(body === undefined
          ? {}
          : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      const text = bytes.toString('utf8');
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        /* not JSON */
      }
      return { status: res.status, text, json: parsed, headers: res.headers, bytes };
    },
    close: () => t.close(),
  };
}
