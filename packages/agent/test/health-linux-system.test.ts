/** LinuxSystem: health metrics and sockets from /proc, against fixture files and the real /proc. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinuxSystem } from '../src/health/linux-system.js';
import {
  decodeProcAddress,
  parseProcNetTcp,
  parseProcStat,
  cpuPercent,
} from '../src/health/procfs.js';
import { openLoopbackPair, type LoopbackPair } from './loopback.js';

const STAT_1 = 'cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 100 0 50 800 50 0 0 0 0 0\nintr 1\n';
const STAT_2 = 'cpu  160 0 70 900 70 0 0 0 0 0\ncpu0 160 0 70 900 70 0 0 0 0 0\nintr 1\n';
const MEMINFO =
  'MemTotal:        2048000 kB\nMemFree:          100000 kB\nMemAvailable:    1024000 kB\n';
const UPTIME = '12345.67 40000.00\n';
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:   54635     642    0    0    0     0          0         0    54635     642    0    0    0     0       0          0
  eth0: 1000     10    0    0    0     0          0         0   2000    20    0    0    0     0       0          0
 wlan0:  300      3    0    0    0     0          0         0     40     4    0    0    0     0       0          0
`;
// 127.0.0.1:1883 listening; 10.0.0.5:40000 → 192.0.2.10:8883 established; one TIME_WAIT (06).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:075B 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 7182 1 0 100 0 0 10 0
   1: 0500000A:9C40 0A0200C0:22B3 01 00000000:00000000 00:00000000 00000000     0        0 7272 1 0 100 0 0 10 0
   2: 0500000A:9C41 0A0200C0:22B3 06 00000000:00000000 00:00000000 00000000     0        0 0 1 0 100 0 0 10 0
`;
// [::]:8443 listening; ::ffff:10.0.0.5:8443 ← ::ffff:10.0.0.9:50000 established; [::1]:22 listening;
// 2001:db8::5:41000 → 2001:db8::1:443 established.
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:20FB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0000000000000000FFFF00000500000A:20FB 0000000000000000FFFF00000900000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
   3: B80D0120000000000000000005000000:A028 B80D0120000000000000000001000000:01BB 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0
`;

describe('/proc parsers', () => {
  it('decodes IPv4 and IPv6 addresses in host byte order, unmapping IPv4-mapped IPv6', () => {
    assert.deepEqual(decodeProcAddress('0100007F:075B', true), {
      address: '127.0.0.1',
      port: 1883,
    });
    assert.deepEqual(decodeProcAddress('7F000001:075B', false), {
      address: '127.0.0.1',
      port: 1883,
    });
    assert.deepEqual(decodeProcAddress('00000000000000000000000001000000:0016', true), {
      address: '::1',
      port: 22,
    });
    assert.deepEqual(decodeProcAddress('0000000000000000FFFF00000500000A:20FB', true), {
      address: '10.0.0.5',
      port: 8443,
    });
    assert.deepEqual(decodeProcAddress('B80D0120000000000000000001000000:01BB', true), {
      address: '2001:db8::1',
      port: 443,
    });
    assert.throws(() => decodeProcAddress('XYZ:0016', true), /malformed/);
  });

  it('keeps only listening and established sockets', () => {
    const s = parseProcNetTcp(TCP, true);
    assert.deepEqual(s, [
      {
        state: 'listen',
        localAddress: '127.0.0.1',
        localPort: 1883,
        remoteAddress: '0.0.0.0',
        remotePort: 0,
      },
      {
        state: 'established',
        localAddress: '10.0.0.5',
        localPort: 40000,
        remoteAddress: '192.0.2.10',
        remotePort: 8883,
      },
    ]);
  });

  it('computes CPU busy share between two samples of /proc/stat', () => {
    // Δtotal = 220+120… : (160+70+900+70) − (100+50+800+50) = 200; Δidle = (900+70) − (800+50) = 120.
    assert.equal(cpuPercent(parseProcStat(STAT_1), parseProcStat(STAT_2)), 40);
    assert.equal(cpuPercent(parseProcStat(STAT_1), parseProcStat(STAT_1)), 0);
    assert.throws(() => parseProcStat('intr 1\n'), /no aggregate "cpu" line/);
  });
});

describe('LinuxSystem on fixture files', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'bulwark-proc-'));
    await mkdir(join(root, 'net'));
    await writeFile(join(root, 'stat'), STAT_1);
    await writeFile(join(root, 'meminfo'), MEMINFO);
    await writeFile(join(root, 'uptime'), UPTIME);
    await writeFile(join(root, 'net/dev'), NET_DEV);
    await writeFile(join(root, 'net/tcp'), TCP.replace('0100007F', '0100007F'));
    await writeFile(join(root, 'net/tcp6'), TCP6);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('reports every DeviceMetrics field from the files', async () => {
    const sys = new LinuxSystem({
      procRoot: root,
      diskPath: root,
      cpuSampleMs: 1,
      clock: { now: () => Date.UTC(2026, 0, 2, 3, 4, 5) },
    });
    // The first call samples twice (STAT_1 both times here: no time passed → 0 %).
    const first = await sys.metrics();
    assert.equal(first.cpuPercent, 0);
    await writeFile(join(root, 'stat'), STAT_2);
    const m = await sys.metrics();
    assert.equal(m.at, '2026-01-02T03:04:05.000Z');
    assert.equal(m.cpuPercent, 40);
    assert.deepEqual(m.memory, { totalBytes: 2048000 * 1024, availableBytes: 1024000 * 1024 });
    assert.equal(m.uptimeSeconds, 12345);
    assert.deepEqual(m.network, { rxBytes: 1300, txBytes: 2040 });
    assert.deepEqual(m.listeningPorts, [22, 1883, 8443]);
    assert.equal(m.connections, 3);
    assert.ok(m.disk.totalBytes > 0 && m.disk.availableBytes <= m.disk.totalBytes);
  });

  it('lists sockets from tcp and tcp6, IPv4-mapped addresses unmapped', async () => {
    const sys = new LinuxSystem({ procRoot: root, diskPath: root });
    const est = (await sys.sockets()).filter((s) => s.state === 'established');
    assert.deepEqual(
      est.map((s) => `${s.localAddress}:${s.localPort}>${s.remoteAddress}:${s.remotePort}`),
      [
        '10.0.0.5:40000>192.0.2.10:8883',
        '10.0.0.5:8443>10.0.0.9:50000',
        '2001:db8::5:41000>2001:db8::1:443',
      ],
    );
  });

  it('treats a missing tcp6 as no IPv6 sockets, and a missing file as an error', async () => {
    const bare = await mkdtemp(join(tmpdir(), 'bulwark-proc-'));
    try {
      await mkdir(join(bare, 'net'));
      await writeFile(join(bare, 'net/tcp'), TCP);
      const sys = new LinuxSystem({ procRoot: bare, diskPath: bare });
      assert.equal((await sys.sockets()).length, 2);
      await assert.rejects(sys.metrics(), { code: 'ENOENT' });
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it('reboots by running the configured command (never a real reboot here)', async () => {
    const ok = new LinuxSystem({
      diskPath: root,
      rebootCommand: [process.execPath, '-e', 'process.exit(0)'],
    });
    await ok.reboot();
    const failing = new LinuxSystem({
      diskPath: root,
      rebootCommand: [process.execPath, '-e', 'process.exit(3)'],
    });
    await assert.rejects(failing.reboot(), { code: 3 });
  });

  it('refuses an empty reboot command', () => {
    assert.throws(() => new LinuxSystem({ diskPath: root, rebootCommand: [] }), /rebootCommand/);
  });
});

describe('LinuxSystem on the real /proc', () => {
  let pair: LoopbackPair;
  let port: number;
  before(async () => {
    pair = await openLoopbackPair();
    port = pair.port;
  });
  after(() => pair.close());

  it('sees a listening socket and a loopback connection this test opened', async () => {
    const sys = new LinuxSystem({ diskPath: tmpdir(), cpuSampleMs: 50 });
    const sockets = await sys.sockets();
    assert.ok(
      sockets.some(
        (s) => s.state === 'listen' && s.localPort === port && s.localAddress === '127.0.0.1',
      ),
    );
    assert.ok(
      sockets.some(
        (s) =>
          s.state === 'established' &&
          s.remotePort === port &&
          s.localPort === pair.client.localPort &&
          s.remoteAddress === '127.0.0.1',
      ),
    );
  });

  it('returns plausible metrics', async () => {
    const sys = new LinuxSystem({ diskPath: tmpdir(), cpuSampleMs: 50 });
    const m = await sys.metrics();
    assert.ok(m.cpuPercent >= 0 && m.cpuPercent <= 100);
    assert.ok(m.memory.totalBytes > 0 && m.memory.availableBytes <= m.memory.totalBytes);
    assert.ok(m.disk.totalBytes > 0 && m.disk.availableBytes <= m.disk.totalBytes);
    assert.ok(m.uptimeSeconds > 0);
    assert.ok(m.network.rxBytes >= 0 && m.network.txBytes >= 0);
    assert.ok(m.listeningPorts.includes(port));
    assert.ok(m.connections >= 2); // both ends of this test's connection
    const again = await sys.metrics(); // measured since the previous call: no wait
    assert.ok(again.cpuPercent >= 0 && again.cpuPercent <= 100);
  });
});
