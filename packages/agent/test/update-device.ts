/**
 * An in-process device for the install-path tests: a real Agent on a state directory and A/B
 * DirectorySlots, whose reboot plays the bootloader (`slots.boot()`) and starts a new Agent on the
 * same files and slots, as a device coming back up would.
 */
import { DirFiles } from '../src/files/dir-files.js';
import { Agent } from '../src/agent.js';
import { parseAgentConfig } from '../src/config.js';
import { SyntheticSystem } from '../src/sim/synthetic-system.js';
import type { UpdateStatusReport } from '@bulwark/protocol';
import type { HealthCheckFn } from '../src/update/health-check.js';
import { MemoryFiles } from '../src/files/memory-files.js';
import { MemorySlots } from '../src/update/memory-slots.js';
import type { SlotStore } from '../src/update/slots.js';
import { join } from 'node:path';
import { cleanup, tempDir, waitFor } from './helpers.js';
import {
  FACTORY,
  FACTORY_IMAGE,
  provisionSlots,
  Proxy,
  rigConfig,
  startRig,
  type Rig,
} from './update-rig.js';

/** A device under test. */
export interface TestDevice {
  agent: Agent;
  slots: SlotStore & { boot(): Promise<unknown> };
  deviceId: string;
  /** Offsets of every image request, across restarts. */
  fetches: number[];
  /** Every status the agents emitted, across restarts. */
  reports: { job: string; report: UpdateStatusReport }[];
  reboots: number;
  stop(): Promise<void>;
}

/** Starts an enrolled, connected device; `health` is registered on every (re)started agent. */
export async function startDevice(
  rig: Rig,
  dir: string,
  name: string,
  o: {
    hubUrl?: string;
    health?: HealthCheckFn;
    update?: Record<string, unknown>;
    /** MemorySlots and MemoryFiles, as the simulator runs a device. */
    memory?: boolean;
    /** Provisions `<dir>/slots` (default: the rig's factory image in `a`). */
    provision?: (dir: string) => Promise<SlotStore & { boot(): Promise<unknown> }>;
  } = {},
): Promise<TestDevice> {
  const slots = o.memory
    ? await MemorySlots.provisioned(FACTORY_IMAGE, FACTORY)
    : await (o.provision ?? provisionSlots)(dir);
  const { deviceId, token } = await rig.device(name);
  const config = parseAgentConfig(rigConfig(rig, dir, token, o));
  const files = o.memory ? new MemoryFiles() : await DirFiles.open(join(dir, 'state'));
  const system = new SyntheticSystem();
  const make = () => {
    const a = new Agent({ config, files, system, ...(o.memory ? { slots } : {}) });
    if (o.health) a.updates.registerHealthCheck('app', o.health);
    a.on('update-fetch', (f: { offset: number }) => d.fetches.push(f.offset));
    a.on('update-status', (job: string, report: UpdateStatusReport) =>
      d.reports.push({ job, report }),
    );
    return a;
  };
  const d: TestDevice = {
    agent: undefined as unknown as Agent,
    slots,
    deviceId,
    fetches: [],
    reports: [],
    reboots: 0,
    stop: () => d.agent.stop(),
  };
  system.onReboot = async () => {
    d.reboots++;
    await d.agent.stop();
    await slots.boot();
    d.agent = make();
    await d.agent.start();
  };
  d.agent = make();
  await d.agent.start();
  await d.agent.whenConnected(20_000);
  await waitFor(() => rig.installed(deviceId).length > 0, 'the installed-firmware report');
  return d;
}

/** Waits for a final status of `job` and returns it. */
export async function finalStatus(
  rig: Rig,
  d: TestDevice,
  job: string,
  ms = 30_000,
): Promise<UpdateStatusReport> {
  const terminal = ['succeeded', 'failed', 'rolled_back', 'rejected', 'canceled'];
  await waitFor(
    () => rig.statuses(d.deviceId, job).some((s) => terminal.includes(s.state)),
    `a final status of ${job}`,
    ms,
  );
  return rig.statuses(d.deviceId, job).find((s) => terminal.includes(s.state))!;
}

/**
 * A rig whose devices reach the hub through a TCP proxy the test can cut, and a way to start
 * devices on fresh temp dirs; `close()` stops them, the proxy and the rig and removes the dirs.
 */
export async function startProxiedRig(prefix: string) {
  const rig = await startRig();
  const proxy = new Proxy(Number(new URL(rig.hub.url).port));
  await proxy.start();
  const dirs: string[] = [];
  const devices: TestDevice[] = [];
  const dirOf = new Map<TestDevice, string>();
  return {
    rig,
    proxy,
    /** The state directory of a device started here. */
    dirOf: (d: TestDevice): string => dirOf.get(d)!,
    async device(name: string, o: Parameters<typeof startDevice>[3] = {}): Promise<TestDevice> {
      const dir = tempDir(prefix);
      dirs.push(dir);
      const d = await startDevice(rig, dir, name, {
        hubUrl: `https://127.0.0.1:${proxy.port}`,
        ...o,
      });
      devices.push(d);
      dirOf.set(d, dir);
      return d;
    },
    async close(): Promise<void> {
      for (const d of devices) await d.stop();
      await proxy.stop();
      await rig.close();
      cleanup(...dirs);
    },
  };
}
