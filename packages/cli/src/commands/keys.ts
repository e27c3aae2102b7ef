import type { Command } from '../command.js';

/** The key-set flags `keys init` and `keys rotate` share. */
const keyOptions = {
  algorithm: { type: 'string', value: 'ALG', help: 'ed25519 (default) or p256 (ECDSA P-256)' },
  'release-keys': { type: 'string', value: 'N', help: 'number of release keys (default 1)' },
  threshold: {
    type: 'string',
    value: 'K',
    help: 'release signatures required on firmware metadata (default 1)',
  },
  'root-keys': { type: 'string', value: 'N', help: 'number of root keys (default 1)' },
  'root-threshold': {
    type: 'string',
    value: 'K',
    help: 'root signatures required on a root (default 1)',
  },
  expires: { type: 'string', value: 'DURATION', help: 'root lifetime (default 365d)' },
} as const;

/** `bulwark keys init|rotate`: the operator's offline root and release keys for signed firmware. */
export const keysCommands: Command[] = [
  {
    path: ['keys', 'init'],
    summary:
      'Create root and release keys for signing firmware (offline; the hub never needs them).',
    remote: false,
    options: {
      dir: { type: 'string', value: 'DIR', help: 'directory to create the key set in (required)' },
      ...keyOptions,
    },
    run: async (ctx) => (await import('./keys-run.js')).init(ctx),
  },
  {
    path: ['keys', 'rotate'],
    summary:
      'Replace the release keys (and with --root the root keys) by signing root version N+1 with old and new root keys.',
    remote: false,
    options: {
      dir: { type: 'string', value: 'DIR', help: 'the key set made by `keys init` (required)' },
      root: { type: 'boolean', help: 'also replace the root keys' },
      ...keyOptions,
    },
    run: async (ctx) => (await import('./keys-run.js')).rotate(ctx),
  },
];
