/**
 * The agent's configuration file (JSON): one typed shape, defaults visible here, validated at start,
 * frozen, unknown keys refused. Sections other parts of the agent read (allowlist, localPort, mdns)
 * are declared here too so one file configures the whole agent.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { TwinValue } from '@bulwark/protocol';
import { parseAllowRule } from './health/allowlist.js';
import { originSection, parseUpdateConfig, type UpdateConfig } from './update/update-config.js';
import { parseLogsConfig, type LogsConfig } from './logs/logs-config.js';

/** How the agent keeps its link to the hub. */
export type ConnectionMode = 'persistent' | 'periodic' | 'on-demand';

/** A condition an autonomous rule reacts to. */
export type RuleWhen =
  { metric: RuleMetric; above?: number; below?: number } | { event: 'link-lost' | 'link-restored' };

/** Metrics a rule may test (percentages are computed from DeviceMetrics). */
export type RuleMetric = 'cpuPercent' | 'memoryPercent' | 'diskPercent' | 'connections';

/** What an autonomous rule does: set parameters (through the twin handlers) and/or raise an event. */
export interface RuleThen {
  set?: { [path: string]: TwinValue };
  event?: { kind: string; severity: 'info' | 'warning' | 'critical' };
}

/** `{ when: {metric:'cpuPercent', above: 90}, then: {set: {'sampling.intervalSeconds': 60}} }`. */
export interface AutonomousRule {
  name?: string;
  when: RuleWhen;
  then: RuleThen;
}

/** The whole agent configuration, as validated. */
export interface AgentConfig {
  /** HTTPS origin of the hub, for enrollment and certificate renewal. */
  hubUrl: string;
  /** `mqtts://host:port` of the hub or of a site gateway. */
  mqttUrl: string;
  /** PEM file of the CA(s) that sign the hub's (or gateway's) server certificate. */
  caFile: string;
  /** Where the agent keeps its identity, queue and applied configuration (created 0700). */
  stateDir: string;
  /** How the device gets its first identity (only used while it has none). */
  enrollment: {
    token?: string;
    /** Read at every attempt, so an operator can drop in a new token after a factory reset. */
    tokenFile?: string;
    /** A factory credential: a directory written by `bulwark device create` (key.pem, cert.pem, ca.pem, device.json). */
    factoryIdentityDir?: string;
    /**
     * A provisioning claim token shared by a production batch (decision 0027): on first boot the
     * device makes its key and exchanges the claim, its hardware id and a CSR for its identity.
     */
    claim?: string;
    /** The claim token in a file (e.g. on a read-only factory partition). */
    claimFile?: string;
    /** This device's hardware id (serial number …), sent with a claim. */
    hardwareId?: string;
    /** A file holding the hardware id, e.g. /sys/class/dmi/id/product_serial or /etc/machine-id. */
    hardwareIdFile?: string;
  };
  connection: {
    mode: ConnectionMode;
    /** periodic: seconds between connections. */
    intervalSeconds: number;
    /** on-demand and periodic: disconnect after this many seconds without traffic. */
    idleSeconds: number;
    backoffMinMs: number;
    backoffMaxMs: number;
    keepaliveSeconds: number;
    /**
     * TEST ONLY: accept a plaintext `mqtt://` URL (no TLS, no client certificate), for tests that
     * play the hub on an in-process broker. Never set on a device.
     */
    insecurePlaintextForTests: boolean;
  };
  queue: {
    maxMessages: number;
    maxBytes: number;
    /** When full: drop the oldest telemetry (and report it) or refuse the new message. */
    overflow: 'drop-oldest' | 'refuse-new';
  };
  device: {
    /** Hardware model and firmware version, as announced on the LAN (mDNS TXT); informational. */
    type: string;
    firmwareVersion: string;
    mode: 'controlled' | 'autonomous';
    /** Seconds without the link before the local alarm and the autonomous rules. */
    linkLostGraceSeconds: number;
    rules: AutonomousRule[];
    /**
     * How the device reboots (the `reboot` command, an OS update): program and arguments, no
     * shell. Default `systemctl reboot`.
     */
    rebootCommand: string[];
  };
  /** Where the device may connect: entries as in health/allowlist.ts (`10.0.0.0/8`, `192.0.2.10:8883`). */
  allowlist: string[];
  metrics: { intervalSeconds: number };
  localPort: { enabled: boolean; host: string; port: number; serialDevice?: string };
  /**
   * Remote access through the hub relay (decision 0042): whether the device dials the sessions
   * the hub offers, which loopback TCP ports a `tcp:PORT` ticket may reach (none by default:
   * the device owner opts each port in), and, behind a gateway, the HTTPS origin of the gateway's
   * LAN server to dial the relay at instead of the hub's (`relay`, with the CA of its certificate).
   */
  remoteAccess: {
    enabled: boolean;
    tcpPorts: number[];
    relay?: { url: string; caFile: string };
  };
  mdns: { enabled: boolean };
  renewal: {
    /** Renew when this fraction of the certificate's lifetime has passed. */
    atFraction: number;
  };
  watchdog: { heartbeatSeconds: number; timeoutSeconds: number };
  /** Firmware updates (A/B install path 0009, boot integration 0023): update/update-config.ts. */
  update: UpdateConfig;
  /** Central device logs (decision 0032): logs/logs-config.ts. */
  logs: LogsConfig;
}

/** An invalid configuration: the message names the key and why. */
export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
}

export type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** @internal config parsing helper (also used by update/update-config.ts). */
export function object(v: unknown, path: string, known: readonly string[]): Obj {
  if (v === undefined) return {};
  if (!isObj(v)) throw new AgentConfigError(`${path || 'config'} must be an object`);
  const unknown = Object.keys(v).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    const where = path ? `${path}.` : '';
    throw new AgentConfigError(
      `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => where + k).join(', ')}; ` +
        `known: ${known.map((k) => where + k).join(', ')}`,
    );
  }
  return v;
}

/** @internal config parsing helper (also used by update/update-config.ts). */
export function str(o: Obj, key: string, path: string, dflt?: string): string {
  const v = o[key];
  if (v === undefined) {
    if (dflt !== undefined) return dflt;
    throw new AgentConfigError(`${path}${key} is required`);
  }
  if (typeof v !== 'string' || v.trim() === '')
    throw new AgentConfigError(`${path}${key} must be a non-empty string`);
  return v;
}

/** @internal config parsing helper (also used by update/update-config.ts). */
export function optStr(o: Obj, key: string, path: string): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, path);
}

/** @internal config parsing helper (also used by update/update-config.ts). */
export function int(
  o: Obj,
  key: string,
  path: string,
  dflt: number,
  min: number,
  max: number,
): number {
  const v = o[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new AgentConfigError(`${path}${key} must be a whole number from ${min} to ${max}`);
  return v;
}

/** @internal config parsing helper (also used by update/update-config.ts). */
export function bool(o: Obj, key: string, path: string, dflt: boolean): boolean {
  const v = o[key] ?? dflt;
  if (typeof v !== 'boolean') throw new AgentConfigError(`${path}${key} must be true or false`);
  return v;
}

/** @internal config parsing helper (also used by update/update-config.ts). */
export function oneOf<T extends string>(
  o: Obj,
  key: string,
  path: string,
  values: readonly T[],
  dflt: T,
): T {
  const v = o[key] ?? dflt;
  if (typeof v !== 'string' || !values.includes(v as T))
    throw new AgentConfigError(`${path}${key} must be one of ${values.join(', ')}`);
  return v as T;
}

function url(o: Obj, key: string, protocols: string[]): string {
  const raw = str(o, key, '');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new AgentConfigError(`${key} ${JSON.stringify(raw)} is not a URL`);
  }
  if (!protocols.includes(u.protocol))
    throw new AgentConfigError(
      `${key} must use ${protocols.map((p) => p.replace(':', '://')).join(' or ')}`,
    );
  return raw.replace(/\/+$/, '');
}

const METRICS: readonly RuleMetric[] = [
  'cpuPercent',
  'memoryPercent',
  'diskPercent',
  'connections',
];

function rule(v: unknown, path: string): AutonomousRule {
  const r = object(v, path, ['name', 'when', 'then']);
  if (!isObj(r['when'])) throw new AgentConfigError(`${path}.when is required`);
  let when: RuleWhen;
  if ('event' in r['when']) {
    const w = object(r['when'], `${path}.when`, ['event']);
    when = {
      event: oneOf(w, 'event', `${path}.when.`, ['link-lost', 'link-restored'], 'link-lost'),
    };
  } else {
    const w = object(r['when'], `${path}.when`, ['metric', 'above', 'below']);
    const metric = oneOf(w, 'metric', `${path}.when.`, METRICS, 'cpuPercent');
    if (w['metric'] === undefined) throw new AgentConfigError(`${path}.when needs metric or event`);
    for (const k of ['above', 'below'] as const)
      if (w[k] !== undefined && typeof w[k] !== 'number')
        throw new AgentConfigError(`${path}.when.${k} must be a number`);
    if (w['above'] === undefined && w['below'] === undefined)
      throw new AgentConfigError(`${path}.when needs above or below`);
    when = {
      metric,
      ...(w['above'] !== undefined ? { above: w['above'] as number } : {}),
      ...(w['below'] !== undefined ? { below: w['below'] as number } : {}),
    };
  }
  const t = object(r['then'], `${path}.then`, ['set', 'event']);
  const then: RuleThen = {};
  if (t['set'] !== undefined) {
    if (!isObj(t['set'])) throw new AgentConfigError(`${path}.then.set must be an object`);
    then.set = t['set'] as { [path: string]: TwinValue };
  }
  if (t['event'] !== undefined) {
    const e = object(t['event'], `${path}.then.event`, ['kind', 'severity']);
    then.event = {
      kind: str(e, 'kind', `${path}.then.event.`),
      severity: oneOf(
        e,
        'severity',
        `${path}.then.event.`,
        ['info', 'warning', 'critical'],
        'warning',
      ),
    };
  }
  if (then.set === undefined && then.event === undefined)
    throw new AgentConfigError(`${path}.then needs set or event`);
  return { ...(r['name'] !== undefined ? { name: str(r, 'name', `${path}.`) } : {}), when, then };
}

/**
 * Validates a parsed configuration object. Relative paths are resolved against `baseDir` (the
 * directory of the config file).
 */
export function parseAgentConfig(raw: unknown, baseDir = process.cwd()): AgentConfig {
  const top = object(raw, '', [
    'hubUrl',
    'mqttUrl',
    'caFile',
    'stateDir',
    'enrollment',
    'connection',
    'queue',
    'device',
    'allowlist',
    'metrics',
    'localPort',
    'remoteAccess',
    'mdns',
    'renewal',
    'watchdog',
    'update',
    'logs',
  ]);
  const path = (p: string) => resolve(baseDir, p);

  const c = object(top['connection'], 'connection', [
    'mode',
    'intervalSeconds',
    'idleSeconds',
    'backoffMinMs',
    'backoffMaxMs',
    'keepaliveSeconds',
    'insecurePlaintextForTests',
  ]);
  const connection: AgentConfig['connection'] = {
    mode: oneOf(c, 'mode', 'connection.', ['persistent', 'periodic', 'on-demand'], 'persistent'),
    // A minute is the shortest period that is still "periodic" rather than a flapping persistent link.
    intervalSeconds: int(c, 'intervalSeconds', 'connection.', 900, 1, 7 * 86400),
    idleSeconds: int(c, 'idleSeconds', 'connection.', 30, 1, 86400),
    // Below 100 ms a restarted hub is hit by the whole fleet within one accept backlog.
    backoffMinMs: int(c, 'backoffMinMs', 'connection.', 1000, 10, 3_600_000),
    backoffMaxMs: int(c, 'backoffMaxMs', 'connection.', 60_000, 10, 24 * 3_600_000),
    keepaliveSeconds: int(c, 'keepaliveSeconds', 'connection.', 60, 5, 3600),
    insecurePlaintextForTests: bool(c, 'insecurePlaintextForTests', 'connection.', false),
  };
  if (connection.backoffMaxMs < connection.backoffMinMs)
    throw new AgentConfigError('connection.backoffMaxMs must not be below connection.backoffMinMs');

  const hubUrl = url(top, 'hubUrl', ['https:']);
  const mqttUrl = url(
    top,
    'mqttUrl',
    connection.insecurePlaintextForTests ? ['mqtts:', 'mqtt:'] : ['mqtts:'],
  );

  const e = object(top['enrollment'], 'enrollment', [
    'token',
    'tokenFile',
    'factoryIdentityDir',
    'claim',
    'claimFile',
    'hardwareId',
    'hardwareIdFile',
  ]);
  const token = optStr(e, 'token', 'enrollment.');
  const tokenFile = optStr(e, 'tokenFile', 'enrollment.');
  const factory = optStr(e, 'factoryIdentityDir', 'enrollment.');
  const claim = optStr(e, 'claim', 'enrollment.');
  const claimFile = optStr(e, 'claimFile', 'enrollment.');
  const hardwareId = optStr(e, 'hardwareId', 'enrollment.');
  const hardwareIdFile = optStr(e, 'hardwareIdFile', 'enrollment.');
  if ([token, tokenFile, factory, claim, claimFile].filter((x) => x !== undefined).length > 1)
    throw new AgentConfigError(
      'enrollment takes one of token, tokenFile, factoryIdentityDir, claim, claimFile',
    );
  const claiming = claim !== undefined || claimFile !== undefined;
  if (claiming && (hardwareId === undefined) === (hardwareIdFile === undefined))
    throw new AgentConfigError(
      "a claim needs the device's hardware id: one of enrollment.hardwareId, enrollment.hardwareIdFile",
    );
  if (!claiming && (hardwareId !== undefined || hardwareIdFile !== undefined))
    throw new AgentConfigError('enrollment.hardwareId goes with enrollment.claim or claimFile');

  const q = object(top['queue'], 'queue', ['maxMessages', 'maxBytes', 'overflow']);
  const d = object(top['device'], 'device', [
    'type',
    'firmwareVersion',
    'mode',
    'linkLostGraceSeconds',
    'rules',
    'rebootCommand',
  ]);
  if (d['rules'] !== undefined && !Array.isArray(d['rules']))
    throw new AgentConfigError('device.rules must be an array');
  const al = top['allowlist'] ?? [];
  if (!Array.isArray(al)) throw new AgentConfigError('allowlist must be an array');
  const m = object(top['metrics'], 'metrics', ['intervalSeconds']);
  const lp = object(top['localPort'], 'localPort', ['enabled', 'host', 'port', 'serialDevice']);
  const ra = object(top['remoteAccess'], 'remoteAccess', ['enabled', 'tcpPorts', 'relay']);
  const relay = originSection(ra['relay'], 'remoteAccess.relay', path);
  const tcpPorts = ra['tcpPorts'] ?? [];
  if (
    !Array.isArray(tcpPorts) ||
    tcpPorts.length > 64 ||
    !tcpPorts.every((p) => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535)
  )
    throw new AgentConfigError('remoteAccess.tcpPorts must be at most 64 port numbers 1-65535');
  const md = object(top['mdns'], 'mdns', ['enabled']);
  const rn = object(top['renewal'], 'renewal', ['atFraction']);
  const wd = object(top['watchdog'], 'watchdog', ['heartbeatSeconds', 'timeoutSeconds']);
  const atFraction = rn['atFraction'] ?? 2 / 3;
  if (typeof atFraction !== 'number' || !(atFraction > 0 && atFraction < 1))
    throw new AgentConfigError('renewal.atFraction must be a number between 0 and 1');
  const serialDevice = optStr(lp, 'serialDevice', 'localPort.');

  const config: AgentConfig = {
    hubUrl,
    mqttUrl,
    caFile: path(str(top, 'caFile', '')),
    stateDir: path(str(top, 'stateDir', '')),
    enrollment: {
      ...(token !== undefined ? { token } : {}),
      ...(tokenFile !== undefined ? { tokenFile: path(tokenFile) } : {}),
      ...(factory !== undefined ? { factoryIdentityDir: path(factory) } : {}),
      ...(claim !== undefined ? { claim } : {}),
      ...(claimFile !== undefined ? { claimFile: path(claimFile) } : {}),
      ...(hardwareId !== undefined ? { hardwareId } : {}),
      ...(hardwareIdFile !== undefined ? { hardwareIdFile: path(hardwareIdFile) } : {}),
    },
    connection,
    queue: {
      maxMessages: int(q, 'maxMessages', 'queue.', 10_000, 1, 10_000_000),
      maxBytes: int(q, 'maxBytes', 'queue.', 16 * 1024 * 1024, 1024, 1024 ** 4),
      overflow: oneOf(q, 'overflow', 'queue.', ['drop-oldest', 'refuse-new'], 'drop-oldest'),
    },
    device: {
      type: str(d, 'type', 'device.', 'linux'),
      firmwareVersion: str(d, 'firmwareVersion', 'device.', 'unknown'),
      mode: oneOf(d, 'mode', 'device.', ['controlled', 'autonomous'], 'controlled'),
      linkLostGraceSeconds: int(d, 'linkLostGraceSeconds', 'device.', 120, 0, 86400),
      rebootCommand: commandList(d['rebootCommand'], 'device.rebootCommand') ?? [
        'systemctl',
        'reboot',
      ],
      rules: ((d['rules'] as unknown[] | undefined) ?? []).map((r, i) =>
        rule(r, `device.rules[${i}]`),
      ),
    },
    allowlist: al.map((a, i) => {
      if (typeof a !== 'string') throw new AgentConfigError(`allowlist[${i}] must be a string`);
      try {
        parseAllowRule(a);
      } catch (err) {
        throw new AgentConfigError(`allowlist[${i}]: ${(err as Error).message}`);
      }
      return a;
    }),
    metrics: { intervalSeconds: int(m, 'intervalSeconds', 'metrics.', 60, 1, 86400) },
    localPort: {
      enabled: bool(lp, 'enabled', 'localPort.', false),
      host: str(lp, 'host', 'localPort.', '0.0.0.0'),
      port: int(lp, 'port', 'localPort.', 7443, 0, 65535),
      ...(serialDevice !== undefined ? { serialDevice } : {}),
    },
    remoteAccess: {
      enabled: bool(ra, 'enabled', 'remoteAccess.', true),
      tcpPorts: tcpPorts as number[],
      ...(relay !== undefined ? { relay } : {}),
    },
    mdns: { enabled: bool(md, 'enabled', 'mdns.', false) },
    renewal: { atFraction },
    watchdog: {
      heartbeatSeconds: int(wd, 'heartbeatSeconds', 'watchdog.', 5, 1, 600),
      timeoutSeconds: int(wd, 'timeoutSeconds', 'watchdog.', 30, 2, 3600),
    },
    update: parseUpdateConfig(top['update'], path),
    logs: parseLogsConfig(top['logs'], path),
  };
  if (config.watchdog.timeoutSeconds <= config.watchdog.heartbeatSeconds)
    throw new AgentConfigError('watchdog.timeoutSeconds must exceed watchdog.heartbeatSeconds');
  return deepFreeze(config);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** Reads and validates a configuration file. */
export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AgentConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AgentConfigError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseAgentConfig(raw, dirname(resolve(file)));
}

/** A command as program and arguments (no shell); undefined when not set. */
export function commandList(v: unknown, path: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.some((a) => typeof a !== 'string') || v[0] === '')
    throw new AgentConfigError(`${path} must be a non-empty list of strings (program, args)`);
  return [...(v as string[])];
}
