/** The connection allowlist and its watcher: entries, matching, one event per destination per window. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import type { DeviceEvent } from '@bulwark/protocol';
import { isAllowed, parseAllowlist, parseAllowRule } from '../src/health/allowlist.js';
import { ConnectionWatcher } from '../src/health/connection-watcher.js';
import { LinuxSystem } from '../src/health/linux-system.js';
import type { SocketInfo } from '../src/ports.js';
import { openLoopbackPair, type LoopbackPair } from './loopback.js';

const est = (remoteAddress: string, remotePort: number, localPort = 40000): SocketInfo => ({
  state: 'established',
  localAddress: '10.0.0.5',
  localPort,
  remoteAddress,
  remotePort,
});

describe('allowlist entries', () => {
  it('accepts CIDR, single addresses, ports, port ranges, IPv6 in brackets and *', () => {
    const rules = parseAllowlist([
      '10.0.0.0/8',
      '192.0.2.10:8883',
      '198.51.100.0/24:8000-8999',
      '2001:db8::/32',
      '[2001:db9:1::/48]:443',
      '[2001:db8:2::1]:8883',
      '*:53',
    ]);
    const ok = (a: string, p: number) => isAllowed(rules, a, p);
    assert.ok(ok('10.200.3.4', 1));
    assert.ok(ok('192.0.2.10', 8883));
    assert.ok(!ok('192.0.2.10', 8884));
    assert.ok(!ok('192.0.2.11', 8883));
    assert.ok(ok('198.51.100.7', 8000) && ok('198.51.100.7', 8999) && !ok('198.51.100.7', 9000));
    assert.ok(ok('2001:db8:ffff::1', 22));
    assert.ok(ok('2001:db9:1::9', 443) && !ok('2001:db9:1::9', 80));
    assert.ok(ok('2001:db8:2::1', 8883));
    assert.ok(ok('203.0.113.1', 53) && ok('2001:db9::1', 53));
    assert.ok(!ok('203.0.113.1', 443));
    assert.ok(!ok('2001:db9::1', 443));
    // An IPv4-mapped IPv6 address matches IPv4 rules.
    assert.ok(ok('::ffff:10.1.2.3', 443));
    assert.ok(!ok('not-an-address', 53));
    assert.ok(isAllowed(parseAllowlist(['*']), '2001:db8::1', 1));
    assert.equal(parseAllowlist([]).length, 0);
  });

  it('refuses bad entries with a message naming the entry and the problem', () => {
    const cases: [string, RegExp][] = [
      ['', /is empty/],
      ['example.com:443', /not an IPv4 or IPv6 address \(host names are not accepted\)/],
      ['10.0.0.0/33', /prefix \/33 is not between \/0 and \/32/],
      ['2001:db8::/129', /prefix \/129/],
      ['10.0.0.1/8', /bits set beyond \/8/],
      ['10.0.0.1:0', /port 0 is outside 1-65535/],
      ['10.0.0.1:70000', /port 70000 is outside/],
      ['10.0.0.1:90-80', /runs backwards/],
      ['10.0.0.1:http', /not a number or range/],
      ['[2001:db8::1:443', /"\[" without "\]"/],
      ['[10.0.0.1]:443', /brackets are for IPv6/],
      ['[2001:db8::1]443', /expected ":port"/],
      ['300.1.1.1', /not an IPv4 or IPv6 address/],
    ];
    for (const [entry, message] of cases) {
      assert.throws(
        () => parseAllowRule(entry),
        (err: unknown) => {
          assert.ok(err instanceof Error && 'code' in err && err.code === 'validation_failed');
          assert.match(err.message, message);
          assert.ok(err.message.includes(JSON.stringify(entry)));
          return true;
        },
        entry,
      );
    }
  });
});

describe('ConnectionWatcher on fixed sockets', () => {
  let sockets: SocketInfo[] = [];
  let now = Date.UTC(2026, 0, 1);
  const system = { sockets: async () => sockets };
  const clock = { now: () => now };

  it('reports a disallowed destination once per window, ignoring loopback, listeners and inbound', async () => {
    const reported: DeviceEvent[] = [];
    const w = new ConnectionWatcher({
      system,
      clock,
      allowlist: ['192.0.2.10:8883'],
      windowMs: 60_000,
      report: (e) => reported.push(e),
    });
    sockets = [
      {
        state: 'listen',
        localAddress: '0.0.0.0',
        localPort: 8443,
        remoteAddress: '0.0.0.0',
        remotePort: 0,
      },
      est('192.0.2.10', 8883), // allowed
      est('203.0.113.9', 4444, 40001), // not allowed
      est('127.0.0.1', 5432), // loopback: ignored by default
      est('::1', 5432), // loopback: ignored by default
      est('198.51.100.3', 50000, 8443), // inbound to a listening port: a client, not a destination
    ];
    const first = await w.check();
    assert.deepEqual(first, [
      {
        kind: 'connection_not_allowed',
        severity: 'warning',
        at: '2026-01-01T00:00:00.000Z',
        detail: { remoteAddress: '203.0.113.9', remotePort: 4444, localPort: 40001 },
      },
    ]);
    assert.deepEqual(reported, first);
    // The same destination (even from another local port) is not reported again within the window.
    sockets.push(est('203.0.113.9', 4444, 40002));
    now += 30_000;
    assert.deepEqual(await w.check(), []);
    // After the window it is reported again if still connected.
    now += 31_000;
    assert.equal((await w.check()).length, 1);
    assert.equal(reported.length, 2);
  });

  it('caps events per check and reports the rest later', async () => {
    sockets = Array.from({ length: 30 }, (_, i) => est(`203.0.113.${i + 1}`, 443, 41000 + i));
    const w = new ConnectionWatcher({
      system,
      clock,
      allowlist: [],
      maxEventsPerCheck: 20,
      report: () => undefined,
    });
    assert.equal((await w.check()).length, 20);
    assert.equal((await w.check()).length, 10);
    assert.equal((await w.check()).length, 0);
  });

  it('keeps the old allowlist when a new one is bad, and re-checks after a good change', async () => {
    sockets = [est('203.0.113.9', 443)];
    const w = new ConnectionWatcher({
      system,
      clock,
      allowlist: ['203.0.113.0/24'],
      report: () => undefined,
    });
    assert.equal((await w.check()).length, 0);
    assert.throws(() => w.setAllowlist(['10.0.0.0/8', 'bogus']), /"bogus"/);
    assert.equal((await w.check()).length, 0);
    w.setAllowlist(['10.0.0.0/8']);
    assert.equal((await w.check()).length, 1);
  });

  it('refuses a bad allowlist at construction', () => {
    assert.throws(
      () => new ConnectionWatcher({ system, allowlist: ['10.0.0.0/40'], report: () => undefined }),
      /prefix \/40/,
    );
  });

  it('start() checks at once and on its interval; stop() ends it', async () => {
    sockets = [est('203.0.113.50', 443)];
    const seen: DeviceEvent[] = [];
    let notify: () => void = () => undefined;
    const w = new ConnectionWatcher({
      system,
      clock,
      allowlist: [],
      intervalMs: 10,
      windowMs: 0, // report on every check, so each tick is visible
      report: (e) => {
        seen.push(e);
        if (seen.length >= 3) notify();
      },
    });
    // The watcher's timer is unref'd (it must not keep the agent alive): this guard keeps the test
    // process up and bounds the wait.
    let guard: NodeJS.Timeout | undefined;
    const three = new Promise<void>((resolve, reject) => {
      notify = resolve;
      guard = setTimeout(() => reject(new Error('no three checks within 5 s')), 5000);
    });
    w.start();
    await three.finally(() => clearTimeout(guard));
    w.stop();
    const count = seen.length;
    await new Promise((r) => setTimeout(r, 50)); // five intervals: none may fire after stop()
    assert.equal(seen.length, count);
  });
});

describe('ConnectionWatcher on the real /proc (loopback not ignored)', () => {
  let pair: LoopbackPair;
  let port: number;
  before(async () => {
    pair = await openLoopbackPair();
    port = pair.port;
  });
  after(() => pair.close());

  it('reports a real connection outside the allowlist, and not one inside it', async () => {
    const system = new LinuxSystem({ diskPath: tmpdir() });
    const mine = (events: DeviceEvent[]) =>
      events.filter(
        (e) => e.detail['remotePort'] === port && e.detail['localPort'] === pair.client.localPort,
      );
    const allowOthers = [
      `127.0.0.1:1-${port - 1}`,
      ...(port < 65535 ? [`127.0.0.1:${port + 1}-65535`] : []),
    ];
    const blocked = new ConnectionWatcher({
      system,
      allowlist: allowOthers,
      ignoreLoopback: false,
      report: () => undefined,
    });
    const events = mine(await blocked.check());
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]?.detail, {
      remoteAddress: '127.0.0.1',
      remotePort: port,
      localPort: pair.client.localPort,
    });
    // The server's end (local port = the listening port) is inbound: not reported.
    assert.equal((await blocked.check()).filter((e) => e.detail['localPort'] === port).length, 0);
    const allowed = new ConnectionWatcher({
      system,
      allowlist: [`127.0.0.0/8:${port}`],
      ignoreLoopback: false,
      report: () => undefined,
    });
    assert.equal(mine(await allowed.check()).length, 0);
    const ignoring = new ConnectionWatcher({ system, allowlist: [], report: () => undefined });
    assert.equal(mine(await ignoring.check()).length, 0);
  });
});
