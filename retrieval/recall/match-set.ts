import type { MatchQuery, SortedHit } from '../index/facets.ts';
import type { Filters } from '../index/types.ts';

/**
 * What a search "matches", in one place: the set that `total` counts, facets count over and a
 * non-relevance sort orders. It is the products with every term of the query in their text
 * (lexical matches), plus every product a recall route returned for it (the BM25 route's
 * relaxed matches and the vector and image neighbours), all filters applied. A browse (no
 * query) matches the whole catalog under its filters.
 *
 * Vector neighbours count as far as the route returned them (`recall_k`); a similarity
 * threshold belongs here when one exists.
 */
export function matchSet(q: string, recalled: readonly string[], filters: Filters | undefined): MatchQuery {
  const browse = q.trim() === '';
  return browse ? { filters } : { q, ids: recalled, filters };
}

/** The sort orders a search takes; every one but relevance orders the whole match set. */
export const SORTS = ['relevance', 'price:asc', 'price:desc', 'newest', 'popularity'] as const;
export type SortOrder = (typeof SORTS)[number];

/**
 * A stored order (by price or date, then id) with relevance breaking ties: within each run of
 * equal keys, products the recall routes found come first in fusion order, then the others by id.
 */
export function tiesByRelevance(sorted: readonly SortedHit[], fusionRank: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i + 1;
    while (j < sorted.length && sorted[j]!.key === sorted[i]!.key) j++;
    const run = sorted.slice(i, j).map((h) => h.id);
    if (run.length > 1) run.sort((a, b) => rankOf(fusionRank, a) - rankOf(fusionRank, b) || (a < b ? -1 : 1));
    out.push(...run);
    i = j;
  }
  return out;
}

/**
 * Best-sellers first, by the behaviour stream's decayed popularity (ties by relevance), then the
 * rest of the match set in relevance order, then (a browse) by id.
 */
export function byPopularity(
  popular: ReadonlyArray<{ id: string; score: number }>,
  matching: ReadonlySet<string>,
  fused: readonly string[],
  rest: readonly string[],
  fusionRank: ReadonlyMap<string, number>,
): string[] {
  const head = popular
    .filter((p) => matching.has(p.id) && p.score > 0)
    .sort((a, b) => b.score - a.score || rankOf(fusionRank, a.id) - rankOf(fusionRank, b.id) || (a.id < b.id ? -1 : 1))
    .map((p) => p.id);
  const seen = new Set(head);
  const out = [...head];
  for (const id of [...fused, ...rest]) {
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(id);
  }
  return out;
}

const rankOf = (m: ReadonlyMap<string, number>, id: string) => m.get(id) ?? Number.MAX_SAFE_INTEGER;
