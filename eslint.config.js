// ESLint flat config: typed rules for every package, plus the dependency rule from STYLE.md
// checked mechanically by a small local rule (`bulwark/allowed-imports`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// `node:test` (and other prefix-only modules) are not in builtinModules.
const NODE = [
  ...builtinModules.map((m) => `node:${m}`),
  'node:test',
  'node:test/reporters',
  'node:sqlite',
];
const PURE_NODE = ['node:crypto', 'node:events', 'node:util', 'node:buffer', 'node:assert'];

/**
 * What each package's sources may import (relative imports are always allowed).
 * `protocol` imports nothing but its schema library; `core` adds pure Node built-ins; adapters add
 * their one library; `hub` wires everything and nothing imports it; `sdk` is browser-safe.
 */
const ALLOWED = {
  protocol: ['@sinclair/typebox'],
  core: ['@bulwark/protocol', ...PURE_NODE],
  pki: ['@bulwark/protocol', '@bulwark/core', '@peculiar/x509', 'reflect-metadata', ...PURE_NODE],
  'store-sql': ['@bulwark/protocol', '@bulwark/core', ...PURE_NODE],
  'store-sqlite': [
    '@bulwark/protocol',
    '@bulwark/core',
    '@bulwark/store-sql',
    'better-sqlite3',
    // The message writer thread (decision 0019).
    'node:worker_threads',
    ...PURE_NODE,
  ],
  'store-postgres': [
    '@bulwark/protocol',
    '@bulwark/core',
    '@bulwark/store-sql',
    'pg',
    ...PURE_NODE,
  ],
  transport: [
    '@bulwark/protocol',
    '@bulwark/core',
    'fastify',
    // The web console's assets (decision 0038).
    '@fastify/static',
    'ajv',
    'ajv-formats',
    'mqtt-packet',
    'ws',
    'coap',
    // The LwM2M server's own message layer on one socket, server and client (decision 0043).
    'coap-packet',
    ...NODE,
  ],
  'bus-nats': [
    '@bulwark/protocol',
    '@bulwark/core',
    '@nats-io/transport-node',
    '@nats-io/jetstream',
    '@nats-io/obj',
    ...PURE_NODE,
  ],
  senml: ['@bulwark/protocol', 'cbor-x'],
  firmware: ['@bulwark/protocol', '@tufjs/models', ...PURE_NODE],
  sdk: ['@bulwark/protocol', '@peculiar/x509', 'reflect-metadata'],
  // The web console runs in a browser: the SDK's browser entry and Preact, nothing else.
  console: ['@bulwark/sdk', 'preact'],
  cli: ['@bulwark/protocol', '@bulwark/sdk', '@bulwark/firmware', 'undici', ...NODE],
  testkit: ['@bulwark/protocol', '@bulwark/core', 'pg', ...NODE],
  agent: [
    '@bulwark/protocol',
    '@bulwark/sdk',
    '@bulwark/firmware',
    'mqtt',
    'multicast-dns',
    ...NODE,
  ],
  hub: null, // composition root: may import anything
};
// Tests may additionally use the testkit, the sdk and Node built-ins.
const TEST_EXTRA = ['@bulwark/testkit', '@bulwark/sdk', '@bulwark/transport', 'mqtt', ...NODE];
// …and per package: the agent's tests run against a real in-process hub.
const TEST_EXTRA_BY_PKG = {
  agent: ['@bulwark/hub', '@bulwark/core', '@bulwark/bus-nats', 'pino', 'undici'],
  // The AsyncAPI document is checked with the official parser (a dev dependency).
  transport: ['@asyncapi/parser'],
};

const allowedImports = {
  meta: { type: 'problem', schema: [{ type: 'array', items: { type: 'string' } }] },
  create(context) {
    const allowed = new Set(context.options[0] ?? []);
    const check = (node, source) => {
      if (typeof source !== 'string' || source.startsWith('.')) return;
      const name = source.startsWith('@')
        ? source.split('/').slice(0, 2).join('/')
        : source.split('/')[0];
      if (!allowed.has(name) && !allowed.has(source)) {
        context.report({
          node,
          message: `'${source}' may not be imported here (STYLE.md dependency rule)`,
        });
      }
    };
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.bulwark/**', 'bench/**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { bulwark: { rules: { 'allowed-imports': allowedImports } } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: [
                'describe',
                'it',
                'test',
                'before',
                'after',
                'beforeEach',
                'afterEach',
                'suite',
              ],
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', 'bench/**'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: false },
      // Node's globals, for plain-JS scripts and benchmarks.
      globals: Object.fromEntries(
        [
          'process',
          'console',
          'URL',
          'Buffer',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
          'setImmediate',
          'clearImmediate',
          'performance',
          'queueMicrotask',
          'TextEncoder',
          'TextDecoder',
          'AbortController',
          'structuredClone',
          'fetch',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  ...Object.entries(ALLOWED)
    .filter(([, list]) => list !== null)
    .flatMap(([pkg, list]) => [
      {
        files: [`packages/${pkg}/src/**/*.ts`],
        rules: { 'bulwark/allowed-imports': ['error', list] },
      },
      {
        files: [`packages/${pkg}/test/**/*.ts`],
        rules: {
          'bulwark/allowed-imports': [
            'error',
            [...list, ...TEST_EXTRA, ...(TEST_EXTRA_BY_PKG[pkg] ?? []), `@bulwark/${pkg}`],
          ],
        },
      },
    ]),
);
