/**
 * LAN discovery across two network namespaces joined by a veth pair: the announcer runs in one
 * (a child process under `ip netns exec`), `bulwark discover` — and, if installed, Avahi's
 * avahi-browse — in the other. Needs root and iproute2; under CI=true a missing `ip` fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./discovery-child.js', import.meta.url));
const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const isRoot = process.getuid?.() === 0;
const ready = has('ip') && isRoot;
if (!ready && process.env['CI'] === 'true') {
  it('iproute2 is installed and the tests run as root (required when CI=true)', () =>
    assert.fail(has('ip') ? 'network namespace tests need root' : 'apt-get install iproute2'));
}
const skip = ready ? false : 'needs root and `ip` (iproute2) to create network namespaces';

const AVAHI = ['avahi-browse', 'avahi-daemon', 'dbus-daemon'];
const avahiMissing = AVAHI.filter((c) => !has(c));
if (ready && avahiMissing.length > 0 && process.env['CI'] === 'true') {
  it('avahi-utils, avahi-daemon and dbus are installed (required when CI=true)', () =>
    assert.fail(
      `missing ${avahiMissing.join(', ')}: apt-get install avahi-utils avahi-daemon dbus`,
    ));
}

/** Unique per run, short enough for interface names (15 bytes). */
const TAG = `bw${randomBytes(3).toString('hex')}`;
const NS_A = `${TAG}a`;
const NS_B = `${TAG}b`;
const ADDR_A = '10.77.0.1';
const ADDR_B = '10.77.0.2';
/** A unique-local IPv6 address on the announcer's side, so AAAA records are announced too. */
const ADDR_A6 = 'fd77::1';
const DEVICE = { deviceId: 'dev-1', deviceType: 'sensor', firmwareVersion: '1.2.3', port: 8443 };

const children = new Set<ChildProcess>();

/** Starts `node discovery-child.js ARGS` in a namespace. */
function child(ns: string, args: string[]): ChildProcess {
  const c = spawn('ip', ['netns', 'exec', ns, process.execPath, CHILD, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

/** Resolves with the child's stdout once it has printed `line`; rejects on exit or after 10 s. */
function waitForLine(c: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`no "${line}" within 10 s: ${out}${err}`)),
      10_000,
    );
    c.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    c.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    c.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before "${line}": ${out}${err}`));
    });
  });
}

/** Runs a child to completion (bounded by 20 s); resolves with its exit code and output. */
async function complete(
  ns: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = child(ns, args);
  let stdout = '';
  let stderr = '';
  c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
  const [code] = (await once(c, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Starts an announcer in NS_A and resolves once it has announced; `stop()` says goodbye. */
async function announcer(opts: object = {}): Promise<{ stop: () => Promise<string> }> {
  const c = child(NS_A, ['announce', JSON.stringify({ ...DEVICE, ...opts })]);
  await waitForLine(c, 'ready');
  return {
    stop: async () => {
      const stopped = waitForLine(c, 'stopped');
      c.stdin?.end();
      await stopped;
      return 'stopped';
    },
  };
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

describe('LAN discovery between network namespaces', { skip }, () => {
  before(async () => {
    await ip('netns', 'add', NS_A);
    await ip('netns', 'add', NS_B);
    await ip(
      'link',
      'add',
      `${TAG}x`,
      'netns',
      NS_A,
      'type',
      'veth',
      'peer',
      'name',
      `${TAG}y`,
      'netns',
      NS_B,
    );
    for (const [ns, dev, addr] of [
      [NS_A, `${TAG}x`, ADDR_A],
      [NS_B, `${TAG}y`, ADDR_B],
    ] as const) {
      await ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('-n', ns, 'link', 'set', dev, 'up', 'multicast', 'on');
      // mDNS goes to 224.0.0.251: without a default route the kernel needs a multicast route.
      await ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev);
    }
    // nodad: usable at once, without waiting for duplicate address detection.
    await ip('-n', NS_A, 'addr', 'add', `${ADDR_A6}/64`, 'dev', `${TAG}x`, 'nodad');
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    // Deleting a namespace removes its end of the veth pair, and with it the other end.
    for (const ns of [NS_A, NS_B]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  });

  it('`bulwark discover` in one namespace lists the agent announced in the other (table)', async () => {
    const a = await announcer();
    try {
      const r = await complete(NS_B, ['discover', '--timeout', '2']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^ID\s+TYPE\s+FW\s+ADDRESS\s+PORT$/);
      assert.ok(
        lines.some((l) => /^dev-1\s+sensor\s+1\.2\.3\s+10\.77\.0\.1,fd77::1\s+8443$/.test(l)),
        r.stdout,
      );
    } finally {
      await a.stop();
    }
  });

  it('announces on one interface and is found with --interface and --json, every TXT field', async () => {
    const a = await announcer({ interface: ADDR_A });
    try {
      const r = await complete(NS_B, [
        'discover',
        '--timeout',
        '2',
        '--interface',
        ADDR_B,
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const found = JSON.parse(r.stdout) as Record<string, unknown>[];
      assert.deepEqual(found, [
        {
          instance: 'dev-1._bulwark._tcp.local',
          id: 'dev-1',
          type: 'sensor',
          fw: '1.2.3',
          version: '1',
          port: 8443,
          host: 'bulwark-dev-1.local',
          addresses: [ADDR_A, ADDR_A6],
        },
      ]);
    } finally {
      await a.stop();
    }
  });

  it('announces on start and says goodbye (TTL 0) on stop', async () => {
    const listener = child(NS_B, ['listen', ADDR_B, '10000']);
    let out = '';
    listener.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitForLine(listener, 'ready');
    const a = await announcer();
    await a.stop();
    await once(listener, 'exit'); // it exits on the goodbye (or after 10 s)
    const packets = out
      .split('\n')
      .filter((l) => l.startsWith('['))
      .map((l) => JSON.parse(l) as { name: string; type: string; ttl?: number }[]);
    const ptr = (p: { name: string; type: string; ttl?: number }[]) =>
      p.find((r) => r.type === 'PTR' && r.name === '_bulwark._tcp.local');
    assert.ok((ptr(packets[0] ?? [])?.ttl ?? 0) > 0, 'first packet: the announcement');
    const last = packets.at(-1) ?? [];
    assert.equal(ptr(last)?.ttl, 0, 'last packet: the goodbye');
    assert.deepEqual(
      last.map((r) => r.type).sort(),
      ['A', 'AAAA', 'PTR', 'PTR', 'SRV', 'TXT'],
      'the goodbye withdraws every record',
    );
    assert.ok(last.every((r) => r.ttl === 0));
  });

  it('answers a legacy unicast query (from a port other than 5353) by unicast, short TTLs, same id', async () => {
    const a = await announcer();
    try {
      const r = await complete(NS_B, ['legacy']);
      assert.equal(r.code, 0, r.stderr);
      const reply = JSON.parse(r.stdout) as {
        id: number;
        from: string;
        questions: { name: string }[];
        records: { name: string; type: string; ttl: number }[];
      };
      assert.equal(reply.id, 4242);
      assert.equal(reply.from, ADDR_A);
      assert.deepEqual(
        reply.questions.map((q) => q.name),
        ['_bulwark._tcp.local'],
      );
      assert.ok(reply.records.some((x) => x.type === 'PTR' && x.name === '_bulwark._tcp.local'));
      assert.ok(reply.records.every((x) => x.ttl > 0 && x.ttl <= 10));
    } finally {
      await a.stop();
    }
  });

  it('discovery in the same namespace as the announcer finds it too', async () => {
    const a = await announcer();
    try {
      const r = await complete(NS_A, ['discover', '--timeout', '1.5', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const found = JSON.parse(r.stdout) as { id: string; addresses: string[] }[];
      assert.deepEqual(
        found.map((d) => [d.id, d.addresses]),
        [['dev-1', [ADDR_A, ADDR_A6]]],
      );
    } finally {
      await a.stop();
    }
  });

  it('finds nothing once the agent has stopped', async () => {
    const a = await announcer();
    await a.stop();
    const r = await complete(NS_B, ['discover', '--timeout', '1']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no Bulwark devices answered within 1 s/);
  });

  it('refuses bad arguments with a clear message', async () => {
    const bad = await complete(NS_B, ['discover', '--timeout', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--timeout must be a number of seconds between 0 and 60/);
    const iface = await complete(NS_B, ['discover', '--interface', ADDR_A]);
    assert.equal(iface.code, 1);
    assert.match(iface.stderr, /no local interface has the address 10\.77\.0\.1/);
    const unknown = await complete(NS_B, ['discover', '--bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--bogus'/);
  });

  describe(
    'Avahi (avahi-browse) sees the agent',
    { skip: avahiMissing.length > 0 ? `missing ${avahiMissing.join(', ')}` : false },
    () => {
      let dir: string;
      let bus: ChildProcess | undefined;
      let avahi: ChildProcess | undefined;
      let env: NodeJS.ProcessEnv;

      before(async () => {
        dir = await mkdtemp(join(tmpdir(), 'bulwark-avahi-'));
        // A private system bus for this test only: avahi-browse talks to avahi-daemon over D-Bus.
        await writeFile(
          join(dir, 'bus.conf'),
          `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${dir}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
`,
        );
        await writeFile(
          join(dir, 'avahi.conf'),
          `[server]\nhost-name=${TAG}-browser\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=${TAG}y\nenable-dbus=yes\n` +
            `[publish]\ndisable-publishing=yes\n[wide-area]\nenable-wide-area=no\n`,
        );
        env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${dir}/bus` };
        bus = spawn(
          'dbus-daemon',
          [`--config-file=${dir}/bus.conf`, '--nofork', '--nopidfile', '--print-address'],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        children.add(bus);
        await once(bus.stdout!, 'data'); // the address: the bus is listening
        avahi = spawn(
          'ip',
          [
            'netns',
            'exec',
            NS_B,
            // `ip netns exec` gives the command its own mount namespace: a private /run/avahi-daemon
            // there keeps this daemon's pid file from clashing with a system avahi-daemon, if any.
            'sh',
            '-c',
            'mkdir -p /run/avahi-daemon && mount -t tmpfs bulwark-test /run/avahi-daemon && exec avahi-daemon "$@"',
            'sh',
            '-f',
            `${dir}/avahi.conf`,
            '--no-drop-root',
            '--no-chroot',
            '--no-rlimits',
          ],
          {
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        children.add(avahi);
        await new Promise<void>((resolve, reject) => {
          let log = '';
          const timer = setTimeout(
            () => reject(new Error(`avahi-daemon did not start: ${log}`)),
            10_000,
          );
          avahi!.stderr!.on('data', (d: Buffer) => {
            log += d.toString();
            if (log.includes('Server startup complete')) {
              clearTimeout(timer);
              resolve();
            }
          });
          avahi!.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`avahi-daemon exited (${code}): ${log}`));
          });
        });
      });

      after(async () => {
        for (const p of [avahi, bus]) {
          if (p !== undefined && p.exitCode === null && p.signalCode === null) {
            p.kill('SIGTERM');
            await once(p, 'exit');
          }
        }
        await rm(dir, { recursive: true, force: true });
      });

      it('resolves the service with its SRV, address and TXT fields', async () => {
        const a = await announcer();
        try {
          // -r resolve, -t terminate after the cache is dumped, -p parsable: `=;iface;IPv4;name;type;domain;host;addr;port;txt`.
          const { stdout } = await run(
            'ip',
            ['netns', 'exec', NS_B, 'avahi-browse', '-r', '-t', '-p', '_bulwark._tcp'],
            {
              env,
              timeout: 15_000,
            },
          );
          const resolved = stdout
            .split('\n')
            .find((l) => l.startsWith('=;') && l.includes(';dev-1;'));
          assert.ok(resolved, stdout);
          const f = resolved.split(';');
          assert.equal(f[4], '_bulwark._tcp');
          assert.equal(f[6], 'bulwark-dev-1.local');
          assert.equal(f[7], ADDR_A);
          assert.equal(f[8], '8443');
          const txt = new Set(
            f
              .slice(9)
              .join(';')
              .match(/"[^"]*"/g)
              ?.map((s) => s.slice(1, -1)),
          );
          for (const kv of ['id=dev-1', 'type=sensor', 'fw=1.2.3', 'port=8443', 'v=1'])
            assert.ok(txt.has(kv), kv);
        } finally {
          await a.stop();
        }
      });
    },
  );
});
