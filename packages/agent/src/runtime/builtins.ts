/**
 * The built-in twin sections and commands every agent has. Apps register more sections
 * (`agent.twin.register`) and commands (`agent.commands.register`).
 */
import type { TwinValue } from '@bulwark/protocol';
import { parseAllowlist } from '../health/allowlist.js';
import { MAX_LIFETIME_SECONDS } from '../local/ticket.js';
import type { Twin } from './twin.js';
import type { CommandRunner } from './commands.js';

/** Clock difference tolerated between hub and device when forgetting a revoked ticket id. */
const REVOCATION_SKEW_SECONDS = 86_400;

/** What the built-in commands act on. */
export interface BuiltinHost {
  twin: Twin;
  reboot(): Promise<void>;
  factoryReset(): Promise<void>;
  now(): number;
}

/** Reactions of the agent to built-in sections. */
export interface SectionHooks {
  /** A new allowlist (already validated); throwing refuses it. */
  allowlist?(entries: string[]): void;
}

/** Registers `network`, `logging`, `sampling` and `tickets`. */
export function registerBuiltinSections(twin: Twin, hooks: SectionHooks = {}): void {
  // Security sections are read-only on the local port at every ticket level (issue 11): `network`
  // holds the allowlist the device is watched against, its time sources (ticket and certificate
  // validity depend on the clock) and how it calls home (where revocations arrive); `tickets`
  // holds the revocations themselves. `logging` and `sampling` stay settable locally.
  twin.register('network', {
    localReadOnly: true,
    apply: (next) => {
      const list = next['allowlist'];
      if (Array.isArray(list)) {
        // Validated as a whole first: one bad entry refuses the list and keeps the old one.
        parseAllowlist(list as string[]);
        hooks.allowlist?.(list as string[]);
      }
    },
    params: {
      /** Where the device may connect (health/allowlist.ts); replaces the configuration file's list. */
      allowlist: { type: 'string[]' },
      // The agent's own link settings; bounds as in the configuration file.
      keepaliveSeconds: { type: 'integer', min: 5, max: 3600 },
      connectionMode: { type: 'string', enum: ['persistent', 'periodic', 'on-demand'] },
      periodicIntervalSeconds: { type: 'integer', min: 1, max: 7 * 86400 },
      ntpServers: { type: 'string[]' },
    },
  });
  twin.register('logging', {
    params: {
      level: { type: 'string', enum: ['error', 'warn', 'info', 'debug'], default: 'info' },
    },
  });
  twin.register('sampling', {
    params: {
      intervalSeconds: { type: 'integer', min: 1, max: 86400, default: 60 },
      metricsIntervalSeconds: { type: 'integer', min: 1, max: 86400 },
    },
  });
  // Backup access tickets the hub revoked (read by the local management port). Append-only: no
  // desired twin or `set` can un-revoke a ticket; an id the hub dropped is forgotten only once
  // any ticket it names has expired — a ticket lives at most MAX_LIFETIME_SECONDS from issue, and
  // is revoked after it was issued, so that long after the device first saw the id (plus skew).
  twin.register('tickets', {
    localReadOnly: true,
    params: {
      revoked: {
        type: 'string[]',
        default: [],
        appendOnly: { retainMs: (MAX_LIFETIME_SECONDS + REVOCATION_SKEW_SECONDS) * 1000 },
      },
    },
  });
}

const isPath = (v: TwinValue | undefined): v is string => typeof v === 'string' && v.length > 0;

/** Registers ping, get-parameter, set-parameter, reboot, factory-reset. */
export function registerBuiltinCommands(commands: CommandRunner, host: BuiltinHost): void {
  commands.register('ping', {
    run: () => Promise.resolve({ pong: true, at: new Date(host.now()).toISOString() }),
  });
  commands.register('get-parameter', {
    validate: (p) => (isPath(p['path']) ? undefined : 'params.path must be a parameter path'),
    run: (p) => {
      const path = p['path'] as string;
      const value = host.twin.get(path);
      if (value === undefined)
        return Promise.reject(
          Object.assign(new Error(`no parameter ${path}`), { code: 'not_found' }),
        );
      return Promise.resolve({ path, value });
    },
  });
  commands.register('set-parameter', {
    validate: (p) =>
      !isPath(p['path'])
        ? 'params.path must be a parameter path'
        : !('value' in p)
          ? 'params.value is required'
          : undefined,
    run: async (p) => {
      await host.twin.set(p['path'] as string, p['value']!);
      return { path: p['path']!, value: host.twin.get(p['path'] as string) ?? null };
    },
  });
  commands.register('reboot', {
    run: (_p, ctx) => {
      ctx.afterReply(() => host.reboot());
      return Promise.resolve({ rebooting: true });
    },
  });
  commands.register('factory-reset', {
    run: (_p, ctx) => {
      ctx.afterReply(() => host.factoryReset());
      return Promise.resolve({ resetting: true });
    },
  });
}
