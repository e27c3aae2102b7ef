import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_ENTRIES, SiteInventory, type Heard } from '../src/inventory.js';
import { parseGatewayConfig } from '../src/config.js';

const dev = (id: string, fw = '1.0.0'): Heard => ({
  id,
  type: 'sensor',
  fw,
  port: 8443,
  addresses: ['10.0.0.5'],
});
const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 0, 0, s));
const kinds = (events: { kind: string; detail?: Record<string, unknown> }[]) =>
  events.map((e) => `${e.kind}:${String(e.detail?.['deviceId'])}`);

describe('site inventory', () => {
  const site = (id: string) => id.startsWith('ok-');

  it('reports appearance, unknown devices, firmware changes and disappearance', () => {
    const inv = new SiteInventory(2);
    assert.deepEqual(kinds(inv.round([dev('ok-1'), dev('stranger')], site, at(0))), [
      'site.device_appeared:ok-1',
      'site.device_appeared:stranger',
      'site.unknown_device:stranger',
    ]);
    const first = inv.round([dev('ok-1'), dev('stranger')], site, at(1));
    assert.deepEqual(first, [], 'nothing changed, nothing reported');
    const up = inv.round([dev('ok-1', '1.1.0'), dev('stranger')], site, at(2));
    assert.deepEqual(kinds(up), ['site.firmware_changed:ok-1']);
    assert.equal(up[0]!.detail['previous'], '1.0.0');
    assert.equal(up[0]!.detail['firmwareVersion'], '1.1.0');
    // Missed once: still present; missed twice in a row: gone.
    assert.deepEqual(inv.round([dev('stranger')], site, at(3)), []);
    assert.equal(inv.list().find((e) => e.id === 'ok-1')?.missed, 1);
    const gone = inv.round([dev('stranger')], site, at(4));
    assert.deepEqual(kinds(gone), ['site.device_disappeared:ok-1']);
    assert.equal(gone[0]!.detail['lastSeen'], at(2).toISOString());
    assert.deepEqual(
      inv.list().map((e) => e.id),
      ['stranger'],
    );
  });

  it('a device heard again before it is reported gone is not reported at all', () => {
    const inv = new SiteInventory(3);
    inv.round([dev('ok-1')], site, at(0));
    inv.round([], site, at(1));
    inv.round([], site, at(2));
    assert.deepEqual(inv.round([dev('ok-1')], site, at(3)), []);
    assert.equal(inv.list()[0]!.missed, 0);
  });

  it('a device the hub drops from the site but still on the LAN is flagged', () => {
    let listed = true;
    const inv = new SiteInventory(3);
    inv.round([dev('d-1')], () => listed, at(0));
    listed = false;
    assert.deepEqual(kinds(inv.round([dev('d-1')], () => listed, at(1))), [
      'site.unknown_device:d-1',
    ]);
  });

  it('ignores malformed and repeated ids, clips long fields, and stays bounded', () => {
    const inv = new SiteInventory(1);
    const events = inv.round(
      [
        dev(''),
        dev('has space'),
        dev('x'.repeat(200)),
        dev('ok-1', 'v'.repeat(500)),
        dev('ok-1', 'second'),
      ],
      site,
      at(0),
    );
    assert.deepEqual(kinds(events), ['site.device_appeared:ok-1']);
    assert.equal(inv.list()[0]!.fw.length, 64);
    const flood = [
      dev('ok-1'),
      ...Array.from({ length: MAX_ENTRIES + 50 }, (_, i) => dev(`n-${i}`)),
    ];
    inv.round(flood, site, at(1));
    assert.equal(inv.size, MAX_ENTRIES);
  });

  it('survives a restart through its file; a torn or foreign file starts empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-inv-'));
    try {
      const file = join(dir, 'inventory.json');
      const a = new SiteInventory(2);
      a.round([dev('ok-1'), dev('ok-2', '2.0')], site, at(0));
      await a.save(file);
      const b = new SiteInventory(2);
      await b.load(file);
      assert.deepEqual(b.list(), a.list());
      // Known again after the restart: no second "appeared".
      assert.deepEqual(b.round([dev('ok-1'), dev('ok-2', '2.0')], site, at(1)), []);
      writeFileSync(file, '{"v":1,"entries":[{"id":"ok');
      const c = new SiteInventory(2);
      await c.load(file);
      assert.equal(c.size, 0);
      writeFileSync(file, JSON.stringify({ v: 99, entries: [dev('ok-1')] }));
      await c.load(file);
      assert.equal(c.size, 0);
      assert.match(readFileSync(file, 'utf8'), /"v":99/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('configuration: defaults, off, and refused values', () => {
    const base = {
      hubUrl: 'https://127.0.0.1:1',
      mqttUrl: 'mqtts://127.0.0.1:1',
      caFile: 'ca.pem',
      stateDir: '/tmp/x',
      gateway: { broker: { certFile: 'c.pem', keyFile: 'k.pem' } },
    };
    const c = parseGatewayConfig(base, '/tmp');
    assert.deepEqual(c.inventory, {
      enabled: true,
      intervalMs: 60_000,
      listenMs: 3000,
      missedRounds: 3,
      mdnsPort: 5353,
    });
    const off = parseGatewayConfig(
      { ...base, gateway: { ...base.gateway, inventory: { enabled: false } } },
      '/tmp',
    );
    assert.equal(off.inventory.enabled, false);
    for (const [inventory, msg] of [
      [{ enabled: 'yes' }, /enabled must be true or false/],
      [{ intervalSeconds: 1 }, /intervalSeconds must be a whole number from 5/],
      [{ intervalSeconds: 5, listenMs: 6000 }, /listenMs must be shorter/],
      [{ missedRounds: 0 }, /missedRounds must be a whole number from 1/],
      [{ colour: 'red' }, /gateway\.inventory\.colour is not a known field/],
    ] as const) {
      assert.throws(
        () => parseGatewayConfig({ ...base, gateway: { ...base.gateway, inventory } }, '/tmp'),
        msg,
      );
    }
  });
});
