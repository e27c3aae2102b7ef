import type { Command } from '../command.js';

/** Exit code when metadata or an image is refused (1 is for errors before a verdict, 2 usage). */
export const EXIT_REFUSED = 3;

/** `bulwark firmware sign|verify`: signed release metadata for a firmware image, made offline. */
export const firmwareCommands: Command[] = [
  {
    path: ['firmware', 'sign'],
    args: ['IMAGE'],
    summary:
      'Write signed release metadata (TUF targets) for a firmware image with the release keys.',
    remote: false,
    options: {
      keys: { type: 'string', value: 'DIR', help: 'key set made by `keys init` (required)' },
      type: {
        type: 'string',
        multiple: true,
        value: 'TYPE',
        help: 'device type the image is for (required; repeat for several)',
      },
      version: { type: 'string', value: 'V', help: 'firmware version, e.g. 1.4.2 (required)' },
      'min-version': { type: 'string', value: 'V', help: 'lowest installed version it may update' },
      hardware: {
        type: 'string',
        multiple: true,
        value: 'HW',
        help: 'hardware revision it fits (repeat; default: any)',
      },
      counter: {
        type: 'string',
        value: 'N',
        help: 'release counter, above the last one used (default: last + 1, kept in DIR/counter)',
      },
      expires: { type: 'string', value: 'DURATION', help: 'metadata lifetime (default 90d)' },
      name: {
        type: 'string',
        value: 'NAME',
        help: "the image's name in the metadata (default: file name)",
      },
      key: {
        type: 'string',
        multiple: true,
        value: 'FILE',
        help: 'sign with these release key files instead of all in DIR/keys',
      },
      out: {
        type: 'string',
        value: 'FILE',
        help: 'where to write the metadata (default IMAGE.meta.json)',
      },
      partial: {
        type: 'boolean',
        help: 'write it with fewer signatures than the threshold, for `firmware cosign`',
      },
      'no-chunks': {
        type: 'boolean',
        help: 'leave out the chunk index (devices then always download the whole image)',
      },
    },
    run: async (ctx) => (await import('./firmware-run.js')).sign(ctx),
  },
  {
    path: ['firmware', 'cosign'],
    args: ['META'],
    summary: 'Add release key signatures to metadata signed with --partial (split key custody).',
    remote: false,
    options: {
      key: {
        type: 'string',
        multiple: true,
        value: 'FILE',
        help: 'release key file to sign with (required; repeat for several)',
      },
      root: { type: 'string', value: 'FILE', help: 'the current root.json (required)' },
    },
    run: async (ctx) => (await import('./firmware-run.js')).cosign(ctx),
  },
  {
    path: ['firmware', 'verify'],
    args: ['IMAGE', 'META'],
    summary: `Verify an image against its signed metadata and a trusted root (exit ${EXIT_REFUSED} when refused).`,
    remote: false,
    options: {
      root: { type: 'string', value: 'FILE', help: 'the trusted root.json (required)' },
    },
    run: async (ctx) => (await import('./firmware-run.js')).verify(ctx),
  },
];
