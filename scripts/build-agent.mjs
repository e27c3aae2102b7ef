#!/usr/bin/env node
// Bundles the device agent into one file that needs only Node.js (>= 20): no monorepo, no
// node_modules, no `npm install` on the device (decision 0028). Run after `npx tsc -b`:
//   node scripts/build-agent.mjs [--out DIR]      → DIR/bulwark-agent.js (default dist/agent)
// The agent has no native dependency: mqtt, multicast-dns, @peculiar/x509, @tufjs/models and
// TypeBox are plain JavaScript, and mqtt's optional ws accelerators (bufferutil, utf-8-validate)
// are not installed and not needed (the agent speaks MQTT over TLS, not WebSocket).
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;

/** Builds the bundle; resolves with its path and the packages it contains (from the metafile). */
export async function buildAgent(outDir = join(root, 'dist', 'agent')) {
  const entry = join(root, 'packages', 'agent', 'dist', 'src', 'standalone.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npx tsc -b\` first`);
  const { version } = JSON.parse(
    readFileSync(join(root, 'packages', 'agent', 'package.json'), 'utf8'),
  );
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'bulwark-agent.js');
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    // CommonJS so that `node bulwark-agent.js` runs with no package.json beside it (a .js file
    // is CommonJS to Node 20); the agent has no top-level await and no import.meta.
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
    define: { BULWARK_AGENT_VERSION: JSON.stringify(version) },
    // Minified identifiers would make a device's stack traces useless; whitespace is most of
    // the saving anyway.
    minifyWhitespace: true,
    legalComments: 'linked',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const packages = new Set();
  for (const input of Object.keys(result.metafile.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    if (m) packages.add(m[1]);
  }
  return { file: outfile, bytes: statSync(outfile).size, packages: [...packages].sort() };
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = await buildAgent(values.out ? resolve(values.out) : undefined);
  console.log(`${out.file} (${(out.bytes / 1024).toFixed(0)} KiB): ${out.packages.join(', ')}`);
}
