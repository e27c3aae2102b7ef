// The production dependency closure of workspace packages, copied out of the monorepo's installed
// node_modules into a self-contained tree (decision 0028): exactly the versions the lockfile
// installed and tested, with the native addon (better-sqlite3) built for this Node ABI, offline.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

// Needed only to build or fetch a native addon at install time, never when it runs.
const INSTALL_ONLY = new Set(['prebuild-install', 'node-gyp']);
// What no program loads at run time: type declarations, source maps, tests, docs. Licence
// files stay whatever their extension.
const SKIP_FILE = /\.(d\.[cm]?ts|map|md|markdown|tsbuildinfo)$/i;
const KEEP_FILE = /^(licen[cs]e|copying|notice)/i;
const SKIP_DIR = new Set([
  'test',
  'tests',
  '__tests__',
  '.github',
  'docs',
  'example',
  'examples',
  'benchmarks',
  'bench',
  'node_modules',
]);

/** Whether a path (relative to its package) is copied into the staged tree. */
function shipped(rel) {
  const parts = rel.split(sep);
  const base = parts.at(-1) ?? '';
  if (parts.slice(0, -1).some((p) => SKIP_DIR.has(p)) || SKIP_DIR.has(base)) return false;
  return KEEP_FILE.test(base) || !SKIP_FILE.test(base);
}

// Of a native package only what loads at run time: its JavaScript, the compiled addon, and its
// licence (better-sqlite3 also carries SQLite's sources and the object files of its build).
const NATIVE_KEEP = {
  'better-sqlite3': ['package.json', 'LICENSE', 'lib', 'build/Release/better_sqlite3.node'],
};

/** Where Node would find `name` from a package at real path `from` (nested first, then up). */
function resolvePackage(name, from, root) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/**
 * Walks the dependencies (and installed optional dependencies) of `entries` (package names
 * resolvable from `root`). Returns one record per package: its name, version, real directory,
 * whether it is a workspace package, and its path in the staged tree.
 */
export function dependencyClosure(root, entries) {
  const workspaces = join(root, 'packages') + sep;
  const found = new Map(); // real dir → record
  const queue = entries.map((name) => ({ name, from: root, required: true }));
  while (queue.length > 0) {
    const { name, from, required } = queue.shift();
    const dir = resolvePackage(name, from, root);
    if (dir === undefined) {
      if (required) throw new Error(`${name} (needed by ${from}) is not installed: npm ci first`);
      continue;
    }
    if (found.has(dir)) continue;
    const pkg = readJson(join(dir, 'package.json'));
    const workspace =
      dir.startsWith(workspaces) && !relative(workspaces, dir).split(sep).includes('node_modules');
    // A workspace package lives at node_modules/<its name>; what is nested under a workspace or
    // under node_modules keeps its place, so Node resolves the staged tree as it did this one.
    const staged = workspace
      ? join('node_modules', pkg.name)
      : join('node_modules', relative(join(root, 'node_modules'), dir));
    found.set(dir, { name: pkg.name, version: pkg.version, dir, workspace, staged, pkg });
    // Type packages (@types/*) are for the compiler only.
    for (const dep of Object.keys(pkg.dependencies ?? {}))
      if (!INSTALL_ONLY.has(dep) && !dep.startsWith('@types/'))
        queue.push({ name: dep, from: dir, required: true });
    for (const dep of Object.keys(pkg.optionalDependencies ?? {}))
      queue.push({ name: dep, from: dir, required: false });
  }
  // A workspace's own nested node_modules map under its staged directory.
  for (const rec of found.values()) {
    if (rec.workspace || rec.dir.startsWith(join(root, 'node_modules') + sep)) continue;
    const owner = [...found.values()].find((w) => w.workspace && rec.dir.startsWith(w.dir + sep));
    if (owner === undefined) throw new Error(`cannot place ${rec.dir} in the staged tree`);
    rec.staged = join(owner.staged, relative(owner.dir, rec.dir));
  }
  return [...found.values()];
}

/** Copies the closure into `dest` (a directory that will hold node_modules/). */
export function copyClosure(closure, dest) {
  for (const rec of closure) {
    const to = join(dest, rec.staged);
    mkdirSync(to, { recursive: true });
    if (rec.workspace) {
      // What the package would publish: package.json and its `files` (dist/src, bin).
      for (const entry of ['package.json', ...(rec.pkg.files ?? [])]) {
        const from = join(rec.dir, entry);
        if (existsSync(from))
          cpSync(from, join(to, entry), {
            recursive: true,
            filter: (src) => src === from || shipped(relative(rec.dir, src)),
          });
      }
      continue;
    }
    const keep = NATIVE_KEEP[rec.name];
    if (keep) {
      for (const entry of keep) {
        mkdirSync(dirname(join(to, entry)), { recursive: true });
        cpSync(join(rec.dir, entry), join(to, entry), { recursive: true });
      }
      continue;
    }
    // Nested node_modules are closure members of their own (or not needed at all).
    cpSync(rec.dir, to, {
      recursive: true,
      filter: (src) => src === rec.dir || shipped(relative(rec.dir, src)),
    });
  }
}
