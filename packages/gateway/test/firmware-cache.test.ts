/**
 * The firmware cache's store on a real directory, fed by an in-test source of images (bytes in
 * memory, served in pieces with a yield between them, so concurrent callers really overlap).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CacheError,
  FirmwareCache,
  type ArtifactFacts,
  type ArtifactSource,
} from '../src/firmware-cache.js';
import { parseAgentConfig } from '@bulwark/agent';
import { parseGatewayConfig } from '../src/config.js';
import { tempDir } from './helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Images by id; `tamper` serves other bytes than the facts sign. */
function source(images: Map<string, Uint8Array>, tamper = new Map<string, Uint8Array>()) {
  const s = {
    describes: 0,
    opens: 0,
    source: {
      async describe(id) {
        s.describes++;
        const img = images.get(id);
        if (img === undefined) throw new CacheError('not_found', 'no such artifact');
        await new Promise((r) => setTimeout(r, 5));
        return { length: img.byteLength, sha256: sha(img) };
      },
      async open(id: string, _facts: ArtifactFacts) {
        s.opens++;
        const bytes = tamper.get(id) ?? images.get(id)!;
        return (async function* () {
          for (let i = 0; i < bytes.byteLength; i += 4096) {
            await new Promise((r) => setImmediate(r));
            yield bytes.subarray(i, i + 4096);
          }
        })();
      },
    } satisfies ArtifactSource,
  };
  return s;
}

describe('firmware cache store', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = tempDir('bulwark-fwcache-');
    dirs.push(d);
    return join(d, 'cache');
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const log = () => undefined;

  it('fetches an artifact once for 20 concurrent requests, then serves it from disk', async () => {
    const id = randomUUID();
    const img = randomBytes(200_000);
    const src = source(new Map([[id, img]]));
    const d = dir();
    const c = new FirmwareCache({ dir: d, maxBytes: 10_000_000, source: src.source, log });
    await c.load();
    const leases = await Promise.all(Array.from({ length: 20 }, () => c.acquire(id)));
    assert.equal(src.opens, 1);
    assert.equal(c.stats.fetchedBytes, img.byteLength);
    for (const l of leases) {
      assert.deepEqual(readFileSync(l.path), img);
      l.release();
    }
    const again = await c.acquire(id);
    again.release();
    assert.equal(src.opens, 1);
    assert.equal(c.stats.hits, 1);
    assert.deepEqual(readdirSync(d).sort(), [`${id}.img`, `${id}.json`]);
    // A restart keeps it.
    const c2 = new FirmwareCache({ dir: d, maxBytes: 10_000_000, source: src.source, log });
    await c2.load();
    assert.ok(c2.has(id));
    (await c2.acquire(id)).release();
    assert.equal(src.opens, 1);
  });

  it('refuses bytes that do not match the signed sha256 or length, and keeps nothing', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const img = randomBytes(50_000);
    const flipped = Buffer.from(img);
    flipped[1234] = flipped[1234]! ^ 0xff;
    const src = source(
      new Map([
        [a, img],
        [b, img],
      ]),
      new Map([
        [a, flipped],
        [b, img.subarray(0, 40_000)],
      ]),
    );
    const d = dir();
    const c = new FirmwareCache({ dir: d, maxBytes: 10_000_000, source: src.source, log });
    await c.load();
    const refused = await Promise.allSettled([c.acquire(a), c.acquire(a), c.acquire(b)]);
    for (const r of refused) {
      assert.equal(r.status, 'rejected');
      assert.equal((r.reason as CacheError).code, 'verification_failed');
    }
    assert.match(String((refused[0] as PromiseRejectedResult).reason), /sha256/);
    assert.match(String((refused[2] as PromiseRejectedResult).reason), /40000 bytes/);
    assert.equal(src.opens, 2);
    assert.equal(c.stats.verifyFailures, 2);
    assert.deepEqual(readdirSync(d), []);
    assert.equal(c.has(a), false);
  });

  it('evicts least recently used images by size, never one being served', async () => {
    const ids: string[] = [randomUUID(), randomUUID(), randomUUID()];
    const imgs = new Map(ids.map((id) => [id, randomBytes(40_000)]));
    const src = source(imgs);
    const c = new FirmwareCache({ dir: dir(), maxBytes: 100_000, source: src.source, log });
    await c.load();
    const [a, b, x] = ids as [string, string, string];
    const la = await c.acquire(a); // held: being served
    (await c.acquire(b)).release();
    (await c.acquire(x)).release(); // 120,000 > 100,000: b is the oldest idle one
    assert.ok(c.has(a) && !c.has(b) && c.has(x));
    assert.equal(c.stats.evictions, 1);
    assert.deepEqual(readFileSync(la.path), imgs.get(a));
    la.release();
    (await c.acquire(b)).release(); // fetched again; a is now the least recently used
    assert.ok(!c.has(a) && c.has(b) && c.has(x));
    assert.equal(c.size.bytes, 80_000);
    assert.equal(src.opens, 4);
  });

  it('refuses ids that are no artifact ids (no path is built from them) and images over maxBytes', async () => {
    const big = randomUUID();
    const src = source(new Map([[big, randomBytes(5000)]]));
    const c = new FirmwareCache({ dir: dir(), maxBytes: 4096, source: src.source, log });
    await c.load();
    for (const id of ['../../queue', '..', `${randomUUID()}/../x`, '', 'A'.repeat(36)])
      await assert.rejects(c.acquire(id), (e: CacheError) => e.code === 'not_found');
    assert.equal(src.describes, 0);
    await assert.rejects(c.acquire(big), (e: CacheError) => e.code === 'too_large');
    await assert.rejects(c.acquire(randomUUID()), (e: CacheError) => e.code === 'not_found');
  });
});

describe('firmware cache configuration', () => {
  const base = {
    hubUrl: 'https://hub.example:8443',
    mqttUrl: 'mqtts://hub.example:8883',
    caFile: 'ca.pem',
    stateDir: '/tmp/x',
    gateway: { broker: { certFile: 'c.pem', keyFile: 'k.pem' } },
  };
  const { gateway: _g, ...agentBase } = base;
  const withCache = (cache: unknown) => ({ ...base, gateway: { ...base.gateway, cache } });

  it('is off unless enabled; checks its fields', () => {
    assert.deepEqual(parseGatewayConfig(base, '/tmp').cache, {
      enabled: false,
      host: '0.0.0.0',
      port: 8443,
      maxBytes: 4 * 1024 ** 3,
      reportIntervalMs: 300_000,
    });
    const on = parseGatewayConfig(withCache({ enabled: true, port: 9443, maxBytes: 1e9 }), '/tmp');
    assert.equal(on.cache.enabled, true);
    assert.equal(on.cache.port, 9443);
    assert.equal(on.cache.maxBytes, 1e9);
    for (const [cache, msg] of [
      [{ enabled: 1 }, /gateway\.cache\.enabled must be true or false/],
      [{ maxBytes: 10 }, /gateway\.cache\.maxBytes must be a whole number from 1024/],
      [{ port: 70000 }, /gateway\.cache\.port must be a whole number/],
      [{ reportIntervalSeconds: 0 }, /reportIntervalSeconds must be a whole number from 1/],
      [{ dir: '/etc' }, /gateway\.cache\.dir is not a known field/],
    ] as const)
      assert.throws(() => parseGatewayConfig(withCache(cache), '/tmp'), msg);
  });

  it("names the agent's download origin: an https origin and its CA", () => {
    const agent = (cache: unknown) =>
      parseAgentConfig({ ...agentBase, update: { slotsDir: 'slots', cache } }, '/etc/bulwark');
    assert.deepEqual(agent({ url: 'https://192.168.1.2:8443', caFile: 'gw.pem' }).update.cache, {
      url: 'https://192.168.1.2:8443',
      caFile: '/etc/bulwark/gw.pem',
    });
    for (const [cache, msg] of [
      [{ url: 'http://192.168.1.2:8443', caFile: 'gw.pem' }, /https origin/],
      [{ url: 'https://gw:8443/api', caFile: 'gw.pem' }, /https origin/],
      [{ url: 'https://gw:8443' }, /update\.cache\.caFile/],
      [{ url: 'not a url', caFile: 'gw.pem' }, /must be a URL/],
    ] as const)
      assert.throws(() => agent(cache), msg);
  });
});
