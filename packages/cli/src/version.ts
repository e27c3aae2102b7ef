import { readFileSync } from 'node:fs';

/** The CLI's version, from its package.json (dist/src/version.js → ../../package.json). */
export function cliVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
