/**
 * `bulwark notify …` against a real hub process (decision 0030): an endpoint and a routing rule
 * made from files, listed and shown without their secrets, a test delivery queued and listed,
 * a bad file refused, deletion; maintenance windows scheduled, listed and deleted.
 */
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type ManagedHub } from './management-hub.js';

interface Endpoint {
  id: string;
  name: string;
  kind: string;
}
interface Delivery {
  id: string;
  event: string;
  state: string;
  endpointId: string;
}

describe('bulwark notify against a real hub', { timeout: 120_000 }, () => {
  let hub: ManagedHub;
  let dir: string;
  const file = (name: string, v: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof v === 'string' ? v : JSON.stringify(v));
    return p;
  };
  const SECRET = 'whsec-0123456789abcdef0123456789abcdef';
  before(async () => {
    hub = await startHub();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-notify-'));
  });
  after(async () => {
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('endpoints, rules and deliveries; secrets never printed', async () => {
    const endpoint = await hub.json<Endpoint>([
      'notify',
      'endpoint',
      'create',
      '--file',
      file('ep.json', {
        kind: 'webhook',
        name: 'ops hook',
        // 192.0.2.1 (TEST-NET-1): never contacted; the test only queues.
        url: 'https://192.0.2.1/hooks/T0KEN-IN-PATH',
        secret: SECRET,
      }),
    ]);
    assert.equal(endpoint.kind, 'webhook');
    const table = await hub.run(['notify', 'endpoints']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      /ops hook\s+webhook\s+true\s+https:\/\/192\.0\.2\.1 \(json\)\s+closed/,
    );
    const shown = await hub.run(['notify', 'endpoint', 'show', endpoint.id]);
    for (const out of [table.stdout, shown.stdout, JSON.stringify(endpoint)]) {
      assert.ok(!out.includes(SECRET), 'the signing secret is never shown');
      assert.ok(!out.includes('T0KEN-IN-PATH'), "the URL's path (it may hold a token) is sealed");
    }
    assert.match(shown.stdout, /secret set\s+(yes|true)/);

    const rule = await hub.json<{ id: string }>([
      'notify',
      'rule',
      'create',
      '--file',
      file('rule.json', {
        name: 'high and up',
        minSeverity: 'high',
        endpointIds: [endpoint.id],
        escalation: { afterMinutes: 15, endpointIds: [endpoint.id] },
      }),
    ]);
    const rules = await hub.run(['notify', 'rules']);
    assert.match(rules.stdout, /high and up\s+true\s+organization\s+high\s+any\s+1\s+after 15 min/);

    const queued = await hub.json<Delivery>(['notify', 'endpoint', 'test', endpoint.id]);
    const deliveries = await hub.json<{ items: Delivery[] }>(['notify', 'deliveries']);
    const d = deliveries.items.find((x) => x.id === queued.id);
    assert.equal(d?.event, 'test');
    assert.equal(d?.endpointId, endpoint.id);
    const dead = await hub.json<{ items: Delivery[] }>(['notify', 'deliveries', '--state', 'dead']);
    assert.ok(dead.items.every((x) => x.state === 'dead'));

    const bad = await hub.run(['notify', 'rule', 'create', '--file', file('bad.json', '[1]')]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /must hold one JSON object \(the rule\)/);
    const badState = await hub.run(['notify', 'deliveries', '--state', 'lost']);
    assert.notEqual(badState.code, 0);
    assert.match(badState.stderr, /--state must be one of pending, delivered, dead, canceled/);

    assert.equal((await hub.run(['notify', 'rule', 'delete', rule.id])).code, 0);
    assert.equal((await hub.run(['notify', 'endpoint', 'delete', endpoint.id])).code, 0);
    assert.deepEqual(await hub.json(['notify', 'endpoints']), { items: [], nextCursor: null });
  });

  test('maintenance windows: create, list, show, delete; bad flags refused', async () => {
    const w = await hub.json<{ id: string; status: string; kinds: string[]; endsAt: string }>([
      'notify',
      'window',
      'create',
      '--minutes',
      '90',
      '--reason',
      'line retooling',
      '--kind',
      'device_offline',
      '--kind',
      'message_flood',
    ]);
    assert.equal(w.status, 'active');
    assert.deepEqual(w.kinds, ['device_offline', 'message_flood']);
    const ends = Date.parse(w.endsAt) - Date.now();
    assert.ok(ends > 85 * 60_000 && ends <= 90 * 60_000, `ends in ~90 min (${ends} ms)`);
    const table = await hub.run(['notify', 'windows']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      /active\s+organization\s+device_offline,message_flood\s+[-0-9: ]+line retooling/,
    );
    const listed = await hub.json<{ items: { id: string }[]; nextCursor: null }>([
      'notify',
      'windows',
      '--all',
    ]);
    assert.deepEqual(
      listed.items.map((x) => x.id),
      [w.id],
    );
    const shown = await hub.run(['notify', 'window', 'show', w.id]);
    assert.match(shown.stdout, /reason\s+line retooling/);
    assert.match(shown.stdout, /created by\s+(user|api_key):/);

    const both = await hub.run([
      'notify',
      'window',
      'create',
      '--minutes',
      '5',
      '--end',
      '2030-01-01T00:00:00Z',
      '--reason',
      'x',
    ]);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /exactly one of --end and --minutes/);
    const noReason = await hub.run(['notify', 'window', 'create', '--minutes', '5']);
    assert.notEqual(noReason.code, 0);
    assert.match(noReason.stderr, /--reason/);
    const tooLong = await hub.run([
      'notify',
      'window',
      'create',
      '--minutes',
      String(31 * 24 * 60),
      '--reason',
      'x',
    ]);
    assert.notEqual(tooLong.code, 0);
    assert.match(tooLong.stderr, /at most 30 days/);

    assert.equal((await hub.run(['notify', 'window', 'delete', w.id])).code, 0);
    assert.deepEqual(await hub.json(['notify', 'windows']), { items: [], nextCursor: null });
  });
});
