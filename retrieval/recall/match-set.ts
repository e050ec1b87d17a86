import type { MatchQuery, SortedHit } from '../index/facets.ts';
import type { Filters, RouteHit, RouteName } from '../index/types.ts';

/**
 * What a search "matches", in one place: the set search's `total` counts, facets count over and a
 * non-relevance sort orders. A product matches when it holds a term of the query (a lexical hit:
 * every product the BM25 route returned, typo and synonym expansions included, and every product
 * holding all of the query's terms, which the stores count beyond the route's `recall_k`), or when
 * its vector similarity to the query is at least `minSimilarity` (the text model's calibrated
 * threshold, `retrieval.match.min_similarity`), all filters applied. A nearest neighbour below it
 * is only the least unrelated product in the catalog, not a match: "television" in a shop that
 * sells none matches nothing. Image hits (opt-in, no calibrated threshold yet) match as found.
 * A browse (no query) matches the whole catalog under its filters.
 */

/** The recalled products that match: lexical hits and the vector hits at or above the threshold. */
export function matchSet(hits: Partial<Record<RouteName, readonly RouteHit[]>>, minSimilarity: number): Set<string> {
  const out = new Set<string>();
  for (const h of hits.bm25 ?? []) out.add(h.id);
  for (const h of hits.vector ?? []) if (h.score >= minSimilarity) out.add(h.id);
  for (const h of hits.image ?? []) out.add(h.id);
  return out;
}

/**
 * The whole match set as the text stores evaluate it (retrieval/index/facets.ts MatchQuery): the
 * products holding every term of `q`, or among the recalled matches (matchSet), under `filters`.
 */
export function matchQuery(q: string, recalledMatches: Iterable<string>, filters: Filters | undefined): MatchQuery {
  const browse = q.trim() === '';
  return browse ? { filters } : { q, ids: [...recalledMatches], filters };
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
