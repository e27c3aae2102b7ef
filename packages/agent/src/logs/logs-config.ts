/**
 * The `logs` section of the agent configuration (decision 0032): what the agent ships to the
 * hub's central device logs, and the bounds it keeps while doing so. Documented in
 * docs/reference/agent-config.md (`logs`).
 */
import { LOG_LEVELS, type LogLevel } from '@bulwark/protocol';
import {
  AgentConfigError,
  bool,
  commandList,
  int,
  object,
  oneOf,
  str,
  type Obj,
} from '../config.js';
import { compileCustomPatterns } from './redact.js';

/** One tailed file. */
export interface LogFileSource {
  path: string;
  /** The record's source (default `file:<path>`). */
  source: string;
  /** The level of its lines (a plain text file says none). */
  level: LogLevel;
  /** A file seen for the first time is read from its start (default: from its end). */
  fromStart: boolean;
}

export interface LogsConfig {
  enabled: boolean;
  /** The agent's own log: shipped from this level up, or `off`. */
  agent: 'off' | 'error' | 'warning' | 'info' | 'debug';
  files: LogFileSource[];
  journal: { enabled: boolean; units: string[]; command: string[] };
  /** Extra secret patterns (JavaScript regular expressions), replaced by `[REDACTED]`. */
  redact: string[];
  rateLimit: { linesPerSecond: number; burst: number };
  buffer: { maxBytes: number; maxBatches: number };
  batch: { maxRecords: number; maxBytes: number; flushMs: number };
  /** How often tailed files are read. */
  pollMs: number;
}

const AGENT_LEVELS = ['off', 'error', 'warning', 'info', 'debug'] as const;

/** Parses `logs`; `path` resolves file paths against the config file's directory. */
export function parseLogsConfig(raw: unknown, path: (p: string) => string): LogsConfig {
  const l = object(raw, 'logs', [
    'enabled',
    'agent',
    'files',
    'journal',
    'redact',
    'rateLimit',
    'buffer',
    'batch',
    'pollMs',
  ]);
  const files = l['files'] ?? [];
  if (!Array.isArray(files)) throw new AgentConfigError('logs.files must be an array');
  const redact = l['redact'] ?? [];
  if (!Array.isArray(redact) || redact.some((r) => typeof r !== 'string' || r === ''))
    throw new AgentConfigError('logs.redact must be an array of regular expressions (strings)');
  compileCustomPatterns(redact as string[]).forEach(() => undefined); // throws naming a bad one
  const j = object(l['journal'], 'logs.journal', ['enabled', 'units', 'command']);
  const units = j['units'] ?? [];
  if (!Array.isArray(units) || units.some((u) => typeof u !== 'string' || u === ''))
    throw new AgentConfigError('logs.journal.units must be an array of unit names');
  const rl = object(l['rateLimit'], 'logs.rateLimit', ['linesPerSecond', 'burst']);
  const b = object(l['buffer'], 'logs.buffer', ['maxBytes', 'maxBatches']);
  const bt = object(l['batch'], 'logs.batch', ['maxRecords', 'maxBytes', 'flushMs']);
  const linesPerSecond = int(rl, 'linesPerSecond', 'logs.rateLimit.', 100, 1, 100_000);
  return {
    enabled: bool(l, 'enabled', 'logs.', true),
    agent: oneOf(l, 'agent', 'logs.', AGENT_LEVELS, 'info'),
    files: files.map((f: unknown, i: number) => fileSource(f, `logs.files[${i}]`, path)),
    journal: {
      enabled: bool(j, 'enabled', 'logs.journal.', false),
      units: units as string[],
      command: commandList(j['command'], 'logs.journal.command') ?? ['journalctl'],
    },
    redact: redact as string[],
    rateLimit: {
      linesPerSecond,
      // A burst of a few seconds' worth: a restart's flurry of lines passes, a loop does not.
      burst: int(rl, 'burst', 'logs.rateLimit.', Math.max(linesPerSecond * 2, 1), 1, 1_000_000),
    },
    buffer: {
      // 8 MiB: hours of a normal device's logs through a hub outage, a small share of its disk.
      maxBytes: int(b, 'maxBytes', 'logs.buffer.', 8 * 1024 * 1024, 64 * 1024, 1024 ** 3),
      maxBatches: int(b, 'maxBatches', 'logs.buffer.', 10_000, 1, 1_000_000),
    },
    batch: {
      maxRecords: int(bt, 'maxRecords', 'logs.batch.', 200, 1, 500),
      // Well under the hub's 256 KiB per batch and its MQTT payload limit.
      maxBytes: int(bt, 'maxBytes', 'logs.batch.', 64 * 1024, 1024, 200 * 1024),
      flushMs: int(bt, 'flushMs', 'logs.batch.', 1000, 10, 60_000),
    },
    pollMs: int(l, 'pollMs', 'logs.', 500, 10, 60_000),
  };
}

function fileSource(v: unknown, at: string, path: (p: string) => string): LogFileSource {
  const f: Obj = object(v, at, ['path', 'source', 'level', 'fromStart']);
  const p = path(str(f, 'path', `${at}.`));
  return {
    path: p,
    source: str(f, 'source', `${at}.`, `file:${p}`),
    level: oneOf(f, 'level', `${at}.`, LOG_LEVELS, 'info'),
    fromStart: bool(f, 'fromStart', `${at}.`, false),
  };
}
