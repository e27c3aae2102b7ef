/**
 * Deployments sharing one NATS (decision 0021): each one's prefix names its streams, subjects
 * and bucket, so two deployments never see each other's messages, events or images; and the
 * default prefix keeps the names every earlier release used.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { newId, type DomainEvent, type Envelope } from '@bulwark/core';
import { chunked, natsTestUrl, readAll, requireNats } from '@bulwark/testkit';
import {
  createNatsBlobStore,
  createNatsBus,
  createNatsEvents,
  deploymentNames,
  removeDeployment,
} from '@bulwark/bus-nats';

const url = natsTestUrl();
const skip = await requireNats(url);
const run = `t${process.pid}-${randomBytes(3).toString('hex')}`;
const [X, Y] = [`${run}-x`, `${run}-y`];

const settle = () => new Promise((r) => setTimeout(r, 300));

describe('deployment names', () => {
  it('the default prefix keeps the names of earlier releases', () => {
    assert.deepEqual(deploymentNames(), {
      messagesStream: 'BULWARK_MESSAGES',
      messagesSubject: 'bulwark.msg',
      eventsStream: 'BULWARK_EVENTS',
      eventsSubject: 'bulwark.evt',
      blobsBucket: 'BULWARK_BLOBS',
    });
    assert.equal(deploymentNames('acme-prod').messagesStream, 'ACME-PROD_MESSAGES');
    assert.equal(deploymentNames('acme-prod').messagesSubject, 'acme-prod.msg');
  });

  it('refuses prefixes that could escape their subjects or collide once upper-cased', () => {
    for (const bad of ['', 'Acme', 'a.b', 'a*', 'a>', 'a b', '-a', 'x'.repeat(33), 'ü'])
      assert.throws(() => deploymentNames(bad), RangeError, JSON.stringify(bad));
  });
});

describe('two deployments on one NATS', { skip, timeout: 60_000 }, () => {
  after(async () => {
    if (skip !== false) return;
    for (const p of [X, Y]) await removeDeployment({ servers: url }, p);
  });

  it('see neither each other’s messages, nor events, nor images', async () => {
    const [nx, ny] = [deploymentNames(X), deploymentNames(Y)];
    const bus = (n: typeof nx) =>
      createNatsBus({ servers: url, stream: n.messagesStream, subjectPrefix: n.messagesSubject });
    const events = (n: typeof nx, nodeId: string) =>
      createNatsEvents({
        servers: url,
        nodeId,
        stream: n.eventsStream,
        subjectPrefix: n.eventsSubject,
      });
    const blobs = (n: typeof nx) => createNatsBlobStore({ servers: url, bucket: n.blobsBucket });
    const [bx, by] = await Promise.all([bus(nx), bus(ny)]);
    // Two nodes per deployment for events: a node does not hear its own events from NATS.
    const [ex1, ex2, ey] = await Promise.all([
      events(nx, 'x1'),
      events(nx, 'x2'),
      events(ny, 'y1'),
    ]);
    const [sx, sy] = await Promise.all([blobs(nx), blobs(ny)]);
    try {
      const got = { x: [] as Envelope[], y: [] as Envelope[] };
      await bx.subscribe((e) => void got.x.push(e));
      await by.subscribe((e) => void got.y.push(e));
      const heard = { x: [] as DomainEvent[], y: [] as DomainEvent[] };
      ex2.listen((e) => void heard.x.push(e));
      ey.listen((e) => void heard.y.push(e));

      // The same org and channel ids in both: only the prefix keeps them apart.
      const envelope: Envelope = {
        id: newId(),
        orgId: 'org-1',
        channelId: 'ch-1',
        subtopic: '',
        publisher: { type: 'device', id: 'd1' },
        protocol: 'http',
        contentType: 'text/plain',
        receivedAt: Date.now(),
        payload: Buffer.from('for X only'),
        origin: 'x1',
      };
      await bx.publish(envelope);
      ex1.emit({ type: 'api_key.revoked', orgId: 'org-1', at: Date.now(), keyId: 'k1' });
      await ex1.flush();
      const image = randomBytes(10_000);
      const sha256 = createHash('sha256').update(image).digest('hex');
      await sx.put(chunked(image), { length: image.length, sha256 });

      for (let i = 0; i < 100 && (got.x.length === 0 || heard.x.length === 0); i++) await settle();
      await settle();
      assert.deepEqual(
        got.x.map((e) => e.id),
        [envelope.id],
      );
      assert.equal(heard.x.length, 1);
      assert.deepEqual(got.y, [], 'Y saw none of X’s messages');
      assert.deepEqual(heard.y, [], 'Y heard none of X’s events');
      assert.ok((await readAll((await sx.get(sha256))!)).equals(image));
      assert.equal(await sy.stat(sha256), undefined, 'Y has none of X’s images');
    } finally {
      await Promise.all([bx, by, ex1, ex2, ey, sx, sy].map((c) => c.close()));
    }
  });
});
