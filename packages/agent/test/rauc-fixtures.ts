/**
 * A RAUC system on files for the RAUC adapter's test: a signing key and certificate made with
 * openssl, a bundle built with `rauc bundle`, two slot files, a system.conf with
 * `bootloader=custom` and a backend script that keeps the bootloader's state in files (and, with
 * `boot`, plays the bootloader: the primary while it has attempts, else the other good slot), a
 * private D-Bus session bus and `rauc service` on it, restarted after each simulated boot with
 * `--override-boot-slot` (the kernel's `rauc.slot=` of a real boot).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { handOver, type Board } from './boot-fixtures.js';

const BACKEND = `#!/bin/sh
# RAUC custom bootloader backend on files: primary, state-X (good|bad), attempts-X.
d="$(dirname "$0")/bootstate"
mkdir -p "$d"
case "$1" in
  get-primary) cat "$d/primary" ;;
  set-primary) echo "$2" > "$d/primary"; echo good > "$d/state-$2"; echo 3 > "$d/attempts-$2" ;;
  get-state) cat "$d/state-$2" ;;
  set-state) echo "$3" > "$d/state-$2"; if [ "$3" = good ]; then echo 3; else echo 0; fi > "$d/attempts-$2" ;;
  boot)
    p="$(cat "$d/primary")"; if [ "$p" = A ]; then o=B; else o=A; fi
    for s in "$p" "$o"; do
      n="$(cat "$d/attempts-$s")"
      if [ "$(cat "$d/state-$s")" = good ] && [ "$n" -gt 0 ]; then
        echo $((n - 1)) > "$d/attempts-$s"; echo "$s"; exit 0
      fi
    done
    echo "no bootable slot" >&2; exit 1 ;;
  *) exit 1 ;;
esac
`;

/** One RAUC system; `close()` stops its service and bus. */
export class RaucSystem {
  readonly conf: string;
  readonly env: NodeJS.ProcessEnv;
  private bus: ChildProcess | undefined;
  private service: ChildProcess | undefined;

  constructor(
    readonly board: Board,
    readonly dir = join(board.dir, 'rauc'),
  ) {
    mkdirSync(join(dir, 'bootstate'), { recursive: true });
    mkdirSync(join(dir, 'data'), { recursive: true });
    mkdirSync(join(dir, 'mnt'), { recursive: true });
    for (const s of ['A', 'B']) {
      writeFileSync(join(dir, 'bootstate', `state-${s}`), 'good\n');
      writeFileSync(join(dir, 'bootstate', `attempts-${s}`), '3\n');
    }
    writeFileSync(join(dir, 'bootstate', 'primary'), 'A\n');
    writeFileSync(join(dir, 'backend.sh'), BACKEND);
    chmodSync(join(dir, 'backend.sh'), 0o755);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=bulwark rauc test',
        '-days',
        '1',
      ],
      { stdio: 'ignore' },
    );
    this.conf = join(dir, 'system.conf');
    writeFileSync(
      this.conf,
      [
        '[system]',
        'compatible=bulwark-test-board',
        'bootloader=custom',
        `mountprefix=${join(dir, 'mnt')}`,
        `data-directory=${join(dir, 'data')}`,
        '[handlers]',
        `bootloader-custom-backend=${join(dir, 'backend.sh')}`,
        '[keyring]',
        `path=${join(dir, 'cert.pem')}`,
        '[slot.rootfs.0]',
        `device=${board.images.a}`,
        'type=raw',
        'bootname=A',
        '[slot.rootfs.1]',
        `device=${board.images.b}`,
        'type=raw',
        'bootname=B',
        '',
      ].join('\n'),
    );
    const address = `unix:path=${join(dir, 'bus')}`;
    this.env = {
      ...process.env,
      DBUS_SESSION_BUS_ADDRESS: address,
      DBUS_STARTER_BUS_TYPE: 'session',
    };
  }

  /** A signed bundle of `image` (a plain bundle: verity needs device-mapper). */
  bundle(image: Uint8Array, version: string, name = `bundle-${version}.raucb`): string {
    const content = join(this.dir, `content-${version}`);
    mkdirSync(content, { recursive: true });
    writeFileSync(join(content, 'rootfs.img'), image);
    writeFileSync(
      join(content, 'manifest.raucm'),
      `[update]\ncompatible=bulwark-test-board\nversion=${version}\n[bundle]\nformat=plain\n[image.rootfs]\nfilename=rootfs.img\n`,
    );
    const out = join(this.dir, name);
    execFileSync(
      'rauc',
      [
        'bundle',
        `--cert=${join(this.dir, 'cert.pem')}`,
        `--key=${join(this.dir, 'key.pem')}`,
        content,
        out,
      ],
      {
        stdio: 'ignore',
      },
    );
    return out;
  }

  /** Starts the bus, then the service as booted from `bootname`. */
  async start(bootname = 'A'): Promise<void> {
    this.bus = spawn(
      'dbus-daemon',
      ['--session', '--nofork', '--nopidfile', `--address=${this.env['DBUS_SESSION_BUS_ADDRESS']}`],
      {
        stdio: 'ignore',
      },
    );
    await this.until(() =>
      execFileSync(
        'dbus-send',
        [
          '--session',
          '--dest=org.freedesktop.DBus',
          '--type=method_call',
          '--print-reply',
          '/org/freedesktop/DBus',
          'org.freedesktop.DBus.ListNames',
        ],
        { env: this.env, stdio: 'ignore' },
      ),
    );
    await this.startService(bootname);
  }

  /** The bootloader's choice (backend `boot`), then the kernel and RAUC of that boot. */
  async reboot(): Promise<string> {
    await this.stopService();
    const slot = execFileSync(join(this.dir, 'backend.sh'), ['boot'], { encoding: 'utf8' }).trim();
    handOver(this.board, slot);
    await this.startService(slot);
    return slot;
  }

  /** The backend's state of a slot. */
  state(bootname: string): { state: string; attempts: number } {
    const f = (n: string) =>
      execFileSync('cat', [join(this.dir, 'bootstate', `${n}-${bootname}`)], {
        encoding: 'utf8',
      }).trim();
    return { state: f('state'), attempts: Number(f('attempts')) };
  }

  primary(): string {
    return execFileSync(join(this.dir, 'backend.sh'), ['get-primary'], { encoding: 'utf8' }).trim();
  }

  async close(): Promise<void> {
    await this.stopService();
    this.bus?.kill('SIGTERM');
  }

  private async startService(bootname: string): Promise<void> {
    this.service = spawn(
      'rauc',
      ['service', `--conf=${this.conf}`, `--override-boot-slot=${bootname}`],
      {
        env: this.env,
        stdio: 'ignore',
      },
    );
    await this.until(() =>
      execFileSync('rauc', [`--conf=${this.conf}`, 'status'], { env: this.env, stdio: 'ignore' }),
    );
  }

  private async stopService(): Promise<void> {
    const s = this.service;
    if (s === undefined || s.exitCode !== null) return;
    const gone = new Promise((r) => s.once('exit', r));
    s.kill('SIGTERM');
    await gone;
  }

  private async until(fn: () => unknown): Promise<void> {
    for (let i = 0; i < 100; i++) {
      try {
        fn();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    fn();
  }
}
