/**
 * The fleet simulator: N virtual devices running the real Agent code in one process, each with its
 * own MemoryFiles and SyntheticSystem. It registers the devices through the API (names
 * `{prefix}-0001`…), enrolls each with a one-time token over HTTPS, and keeps the fleet connected;
 * a simulated reboot restarts that device's agent on its files. Each device has in-memory A/B slots
 * (MemorySlots) with a small factory image, so firmware update jobs install for real: the reboot
 * plays the bootloader (`slots.boot()`) before the restart.
 */
import { createHash } from 'node:crypto';
import { createClient, type BulwarkClient } from '@bulwark/sdk';
import { Agent } from '../agent.js';
import { parseAgentConfig, type AgentConfig } from '../config.js';
import { MemoryFiles } from '../files/memory-files.js';
import { httpsFetch } from '../runtime/https-fetch.js';
import { MemorySlots } from '../update/memory-slots.js';
import { SyntheticSystem } from './synthetic-system.js';
import {
  DEFAULT_TUNING,
  runAttack,
  type AttackEnded,
  type AttackKind,
  type AttackSpec,
  type AttackStarted,
  type AttackTuning,
} from './attacks.js';

/** Options of a simulated fleet. */
export interface SimulatorOptions {
  hubUrl: string;
  /** `mqtts://host:port` of the hub (or a gateway). */
  mqttUrl: string;
  /** PEM the hub's certificates chain to. */
  ca: string;
  /** An API key with devices:manage: the simulator registers each device (not with `claim`). */
  apiKey?: string;
  /**
   * A provisioning claim token (decision 0027): the devices share it and each claims its own
   * identity on first boot with hardware id `{prefix}-hw-0001`…, as a production batch would.
   * Nothing is registered through the API; names, channels and tags come from the claim.
   */
  claim?: string;
  /**
   * One-time enrollment tokens of devices already registered (in the console or with
   * `bulwark devices create`): device i enrolls with token i. Nothing is registered here; a
   * device's id is known once it has enrolled. `devices` must equal their number.
   */
  tokens?: string[];
  devices: number;
  /** Device names are `{prefix}-0001`…; default `sim`. */
  prefix?: string;
  /** Parallel API calls and agent starts (default 16). */
  concurrency?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** The simulated devices' type (default `simulated`) and factory firmware version (default `1.0.0`). */
  deviceType?: string;
  firmwareVersion?: string;
  /** Publish a small SenML reading per device every this many ms to `channelId`. */
  telemetry?: { channelId: string; intervalMs: number };
  /**
   * Central device logs (decision 0032): each device ships its own agent log and this many
   * synthetic log lines a minute (some with a secret, redacted on the "device", some errors).
   * Without it the simulated agents ship no logs, so load figures stay comparable.
   */
  logLinesPerMinute?: number;
  /** Each device's metrics report interval (default: the agent's, 60 s). */
  metricsIntervalSeconds?: number;
  /**
   * Where every device may connect (its agent's allowlist, checked by the connection watcher).
   * Default: the documentation network 192.0.2.0/24 on 443 and 8883, standing in for the hub.
   */
  allowlist?: string[];
  /**
   * Simulated attacks (decision 0037): COUNT devices per kind, taken from the end of the fleet
   * (the last device does the first kind). `startAttacks()` runs them.
   */
  attacks?: AttackSpec[];
  /** How long `startAttacks()` waits before the attacks begin (default 30 s). */
  attackAfterMs?: number;
  attackTuning?: Partial<AttackTuning>;
  /** Told when each attack starts and when its bounded activity ends. */
  onAttack?: (e: AttackStarted | AttackEnded) => void;
  log?: (msg: string) => void;
}

/** One simulated device. */
export interface SimDevice {
  name: string;
  deviceId: string;
  files: MemoryFiles;
  system: SyntheticSystem;
  slots: MemorySlots;
  agent: Agent;
  /** The attack this device makes (`startAttacks()`), if any. */
  attack?: AttackKind;
}

/** The factory image of a simulated device (tiny: the slots hold real bytes). */
const FACTORY_IMAGE = new TextEncoder().encode('bulwark simulated factory image\n'.repeat(32));

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool<T, R>(
  items: T[],
  n: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** A simulated fleet. */
export class Simulator {
  readonly devices: SimDevice[] = [];
  private readonly api: BulwarkClient;
  private telemetryTimer: NodeJS.Timeout | undefined;
  private logTimer: NodeJS.Timeout | undefined;
  private logLine = 0;
  /** The attack of device i, if any. */
  private readonly attackOf: (AttackKind | undefined)[];
  readonly tuning: AttackTuning;
  private readonly aborter = new AbortController();

  constructor(private readonly o: SimulatorOptions) {
    const modes = [o.apiKey, o.claim, o.tokens].filter((m) => m !== undefined).length;
    if (modes !== 1)
      throw new Error(
        'a simulated fleet needs exactly one of an API key, a claim token or enrollment tokens',
      );
    if (o.tokens !== undefined && o.tokens.length !== o.devices)
      throw new Error(`${o.tokens.length} enrollment tokens for ${o.devices} devices`);
    this.tuning = { ...DEFAULT_TUNING, ...o.attackTuning };
    this.attackOf = new Array<AttackKind | undefined>(o.devices).fill(undefined);
    let next = o.devices - 1;
    for (const a of o.attacks ?? [])
      for (let k = 0; k < a.count; k++) {
        if (next < 0)
          throw new Error(
            `the attacks need ${(o.attacks ?? []).reduce((n, x) => n + x.count, 0)} devices; the fleet has ${o.devices}`,
          );
        this.attackOf[next--] = a.kind;
      }
    if (this.attackOf.includes('flood') && o.telemetry === undefined)
      throw new Error('the flood attack needs a telemetry channel (--channel)');
    this.api = createClient({
      baseUrl: o.hubUrl,
      ...(o.apiKey === undefined ? {} : { token: o.apiKey }),
      fetch: httpsFetch({ ca: o.ca }),
    });
  }

  private name(i: number): string {
    return `${this.o.prefix ?? 'sim'}-${String(i + 1).padStart(4, '0')}`;
  }

  /** The hardware id of simulated device i (claim mode). */
  private hardwareId(i: number): string {
    return `${this.o.prefix ?? 'sim'}-hw-${String(i + 1).padStart(4, '0')}`;
  }

  private config(
    deviceId: string,
    enrollment: AgentConfig['enrollment'],
    firmwareVersion: string,
  ): AgentConfig {
    return parseAgentConfig({
      hubUrl: this.o.hubUrl,
      mqttUrl: this.o.mqttUrl,
      caFile: 'hub-ca.pem', // not read: the CA is passed in memory
      stateDir: `/simulated/${deviceId}`,
      enrollment,
      device: {
        type: this.o.deviceType ?? 'simulated',
        firmwareVersion,
      },
      allowlist: this.o.allowlist ?? ['192.0.2.0/24:443', '192.0.2.0/24:8883'],
      connection: {
        backoffMinMs: this.o.backoffMinMs ?? 1000,
        backoffMaxMs: this.o.backoffMaxMs ?? 60_000,
      },
      ...(this.o.metricsIntervalSeconds
        ? { metrics: { intervalSeconds: this.o.metricsIntervalSeconds } }
        : {}),
      logs: { agent: this.o.logLinesPerMinute ? 'info' : 'off' },
    });
  }

  private agentFor(
    config: AgentConfig,
    files: MemoryFiles,
    system: SyntheticSystem,
    slots: MemorySlots,
  ): Agent {
    return new Agent({ config, files, system, slots, hubCa: this.o.ca });
  }

  /** Registers each device through the API and makes its one-time enrollment token. */
  private async register(n: number) {
    const t0 = Date.now();
    const provisioned = await pool(
      Array.from({ length: this.o.devices }, (_, i) => i),
      n,
      async (i) => {
        const name = this.name(i);
        let device;
        try {
          device = await this.api.devices.create({
            name,
            type: this.o.deviceType ?? 'simulated',
          });
        } catch (err) {
          throw new Error(
            `cannot register ${name}: ${(err as Error).message} (use another --prefix if the names are taken)`,
          );
        }
        if (this.o.telemetry)
          await this.api.call('connectClient', {
            params: { id: this.o.telemetry.channelId },
            body: { clientType: 'device', clientId: device.id, publish: true, subscribe: false },
          });
        const { token } = await this.api.devices.createEnrollmentToken(device.id, {});
        return { name, deviceId: device.id, enrollment: { token } };
      },
    );
    this.o.log?.(`registered ${provisioned.length} devices in ${Date.now() - t0} ms`);
    return provisioned;
  }

  /** Registers the devices (or lets them claim) and starts their agents. */
  async start(): Promise<void> {
    const n = this.o.concurrency ?? 16;
    const claim = this.o.claim;
    const tokens = this.o.tokens;
    // With a claim or a token, a device's id is known only once it has enrolled (`deviceId` is
    // set then).
    const provisioned: { name: string; deviceId: string; enrollment: AgentConfig['enrollment'] }[] =
      tokens !== undefined
        ? tokens.map((token, i) => ({ name: this.name(i), deviceId: '', enrollment: { token } }))
        : claim === undefined
          ? await this.register(n)
          : Array.from({ length: this.o.devices }, (_, i) => ({
              name: this.hardwareId(i),
              deviceId: '',
              enrollment: { claim, hardwareId: this.hardwareId(i) },
            }));
    await pool(provisioned, n, async (p, i) => {
      const files = new MemoryFiles();
      const system = new SyntheticSystem(() => Math.random() * 10 - 5);
      const attack = this.attackOf[i];
      const config = this.config(
        p.deviceId || p.name,
        p.enrollment,
        attack === 'unpatched' ? this.tuning.unpatchedVersion : (this.o.firmwareVersion ?? '1.0.0'),
      );
      const slots = await MemorySlots.provisioned(FACTORY_IMAGE, {
        version: config.device.firmwareVersion,
        counter: 0,
        sha256: createHash('sha256').update(FACTORY_IMAGE).digest('hex'),
        length: FACTORY_IMAGE.byteLength,
      });
      const d: SimDevice = {
        ...p,
        ...(attack ? { attack } : {}),
        files,
        system,
        slots,
        agent: this.agentFor(config, files, system, slots),
      };
      // A simulated reboot: the bootloader picks a slot, then this device's agent restarts on the
      // same files and slots.
      system.onReboot = async () => {
        await d.agent.stop();
        await slots.boot();
        d.agent = this.agentFor(config, files, system, slots);
        await d.agent.start();
      };
      this.devices.push(d);
      d.agent.on('enrollment-failed', (err: Error) =>
        this.o.log?.(`${d.name}: enrollment failed: ${err.message}`),
      );
      await d.agent.start();
      // Enrollment runs in the background; wait for it so the hub is not hit by all at once.
      if (d.agent.identity === undefined)
        await new Promise<void>((resolve) => {
          const done = () => {
            d.agent.off('enrolled', done);
            d.agent.off('enrollment-failed', done);
            resolve();
          };
          d.agent.on('enrolled', done);
          d.agent.on('enrollment-failed', done);
        });
      if (d.deviceId === '' && d.agent.identity) d.deviceId = d.agent.identity.deviceId;
    });
    if (this.o.telemetry) {
      const { channelId, intervalMs } = this.o.telemetry;
      this.telemetryTimer = setInterval(() => {
        for (const d of this.devices) {
          const v = Math.round((20 + Math.random() * 5) * 10) / 10;
          d.agent
            .publish(
              channelId,
              'sim',
              JSON.stringify([{ n: 'temperature', u: 'Cel', v }]),
              'application/senml+json',
            )
            .catch(() => undefined);
        }
      }, intervalMs);
    }
    const perMinute = this.o.logLinesPerMinute ?? 0;
    if (perMinute > 0)
      this.logTimer = setInterval(() => this.emitLogLines(), Math.max(10, 60_000 / perMinute));
  }

  /**
   * One synthetic log line per device (the simulator's `logLinesPerMinute` calls it on a timer;
   * tests may call it directly): mostly info, every tenth an error, every seventh carrying a
   * password that the agent redacts before it is buffered.
   */
  emitLogLines(): void {
    const n = this.logLine++;
    for (const d of this.devices) {
      const secret = n % 7 === 3 ? ` password=sim-${n}` : '';
      d.agent.logs.add({
        ts: new Date().toISOString(),
        level: n % 10 === 9 ? 'error' : 'info',
        source: 'sim:app',
        message: `simulated line ${n} on ${d.name}${secret}`,
        fields: { seq: n },
      });
    }
  }

  /** Devices connected now. */
  connected(): number {
    return this.devices.filter((d) => d.agent.connected).length;
  }

  /** Connections made by every device, and of them TLS sessions resumed. */
  handshakes(): { connects: number; resumed: number } {
    let connects = 0;
    let resumed = 0;
    for (const d of this.devices) {
      const s = d.agent.status();
      connects += s.connects;
      resumed += s.tlsResumed;
    }
    return { connects, resumed };
  }

  /**
   * Resolves with the milliseconds until `count` devices are connected (polling every 50 ms), or
   * with -1 once `signal` aborts (nothing keeps polling after its caller stopped waiting).
   */
  async waitConnected(
    count = this.o.devices,
    timeoutMs = 300_000,
    onTick?: (n: number) => void,
    signal?: AbortSignal,
  ): Promise<number> {
    const t0 = Date.now();
    let lastTick = 0;
    for (;;) {
      if (signal?.aborted) return -1;
      const n = this.connected();
      if (onTick && Date.now() - lastTick >= 1000) {
        lastTick = Date.now();
        onTick(n);
      }
      if (n >= count) return Date.now() - t0;
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`only ${n} of ${count} connected after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Waits `attackAfterMs` (so baselines can learn), then runs every device's attack at once;
   * resolves when their bounded activity is over. `onAttack` hears each start and end.
   */
  async startAttacks(): Promise<void> {
    const attackers = this.devices.filter((d) => d.attack !== undefined);
    if (attackers.length === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.o.attackAfterMs ?? 30_000);
      this.aborter.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    });
    await Promise.all(
      attackers.map((d) =>
        this.attack(d.attack!, d).catch((err: unknown) =>
          this.o.log?.(`${d.name}: attack ${d.attack} failed: ${(err as Error).message}`),
        ),
      ),
    );
  }

  /** Runs one attack of `kind` by device `d` now; resolves with what it did. */
  async attack(kind: AttackKind, d: SimDevice): Promise<Record<string, number | string>> {
    if (this.aborter.signal.aborted) throw new Error('the simulator is stopping');
    const who = { attack: kind, device: d.name, deviceId: d.deviceId };
    this.o.onAttack?.({ event: 'attack_started', ...who, startedAt: new Date().toISOString() });
    const result = await runAttack(kind, {
      device: d,
      mqttUrl: this.o.mqttUrl,
      ca: this.o.ca,
      ...(this.o.telemetry ? { channelId: this.o.telemetry.channelId } : {}),
      tuning: this.tuning,
      signal: this.aborter.signal,
    });
    this.o.onAttack?.({ event: 'attack_ended', ...who, endedAt: new Date().toISOString(), result });
    return result;
  }

  /** Stops every agent (presence offline where connected). */
  async stop(): Promise<void> {
    this.aborter.abort();
    clearInterval(this.telemetryTimer);
    clearInterval(this.logTimer);
    await pool(this.devices, 64, (d) => d.agent.stop());
  }
}
