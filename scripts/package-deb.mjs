#!/usr/bin/env node
// Builds the Debian packages of the hub and the agent with dpkg-deb (decision 0028):
//   npm run package:deb [-- --out DIR] [-- --only hub|agent]     (after `npx tsc -b`)
// → DIR/bulwark-hub_<version>_<arch>.deb and DIR/bulwark-agent_<version>_all.deb (default
// dist/deb). Each ships its systemd unit, a /usr/bin wrapper, its maintainer scripts, the
// licence, docs/operations/install.md and a CycloneDX SBOM (`npm sbom`) of exactly what it
// contains. The hub needs Debian's nodejs 20 (its native better-sqlite3 addon is built for that
// ABI); the agent is one JavaScript file and runs on any nodejs >= 20.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildAgent } from './build-agent.mjs';
import { copyClosure, dependencyClosure } from './lib/node-closure.mjs';

const root = new URL('..', import.meta.url).pathname;
const packaging = join(root, 'packaging', 'deb');
const MAINTAINER = 'Bulwark maintainers <security@bulwark-iot.invalid>';

const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', ...opts });

/** Writes a file, making its directory; `mode` as given. */
function put(file, text, mode = 0o644) {
  mkdirSync(resolve(file, '..'), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, mode);
}

/** Installed size in KiB (the control file's Installed-Size). */
function sizeKiB(dir) {
  let bytes = 0;
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else bytes += s.size;
    }
  };
  walk(dir);
  return Math.ceil(bytes / 1024);
}

/**
 * `npm sbom` (CycloneDX) of a workspace, kept to the components the package really ships:
 * npm lists the workspace's whole tree (its dev dependencies too), the package holds less.
 */
function sbom(workspace, shipped) {
  const raw = sh(
    'npm',
    ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev', '--workspace', workspace],
    {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const doc = JSON.parse(raw);
  const keep = (c) =>
    shipped.has(`${c.name}@${c.version}`) ||
    shipped.has(`${c.group ? `${c.group}/` : ''}${c.name}@${c.version}`);
  doc.components = doc.components.filter(keep);
  const refs = new Set([
    doc.metadata.component['bom-ref'],
    ...doc.components.map((c) => c['bom-ref']),
  ]);
  doc.dependencies = (doc.dependencies ?? [])
    .filter((d) => refs.has(d.ref))
    .map((d) => ({ ...d, dependsOn: (d.dependsOn ?? []).filter((r) => refs.has(r)) }));
  return JSON.stringify(doc, null, 2) + '\n';
}

/** The files every package carries in /usr/share/doc/<name>. */
function docs(stage, name, sbomText) {
  const doc = join(stage, 'usr', 'share', 'doc', name);
  mkdirSync(doc, { recursive: true });
  copyFileSync(join(root, 'LICENSE'), join(doc, 'copyright'));
  copyFileSync(join(root, 'SECURITY.md'), join(doc, 'SECURITY.md'));
  copyFileSync(join(root, 'docs', 'operations', 'install.md'), join(doc, 'install.md'));
  put(join(doc, 'sbom.cdx.json'), sbomText);
}

/** Maintainer scripts and the systemd unit from packaging/deb/<part>. */
function serviceFiles(stage, part, name) {
  const from = join(packaging, part);
  mkdirSync(join(stage, 'DEBIAN'), { recursive: true });
  for (const script of ['postinst', 'prerm', 'postrm'])
    put(join(stage, 'DEBIAN', script), readFileSync(join(from, script), 'utf8'), 0o755);
  put(
    join(stage, 'lib', 'systemd', 'system', `${name}.service`),
    readFileSync(join(from, `${name}.service`), 'utf8'),
  );
}

function control(stage, fields) {
  const text = Object.entries({ ...fields, 'Installed-Size': String(sizeKiB(stage)) })
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  put(join(stage, 'DEBIAN', 'control'), `${text}\n`);
}

function dpkgDeb(stage, out, file) {
  const target = join(out, file);
  // gzip: every dpkg reads it, and it is several times faster than xz (CI builds these each run).
  sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', stage, target]);
  return target;
}

/** The hub: the CLI and hub workspaces with their production closure, under /usr/lib/bulwark-hub. */
function packageHub(version, out, work) {
  const stage = join(work, 'bulwark-hub');
  const lib = join(stage, 'usr', 'lib', 'bulwark-hub');
  const closure = dependencyClosure(root, ['@bulwark/cli', '@bulwark/hub']);
  copyClosure(closure, lib);
  // The web console's built files (decision 0038), where the hub looks for them: next to its own
  // package, node_modules/@bulwark/console/dist.
  const consoleDist = join(root, 'packages', 'console', 'dist');
  if (!existsSync(join(consoleDist, 'index.html')))
    throw new Error('the web console is not built: run `npm run build:console` first');
  cpSync(consoleDist, join(lib, 'node_modules', '@bulwark', 'console', 'dist'), {
    recursive: true,
  });
  put(
    join(lib, 'package.json'),
    JSON.stringify(
      { name: 'bulwark-hub-install', version, private: true, type: 'module' },
      null,
      2,
    ) + '\n',
  );
  put(
    join(stage, 'usr', 'bin', 'bulwark'),
    '#!/bin/sh\n# The bulwark command of the bulwark-hub package (hub, admin, doctor and every remote command).\nexec /usr/bin/node /usr/lib/bulwark-hub/node_modules/@bulwark/cli/bin/bulwark.js "$@"\n',
    0o755,
  );
  put(
    join(stage, 'usr', 'share', 'bulwark-hub', 'hub.env'),
    readFileSync(join(packaging, 'hub', 'hub.env'), 'utf8'),
  );
  serviceFiles(stage, 'hub', 'bulwark-hub');
  const shipped = new Set(closure.map((c) => `${c.name}@${c.version}`));
  docs(stage, 'bulwark-hub', sbom('packages/hub', shipped));
  const arch = sh('dpkg', ['--print-architecture']).trim();
  const abi = process.versions.node.split('.')[0];
  control(stage, {
    Package: 'bulwark-hub',
    Version: version,
    Architecture: arch,
    Maintainer: MAINTAINER,
    // The better-sqlite3 addon is built for this Node major's ABI (NODE_MODULE_VERSION).
    Depends: `nodejs (>= ${abi}), nodejs (<< ${Number(abi) + 1}), passwd`,
    Recommends: 'systemd',
    Section: 'net',
    Priority: 'optional',
    Description:
      'Bulwark IoT hub: device identity and PKI, MQTT/HTTP/CoAP messaging, firmware rollouts\n' +
      ' The hub of the Bulwark secure IoT platform as a hardened systemd service\n' +
      ' (bulwark-hub.service), with the `bulwark` command (hub, admin, doctor and the\n' +
      ' operator CLI). State lives in /var/lib/bulwark-hub, settings in /etc/bulwark/hub.env.',
  });
  return dpkgDeb(stage, out, `bulwark-hub_${version}_${arch}.deb`);
}

/** The agent: the one-file bundle under /usr/lib/bulwark-agent. */
async function packageAgent(version, out, work) {
  const stage = join(work, 'bulwark-agent');
  const lib = join(stage, 'usr', 'lib', 'bulwark-agent');
  const built = await buildAgent(join(work, 'agent-build'));
  mkdirSync(lib, { recursive: true });
  copyFileSync(built.file, join(lib, 'bulwark-agent.js'));
  put(
    join(stage, 'usr', 'bin', 'bulwark-agent'),
    '#!/bin/sh\n# The Bulwark device agent (bulwark-agent --help).\nexec /usr/bin/node /usr/lib/bulwark-agent/bulwark-agent.js "$@"\n',
    0o755,
  );
  const from = join(packaging, 'agent');
  put(
    join(stage, 'usr', 'share', 'polkit-1', 'rules.d', '50-bulwark-agent.rules'),
    readFileSync(join(from, '50-bulwark-agent.rules'), 'utf8'),
  );
  put(
    join(stage, 'usr', 'share', 'dbus-1', 'system.d', 'bulwark-agent-rauc.conf'),
    readFileSync(join(from, 'bulwark-agent-rauc.conf'), 'utf8'),
  );
  serviceFiles(stage, 'agent', 'bulwark-agent');
  // The bundle's contents by the bundler's own account, plus the workspace packages it inlines.
  const ws = ['@bulwark/agent', '@bulwark/protocol', '@bulwark/sdk', '@bulwark/firmware'];
  const closure = dependencyClosure(root, ['@bulwark/agent']).filter(
    (c) => ws.includes(c.name) || built.packages.includes(c.name),
  );
  const shipped = new Set(closure.map((c) => `${c.name}@${c.version}`));
  docs(stage, 'bulwark-agent', sbom('packages/agent', shipped));
  const doc = join(stage, 'usr', 'share', 'doc', 'bulwark-agent');
  copyFileSync(`${built.file}.LEGAL.txt`, join(doc, 'THIRD-PARTY-NOTICES.txt'));
  cpSync(join(from, 'agent.json'), join(doc, 'examples', 'agent.json'));
  control(stage, {
    Package: 'bulwark-agent',
    Version: version,
    Architecture: 'all',
    Maintainer: MAINTAINER,
    Depends: 'nodejs (>= 20), passwd',
    Recommends: 'systemd',
    Suggests: 'rauc, libubootenv-tool, grub-common, polkitd',
    Section: 'net',
    Priority: 'optional',
    Description:
      'Bulwark device agent: identity, call-home, twin, commands, signed A/B updates\n' +
      ' The Bulwark device agent in one JavaScript file as a hardened systemd service\n' +
      ' (bulwark-agent.service, configured by /etc/bulwark/agent.json).',
  });
  return dpkgDeb(stage, out, `bulwark-agent_${version}_all.deb`);
}

/** Builds the packages; resolves with their paths. */
export async function packageDebs({ out = join(root, 'dist', 'deb'), only } = {}) {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'bulwark-deb-'));
  try {
    const files = [];
    if (only !== 'agent') files.push(packageHub(version, out, work));
    if (only !== 'hub') files.push(await packageAgent(version, out, work));
    return files;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, only: { type: 'string' } } });
  if (values.only !== undefined && !['hub', 'agent'].includes(values.only)) {
    console.error(`--only ${values.only}: must be hub or agent`);
    process.exit(2);
  }
  const started = Date.now();
  const files = await packageDebs({
    ...(values.out ? { out: resolve(values.out) } : {}),
    only: values.only,
  });
  for (const f of files) console.log(`${f} (${(statSync(f).size / 1048576).toFixed(1)} MiB)`);
  console.log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
