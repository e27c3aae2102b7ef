/** One page of a paginated list, as every list route returns it. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Yields every item of a paginated list, fetching the next page from `nextCursor` until none is left. */
export async function* paginate<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}
