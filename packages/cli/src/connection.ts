import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { createClient, type BulwarkClient } from '@bulwark/sdk';
// undici is the CLI's one library (a fetch that trusts a given CA). It is loaded on the first
// request, not at start-up (decision 0029): only its types are imported here.
import type { Agent as UndiciAgent, fetch as UndiciFetch } from 'undici';
import { CliError } from './errors.js';

/** Connection flags a remote command accepts. */
export interface ConnectionFlags {
  hub?: string | undefined;
  ca?: string | undefined;
  dataDir?: string | undefined;
}

/** Where the hub is, what TLS trust to use and which credentials to send. */
export interface Connection {
  url: string;
  /** PEM file of CAs to trust for the hub's server certificate; system trust when absent. */
  caFile?: string;
  /** API key or access token. */
  token?: string;
  /** Where the URL came from, for error messages. */
  source: string;
}

/**
 * Resolves the hub connection: `--hub` or BULWARK_HUB, else the runtime.json a running hub wrote in
 * `--data-dir`, BULWARK_DATA_DIR or `./.bulwark` (DESIGN.md §8). `--ca`/BULWARK_CA override its CA.
 */
export function resolveConnection(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Connection {
  const token = env.BULWARK_API_KEY || env.BULWARK_TOKEN || undefined;
  const ca = flags.ca ?? (env.BULWARK_CA || undefined);
  const url = flags.hub ?? (env.BULWARK_HUB || undefined);
  const withExtras = (c: Connection): Connection => ({
    ...c,
    ...(token === undefined ? {} : { token }),
  });
  if (url !== undefined) {
    return withExtras({
      url,
      ...(ca === undefined ? {} : { caFile: resolve(cwd, ca) }),
      source: flags.hub === undefined ? 'BULWARK_HUB' : '--hub',
    });
  }

  const dataDir = resolve(cwd, flags.dataDir ?? (env.BULWARK_DATA_DIR || '.bulwark'));
  const file = join(dataDir, 'runtime.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(
      `no hub configured: pass --hub URL or set BULWARK_HUB, or point --data-dir (BULWARK_DATA_DIR) ` +
        `at the data dir of a running hub (${file} does not exist; is the hub running?)`,
    );
  }
  let info: { url?: unknown; caFile?: unknown };
  try {
    info = JSON.parse(text) as typeof info;
  } catch {
    throw new CliError(`${file} is not valid JSON`);
  }
  if (typeof info.url !== 'string') throw new CliError(`${file} has no hub url`);
  const caFile =
    ca !== undefined
      ? resolve(cwd, ca)
      : typeof info.caFile === 'string'
        ? isAbsolute(info.caFile)
          ? info.caFile
          : resolve(dataDir, info.caFile)
        : undefined;
  return withExtras({
    url: info.url,
    ...(caFile === undefined ? {} : { caFile }),
    source: file,
  });
}

/**
 * A fetch that trusts exactly the given CA bundle for TLS (undici Agent with `connect.ca`), or the
 * system trust store when there is none.
 */
export function fetchTrusting(caFile: string | undefined): typeof fetch {
  if (caFile === undefined) return globalThis.fetch.bind(globalThis);
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the CA file ${caFile}: ${(err as Error).message}`);
  }
  let loaded: Promise<{ dispatcher: UndiciAgent; fetch: typeof UndiciFetch }> | undefined;
  const load = async (): Promise<{ dispatcher: UndiciAgent; fetch: typeof UndiciFetch }> => {
    const undici = await import('undici');
    return { dispatcher: new undici.Agent({ connect: { ca } }), fetch: undici.fetch };
  };
  // undici's fetch types are its own, structurally the same as the global fetch's.
  const f = async (
    input: Parameters<typeof UndiciFetch>[0],
    init?: Parameters<typeof UndiciFetch>[1],
  ): ReturnType<typeof UndiciFetch> => {
    const { dispatcher, fetch: undiciFetch } = await (loaded ??= load());
    return undiciFetch(input, { ...init, dispatcher });
  };
  return f as unknown as typeof fetch;
}

/** An sdk client for the resolved connection; `withToken: false` for public routes. */
export function connect(conn: Connection, withToken = true, authorization?: string): BulwarkClient {
  return createClient({
    baseUrl: conn.url,
    fetch: fetchTrusting(conn.caFile),
    ...(withToken && conn.token !== undefined ? { token: conn.token } : {}),
    ...(authorization === undefined ? {} : { headers: { authorization } }),
  });
}
