/**
 * The firmware cache's source: the hub, reached with the gateway's own identity (mutual TLS, its
 * device certificate). The hub lets a device read the ready artifacts of its organization, so the
 * gateway can fetch nothing of another organization. Before a byte is fetched the artifact's
 * signed metadata is verified against the organization's firmware root (the agent's check,
 * `verifyRelease`): signatures, expiry, and that it signs the artifact's length and sha256. The
 * bytes are then checked against those by the cache (firmware-cache.ts).
 */
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { httpsFetch, type Agent } from '@bulwark/agent';
import { verifyRelease } from '@bulwark/firmware';
import { createClient } from '@bulwark/sdk';
import { CacheError, type ArtifactFacts, type ArtifactSource } from './firmware-cache.js';

const TIMEOUT_MS = 30_000;

function trustOf(agent: Agent) {
  const id = agent.identity;
  if (!id) throw new CacheError('unavailable', 'the gateway is not enrolled yet');
  return {
    ca: [agent.hubCa, id.hubCa].filter((c) => c !== ''),
    cert: id.certPem + (id.chain[0] ?? ''),
    key: id.keyPem,
  };
}

/** Artifacts from the hub the gateway's agent is enrolled with. */
export function hubArtifactSource(
  agent: Agent,
  now: () => Date = () => new Date(),
): ArtifactSource {
  const hub = () => new URL(agent.config.hubUrl);
  return {
    async describe(id) {
      const api = createClient({
        baseUrl: agent.config.hubUrl,
        fetch: httpsFetch({ ...trustOf(agent), timeoutMs: TIMEOUT_MS }),
      });
      let artifact, root;
      try {
        [artifact, root] = await Promise.all([
          api.call('getArtifact', { params: { id } }),
          api.call('getFirmwareRoot', {}),
        ]);
      } catch (err) {
        const status = (err as { status?: number }).status;
        if (status === 404 || status === 400)
          throw new CacheError('not_found', `the hub has no artifact ${id}`);
        throw new CacheError('unavailable', `the hub: ${(err as Error).message}`);
      }
      if (artifact.state !== 'ready')
        throw new CacheError('not_found', `artifact ${id} has no image yet`);
      const facts: ArtifactFacts = { length: artifact.length, sha256: artifact.sha256 };
      const v = verifyRelease(artifact.metadata, root.root, { now: now(), image: facts });
      if (!v.ok)
        throw new CacheError('verification_failed', `artifact ${id}: ${v.reason}: ${v.message}`);
      return facts;
    },

    open(id, facts) {
      const url = new URL(`/api/v1/firmware/artifacts/${id}/image`, hub());
      return new Promise<AsyncIterable<Uint8Array>>((resolve, reject) => {
        const req = request(url, {
          method: 'GET',
          ...trustOf(agent),
          minVersion: 'TLSv1.2',
          timeout: TIMEOUT_MS,
        });
        req.on('timeout', () => req.destroy(new Error('the hub stalled')));
        req.on('error', (err) => reject(new CacheError('unavailable', err.message)));
        req.on('response', (res: IncomingMessage) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(
              new CacheError(
                res.statusCode === 404 ? 'not_found' : 'unavailable',
                `the hub answered HTTP ${res.statusCode} for artifact ${id}`,
              ),
            );
            return;
          }
          const len = res.headers['content-length'];
          if (len !== undefined && Number(len) !== facts.length) {
            res.destroy();
            reject(
              new CacheError(
                'verification_failed',
                `the hub sends ${len} bytes, the metadata signs ${facts.length}`,
              ),
            );
            return;
          }
          resolve(res);
        });
        req.end();
      });
    },
  };
}
