/**
 * The fleet table's rows, fetched by position from the hub (`GET /devices?sort=&offset=`, decision
 * 0038 amendment: the fleet at 10,000 devices). Rows load in blocks of BLOCK as the visible range
 * reaches them and stay cached until the query changes; the hub filters, sorts and counts, the
 * page never holds the whole fleet.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Session } from './session.js';

type ListQuery = NonNullable<Parameters<Session['client']['devices']['list']>[0]>;
/** One listed device, with its online state (the hub gives it on sorted lists). */
export type FleetRow = Awaited<ReturnType<Session['client']['devices']['list']>>['items'][number];
/** What the table shows: the filters and the sort, never a position. */
export type FleetQuery = Omit<ListQuery, 'cursor' | 'offset' | 'limit'>;

/** Rows per request: a few screens, well under the API's page limit of 500. */
export const BLOCK = 100;

export interface FleetWindow {
  /** Devices matching the query (the last query's until this one answers; null at first). */
  total: number | null;
  /** Whether `total` and the rows are this query's (false while a new query's first block loads). */
  ready: boolean;
  /** The row at a position, or undefined while its block loads. */
  row: (index: number) => FleetRow | undefined;
  /** Bumps when rows arrive or change, so the table re-renders. */
  version: number;
  error: unknown;
  /** Every loaded row (for updating online states from the event stream). */
  patch: (fn: (r: FleetRow) => FleetRow) => void;
  /** Forget every block and load the visible ones again (the stream was reset). */
  reload: () => void;
}

/** Rows `first`..`last` (inclusive) of `query`, loading the blocks they fall in. */
export function useFleetWindow(
  session: Session,
  query: FleetQuery,
  first: number,
  last: number,
): FleetWindow {
  const key = JSON.stringify(query);
  const cache = useRef<{ key: string; blocks: Map<number, FleetRow[]>; pending: Set<number> }>({
    key: '',
    blocks: new Map(),
    pending: new Set(),
  });
  const [counted, setCounted] = useState<{ key: string; total: number } | null>(null);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);

  if (cache.current.key !== key) cache.current = { key, blocks: new Map(), pending: new Set() };

  useEffect(() => {
    const c = cache.current;
    const top = Math.floor(Math.max(0, first) / BLOCK);
    const bottom = Math.floor(Math.max(first, last) / BLOCK);
    for (let b = top; b <= bottom; b++) {
      if (c.blocks.has(b) || c.pending.has(b)) continue;
      c.pending.add(b);
      session.client.devices
        .list({ ...query, sort: query.sort ?? 'name', offset: b * BLOCK, limit: BLOCK })
        .then((page) => {
          c.pending.delete(b);
          if (cache.current !== c) return; // the query changed meanwhile
          c.blocks.set(b, page.items);
          setCounted({ key: c.key, total: page.total ?? page.items.length });
          setError(null);
          setVersion((n) => n + 1);
        })
        .catch((err: unknown) => {
          c.pending.delete(b);
          if (cache.current === c) setError(err);
        });
    }
  }, [session, key, first, last, generation]);

  return {
    total: counted?.total ?? null,
    ready: counted?.key === key,
    version,
    error,
    row: (i) => cache.current.blocks.get(Math.floor(i / BLOCK))?.[i % BLOCK],
    patch: (fn) => {
      for (const [b, rows] of cache.current.blocks) cache.current.blocks.set(b, rows.map(fn));
      setVersion((n) => n + 1);
    },
    reload: () => {
      cache.current = { key, blocks: new Map(), pending: new Set() };
      setGeneration((n) => n + 1);
    },
  };
}
