/**
 * Names where ids are expected (decision 0029): `bulwark device get pump-1` finds the device named
 * exactly `pump-1` through the list endpoint. A UUID is taken as it is; no match or several are
 * clear errors that change nothing.
 */
import type { BulwarkClient } from '@bulwark/sdk';
import { CliError } from './errors.js';

/** What a positional argument names. */
export type NameKind = 'device' | 'channel' | 'location' | 'rollout';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Bounds the search in a very large organization: past this many candidates, ask for the id.
const MAX_SCANNED = 5000;
const PAGE = 500;

interface Named {
  id: string;
  name: string;
}

/** Every item of a cursor-paged list, up to MAX_SCANNED. */
async function scan(
  page: (cursor: string | undefined) => Promise<{ items: Named[]; nextCursor: string | null }>,
): Promise<Named[]> {
  const out: Named[] = [];
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    out.push(...p.items);
    cursor = p.nextCursor ?? undefined;
  } while (cursor !== undefined && out.length < MAX_SCANNED);
  return out;
}

function candidates(client: BulwarkClient, kind: NameKind, name: string): Promise<Named[]> {
  switch (kind) {
    case 'device':
      // `q` narrows by substring on the hub; the exact match is checked below.
      return scan((cursor) => client.devices.list({ q: name, limit: PAGE, cursor }));
    case 'channel':
      return scan((cursor) => client.channels.list({ limit: PAGE, cursor }));
    case 'rollout':
      return scan((cursor) => client.rollouts.list({ limit: PAGE, cursor }));
    case 'location':
      return client.locations.list();
  }
}

/** The id of the `kind` named `value`, or `value` itself when it is already an id. */
export async function resolveName(
  client: () => BulwarkClient,
  kind: NameKind,
  value: string,
): Promise<string> {
  if (UUID.test(value)) return value;
  const matches = (await candidates(client(), kind, value)).filter((x) => x.name === value);
  const [only, ...more] = matches;
  if (only === undefined) {
    throw new CliError(
      `no ${kind} named ${JSON.stringify(value)} (give its id or exact name; \`bulwark ${kind} list\` shows them)`,
    );
  }
  if (more.length > 0) {
    throw new CliError(
      `${matches.length} ${kind}s are named ${JSON.stringify(value)}: ` +
        `${matches.map((m) => m.id).join(', ')}; give the id`,
    );
  }
  return only.id;
}
