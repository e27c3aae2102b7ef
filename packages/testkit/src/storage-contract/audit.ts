import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { canonicalJson, newId, sha256Hex, type AuditEvent } from '@bulwark/core';
import { T0, auditDraftFx } from './fixtures.js';
import { rejectsWithCode, useStorage, type OpenStorage } from './harness.js';

const ZERO = '0'.repeat(64);

/** A stand-in for core's hash (the store only stores what the seal returns). */
const hashOf = (row: Omit<AuditEvent, 'hash'>): string =>
  sha256Hex(row.prevHash + canonicalJson(row));
/** A stand-in for core's head MAC: binds seq, hash and keyedFrom. */
const macOf = (seq: number, hash: string, keyedFrom: number): string =>
  sha256Hex(`head ${seq} ${hash} ${keyedFrom}`);
/** A seal as core's: the row's hash and the MAC of the head it becomes. */
const seal = (row: Omit<AuditEvent, 'hash'>, chain: { keyedFrom: number }) => {
  const hash = hashOf(row);
  return { hash, headMac: macOf(row.seq, hash, chain.keyedFrom) };
};
/** The head after `e` on a database that was keyed from its first row. */
const headAfter = (e: { seq?: number; hash?: string } | undefined) => ({
  seq: e?.seq,
  hash: e?.hash,
  keyedFrom: 1,
  mac: macOf(e?.seq ?? 0, e?.hash ?? '', 1),
});

/** Asserts that `events` (in seq order, starting after `prev`) form a gap-free valid chain. */
function assertChain(events: readonly AuditEvent[], prev: { seq: number; hash: string }): void {
  let { seq, hash } = prev;
  for (const e of events) {
    assert.equal(e.seq, seq + 1, 'sequence numbers have no gaps');
    assert.equal(e.prevHash, hash, `event ${e.seq} links to its predecessor`);
    const { hash: stored, ...row } = e;
    assert.equal(stored, hashOf(row), `event ${e.seq} hash is reproducible`);
    seq = e.seq;
    hash = e.hash;
  }
}

/** AuditStore: the hash chain (append, head, scan) and the organization's view (list). */
export function auditSuite(open: OpenStorage): void {
  describe('AuditStore', () => {
    const s = useStorage(open);

    it('an empty chain has no head and nothing to scan', async () => {
      assert.equal(await s().audit.head(), undefined);
      assert.deepEqual(await s().audit.scan(0, 100), []);
    });

    it('append chains events: seq 1, 2, 3 …, prevHash of the first is 64 zeros', async () => {
      const orgId = newId();
      const seen: Array<Omit<AuditEvent, 'hash'>> = [];
      const appended: AuditEvent[] = [];
      for (let i = 0; i < 3; i++) {
        const draft = auditDraftFx(orgId, {
          action: `test.step${i}`,
          detail: canonicalJson({ i }),
        });
        const event = await s().audit.append(draft, (row, chain) => {
          seen.push(row);
          assert.deepEqual(chain, { keyedFrom: 1 }, 'a fresh database is keyed from row 1');
          return seal(row, chain);
        });
        assert.deepEqual(event, {
          ...draft,
          seq: i + 1,
          prevHash: appended[i - 1]?.hash ?? ZERO,
          hash: hashOf({ ...draft, seq: i + 1, prevHash: appended[i - 1]?.hash ?? ZERO }),
        });
        appended.push(event);
        assert.deepEqual(await s().audit.head(), headAfter(event));
      }
      assert.equal(seen.length, 3);
      assert.equal(seen[0]?.prevHash, ZERO);
      assert.equal(seen[1]?.prevHash, appended[0]?.hash);
      assert.equal(seen[2]?.prevHash, appended[1]?.hash);
      assertChain(await s().audit.scan(0, 100), { seq: 0, hash: ZERO });
    });

    it('seal receives the full row without hash; its hash is stored with the row, its MAC in the head', async () => {
      const draft = auditDraftFx(newId(), { actorId: 'u1', targetId: 't1', detail: '{"a":1}' });
      const head = await s().audit.head();
      let received: Record<string, unknown> | undefined;
      const event = await s().audit.append(draft, (row) => {
        received = { ...row };
        return { hash: 'f'.repeat(64), headMac: 'e'.repeat(64) };
      });
      assert.deepEqual(received, {
        ...draft,
        seq: (head?.seq ?? 0) + 1,
        prevHash: head?.hash ?? ZERO,
      });
      assert.equal(Object.hasOwn(received ?? {}, 'hash'), false);
      assert.equal(event.hash, 'f'.repeat(64));
      const [stored] = await s().audit.scan(event.seq - 1, 1);
      assert.deepEqual(stored, event);
      assert.deepEqual(await s().audit.head(), {
        seq: event.seq,
        hash: 'f'.repeat(64),
        keyedFrom: 1,
        mac: 'e'.repeat(64),
      });
      // Keep the rest of the chain verifiable from here on.
    });

    it('detail text is stored exactly as given (never re-encoded)', async () => {
      const detail = '{"z": 1,  "a":[1, 2.50, "\\u00e9"], "n":null}';
      const event = await s().audit.append(auditDraftFx(newId(), { detail }), seal);
      const [stored] = await s().audit.scan(event.seq - 1, 1);
      assert.equal(stored?.detail, detail);
      const nulled = await s().audit.append(
        auditDraftFx(null, { detail: null, source: null }),
        seal,
      );
      assert.deepEqual((await s().audit.scan(nulled.seq - 1, 1))[0], nulled);
    });

    it('a seal that throws appends nothing and leaves the head alone', async () => {
      const head = await s().audit.head();
      await assert.rejects(
        s().audit.append(auditDraftFx(newId()), () => {
          throw new Error('seal failed');
        }),
        /seal failed/,
      );
      assert.deepEqual(await s().audit.head(), head);
      assert.deepEqual(await s().audit.scan(head?.seq ?? 0, 10), []);
    });

    it('50 concurrent appends produce a gap-free, correctly chained sequence', async () => {
      const head = (await s().audit.head()) ?? { seq: 0, hash: ZERO, keyedFrom: 1, mac: null };
      const orgId = newId();
      const events = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          s().audit.append(auditDraftFx(orgId, { action: `c.${i}` }), seal),
        ),
      );
      assert.deepEqual(
        events.map((e) => e.seq).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => head.seq + i + 1),
      );
      const scanned = await s().audit.scan(head.seq, 1000);
      assert.equal(scanned.length, 50);
      assertChain(scanned, head);
      const last = scanned[scanned.length - 1];
      assert.deepEqual(await s().audit.head(), headAfter(last));
    });

    it('scan returns up to limit events after afterSeq, in seq order', async () => {
      const head = await s().audit.head();
      assert.ok(head !== undefined && head.seq >= 10);
      const all = await s().audit.scan(0, 100_000);
      assert.equal(all.length, head.seq);
      assert.deepEqual(await s().audit.scan(3, 4), all.slice(3, 7));
      assert.deepEqual(await s().audit.scan(head.seq, 10), []);
      assert.deepEqual(
        (await s().audit.scan(head.seq - 2, 10)).map((e) => e.seq),
        [head.seq - 1, head.seq],
      );
    });

    describe('list', () => {
      const setup = async () => {
        const a = newId();
        const b = newId();
        const events: AuditEvent[] = [];
        for (let i = 0; i < 6; i++) {
          events.push(
            await s().audit.append(
              auditDraftFx(a, {
                at: T0 + i * 1000,
                action: i % 2 === 0 ? 'device.create' : 'device.delete',
                actorId: i < 3 ? 'alice' : 'bob',
                targetId: `dev-${i % 3}`,
              }),
              seal,
            ),
          );
          await s().audit.append(auditDraftFx(b, { at: T0 + i * 1000 }), seal);
          await s().audit.append(
            auditDraftFx(null, { at: T0 + i * 1000, actorType: 'system' }),
            seal,
          );
        }
        return { a, b, events };
      };
      const seqs = (events: readonly AuditEvent[]) => events.map((e) => e.seq);

      it('lists one organization’s events, newest first', async () => {
        const { a, events } = await setup();
        const page = await s().audit.list(a, {}, { limit: 100 });
        assert.deepEqual(page.items, [...events].reverse());
        assert.equal(page.nextCursor, null);
        assert.deepEqual((await s().audit.list(newId(), {}, { limit: 100 })).items, []);
      });

      it('filters by time range (inclusive), action, actor and target', async () => {
        const { a, events: e } = await setup();
        const list = async (filter: Parameters<ReturnType<typeof s>['audit']['list']>[1]) =>
          seqs((await s().audit.list(a, filter, { limit: 100 })).items);
        const pick = (...i: number[]) => i.map((n) => e[n]?.seq);
        assert.deepEqual(await list({ from: T0 + 2000 }), pick(5, 4, 3, 2));
        assert.deepEqual(await list({ to: T0 + 2000 }), pick(2, 1, 0));
        assert.deepEqual(await list({ from: T0 + 1000, to: T0 + 3000 }), pick(3, 2, 1));
        assert.deepEqual(await list({ action: 'device.delete' }), pick(5, 3, 1));
        assert.deepEqual(await list({ actorId: 'bob' }), pick(5, 4, 3));
        assert.deepEqual(await list({ targetId: 'dev-1' }), pick(4, 1));
        assert.deepEqual(await list({ actorId: 'alice', action: 'device.create' }), pick(2, 0));
        assert.deepEqual(await list({ actorId: 'carol' }), []);
      });

      it('paginates with an opaque cursor, honouring the limit', async () => {
        const { a, events } = await setup();
        const newestFirst = seqs([...events].reverse());
        const got: number[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await s().audit.list(a, {}, { limit: 4, cursor });
          assert.ok(page.items.length <= 4);
          got.push(...seqs(page.items));
          cursor = page.nextCursor;
          pages++;
        } while (cursor !== null && pages < 10);
        assert.deepEqual(got, newestFirst);
        assert.equal(pages, 2);
        const filtered = await s().audit.list(a, { actorId: 'bob' }, { limit: 2 });
        assert.equal(filtered.items.length, 2);
        const rest = await s().audit.list(
          a,
          { actorId: 'bob' },
          { limit: 2, cursor: filtered.nextCursor },
        );
        assert.deepEqual(seqs(rest.items), [newestFirst[2]]);
        assert.equal(rest.nextCursor, null);
      });

      it('a malformed cursor fails with invalid_cursor', async () => {
        const { a } = await setup();
        for (const cursor of [
          '%%%',
          'abc',
          Buffer.from('-1').toString('base64url'),
          Buffer.from(newId()).toString('base64url'),
        ]) {
          await rejectsWithCode(s().audit.list(a, {}, { limit: 5, cursor }), 'invalid_cursor');
        }
      });
    });
  });
}
