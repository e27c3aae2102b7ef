/**
 * A site network namespace for the gateway's tests: the hub on the host side of a veth pair, the
 * gateway and its devices in the namespace (on its own loopback, so the hub's side has no route
 * to them). Needs root and iproute2; under CI=true their absence is a failed test, never a skip.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, randomInt } from 'node:crypto';
import { it } from 'node:test';

const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** The `skip` option of a namespace suite; under CI=true a missing prerequisite is a failure. */
export function netnsSkip(): false | string {
  const ready = has('ip') && process.getuid?.() === 0;
  if (!ready && process.env['CI'] === 'true') {
    it('iproute2 is installed and the tests run as root (required when CI=true)', () =>
      assert.fail(has('ip') ? 'network namespace tests need root' : 'apt-get install iproute2'));
  }
  return ready ? false : 'needs root and `ip` (iproute2) to create network namespaces';
}

/** The child's exit code, waiting at most `ms` (then SIGKILL, and the test fails). */
export async function exited(c: ChildProcess, ms: number): Promise<number | null> {
  if (c.exitCode !== null) return c.exitCode;
  // Killed by a signal already: its 'exit' has been emitted, so waiting for it would never end.
  assert.ok(c.signalCode === null, `the child was killed (${c.signalCode})`);
  const timer = setTimeout(() => c.kill('SIGKILL'), ms);
  try {
    const [code] = (await once(c, 'exit')) as [number | null];
    assert.ok(code !== null, `the child did not exit within ${ms} ms (killed)`);
    return code;
  } finally {
    clearTimeout(timer);
  }
}

/** A namespace and veth pair named from `tag` in 10.`octet`.x.0/24 (x random). */
export function siteNetns(tag: string, octet: number) {
  const TAG = `${tag}${randomBytes(3).toString('hex')}`;
  const ns = `${TAG}s`;
  const vHub = `${TAG}h`;
  const vSite = `${TAG}v`;
  const net = `10.${octet}.${randomInt(1, 250)}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  const inSite = (...args: string[]) => ip('netns', 'exec', ns, ...args);
  const children = new Set<ChildProcess>();
  return {
    ns,
    vHub,
    vSite,
    hubAddr: `${net}.1`,
    siteAddr: `${net}.2`,
    ip,
    inSite,
    /** Creates the namespace, the pair and the addresses, every link up. */
    up() {
      ip('netns', 'add', ns);
      ip('link', 'add', vHub, 'type', 'veth', 'peer', 'name', vSite);
      ip('link', 'set', vSite, 'netns', ns);
      ip('addr', 'add', `${net}.1/24`, 'dev', vHub);
      ip('link', 'set', vHub, 'up');
      inSite('ip', 'addr', 'add', `${net}.2/24`, 'dev', vSite);
      inSite('ip', 'link', 'set', vSite, 'up');
      inSite('ip', 'link', 'set', 'lo', 'up');
    },
    /** Node with `args` inside the namespace, its output collected. */
    start(args: string[]) {
      const c = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(c);
      const out = { text: '' };
      c.stdout.on('data', (b: Buffer) => (out.text += b.toString()));
      c.stderr.on('data', (b: Buffer) => (out.text += b.toString()));
      return { c, out };
    },
    /** Kills what `start` started (waiting for each), then deletes the namespace and its pair. */
    async down() {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await Promise.all([...children].map((c) => exited(c, 10_000).catch(() => undefined)));
      try {
        ip('netns', 'del', ns); // takes the veth pair with it
      } catch {
        /* already gone */
      }
    },
  };
}
