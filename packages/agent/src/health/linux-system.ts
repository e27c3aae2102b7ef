/** `DeviceSystem` on a Linux device: health from /proc and statfs, reboot through a command. */
import { execFile } from 'node:child_process';
import { readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { DeviceMetrics } from '@bulwark/protocol';
import type { AgentClock, DeviceSystem, SocketInfo } from '../ports.js';
import {
  cpuPercent,
  parseMeminfo,
  parseNetDev,
  parseProcNetTcp,
  parseProcStat,
  parseUptime,
  type CpuSample,
} from './procfs.js';

const run = promisify(execFile);

/** Options of `LinuxSystem`. */
export interface LinuxSystemOptions {
  /** The filesystem whose size and free space are reported: the agent's state directory. */
  diskPath: string;
  /** Where procfs is mounted; tests point it at a directory of fixture files. Default `/proc`. */
  procRoot?: string;
  /** The reboot command and its arguments. Default `systemctl reboot`. */
  rebootCommand?: readonly string[];
  /**
   * How long the first `metrics()` waits between its two /proc/stat samples. Later calls measure
   * since the previous call, so they do not wait. Default 250 ms: long enough for a few scheduler
   * ticks (USER_HZ is 100), short enough not to hold up the first report.
   */
  cpuSampleMs?: number;
  clock?: AgentClock;
}

/** Reads a Linux device's health from /proc; one instance per agent (it keeps the last CPU sample). */
export class LinuxSystem implements DeviceSystem {
  readonly #procRoot: string;
  readonly #diskPath: string;
  readonly #rebootCommand: readonly string[];
  readonly #cpuSampleMs: number;
  readonly #clock: AgentClock;
  #lastCpu: CpuSample | undefined;

  constructor(opts: LinuxSystemOptions) {
    const reboot = opts.rebootCommand ?? ['systemctl', 'reboot'];
    if (reboot.length === 0 || reboot[0] === '') {
      throw new Error('rebootCommand must name a program');
    }
    this.#procRoot = opts.procRoot ?? '/proc';
    this.#diskPath = opts.diskPath;
    this.#rebootCommand = reboot;
    this.#cpuSampleMs = opts.cpuSampleMs ?? 250;
    this.#clock = opts.clock ?? { now: () => Date.now() };
  }

  #read(name: string): Promise<string> {
    return readFile(join(this.#procRoot, name), 'utf8');
  }

  async #cpu(): Promise<number> {
    let before = this.#lastCpu;
    if (before === undefined) {
      before = parseProcStat(await this.#read('stat'));
      await sleep(this.#cpuSampleMs);
    }
    const after = parseProcStat(await this.#read('stat'));
    this.#lastCpu = after;
    return cpuPercent(before, after);
  }

  async metrics(): Promise<DeviceMetrics> {
    const [cpu, meminfo, uptime, netDev, fsStats, sockets] = await Promise.all([
      this.#cpu(),
      this.#read('meminfo'),
      this.#read('uptime'),
      this.#read('net/dev'),
      statfs(this.#diskPath),
      this.sockets(),
    ]);
    const listening = new Set<number>();
    let connections = 0;
    for (const s of sockets) {
      if (s.state === 'listen') listening.add(s.localPort);
      else connections++;
    }
    return {
      at: new Date(this.#clock.now()).toISOString(),
      cpuPercent: cpu,
      memory: parseMeminfo(meminfo),
      // bavail, not bfree: the blocks an unprivileged writer (the agent) can still use.
      disk: {
        totalBytes: fsStats.blocks * fsStats.bsize,
        availableBytes: fsStats.bavail * fsStats.bsize,
      },
      uptimeSeconds: parseUptime(uptime),
      network: parseNetDev(netDev),
      listeningPorts: [...listening].sort((a, b) => a - b),
      connections,
    };
  }

  async sockets(): Promise<SocketInfo[]> {
    const [v4, v6] = await Promise.all(
      // A kernel built without IPv6 has no tcp6 file: that is no sockets, not an error.
      ['net/tcp', 'net/tcp6'].map((f) =>
        this.#read(f).catch((err: unknown) => {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT' && f === 'net/tcp6') return '';
          throw err;
        }),
      ),
    );
    return [...parseProcNetTcp(v4 ?? ''), ...parseProcNetTcp(v6 ?? '')];
  }

  async reboot(): Promise<void> {
    const [cmd = '', ...args] = this.#rebootCommand;
    await run(cmd, args, { timeout: 30_000 });
  }
}
