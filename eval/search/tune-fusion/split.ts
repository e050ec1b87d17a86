/** The seeded tune/test split of `tune-fusion`: a query's half depends only on its id and the seed. */

/**
 * A number in [0, 1) from the query id and the seed: FNV-1a over the id's UTF-16 code units,
 * started from a seed-dependent basis, then the murmur3 finaliser so nearby ids spread out.
 * A query's half depends only on its own id and the seed, so adding or removing other queries
 * never moves it.
 */
export function splitUnit(id: string, seed: number): number {
  let h = (0x811c9dc5 ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Tune half: splitUnit < 0.5; test half: the rest. Input order is kept within each half. */
export function splitQueries<T extends { id: string }>(items: readonly T[], seed: number): { tune: T[]; test: T[] } {
  const tune: T[] = [];
  const test: T[] = [];
  for (const item of items) (splitUnit(item.id, seed) < 0.5 ? tune : test).push(item);
  return { tune, test };
}
