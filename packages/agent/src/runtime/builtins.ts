/**
 * The built-in twin sections and commands every agent has. Apps register more sections
 * (`agent.twin.register`) and commands (`agent.commands.register`).
 */
import type { TwinValue } from '@bulwark/protocol';
import { parseAllowlist } from '../health/allowlist.js';
import type { Twin } from './twin.js';
import type { CommandRunner } from './commands.js';

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
  twin.register('network', {
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
  // Backup access tickets the hub revoked (read by the local management port).
  twin.register('tickets', { params: { revoked: { type: 'string[]', default: [] } } });
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
