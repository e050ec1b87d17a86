import type { RouteHit, RouteName } from '../index/types.ts';

/**
 * Which recalled products match the query, in one place (search's `total`, and the facets count
 * over the same set): every lexical hit (it holds at least one of the query's terms), and every
 * vector hit at least `minSimilarity` similar to the query (the text model's calibrated threshold,
 * `retrieval.match.min_similarity`). A nearest neighbour below it is only the least unrelated
 * product in the catalog, not a match: "television" in a shop that sells none matches nothing.
 * Image hits (opt-in, no calibrated threshold yet) match as found.
 */
export function matchSet(hits: Partial<Record<RouteName, readonly RouteHit[]>>, minSimilarity: number): Set<string> {
  const out = new Set<string>();
  for (const h of hits.bm25 ?? []) out.add(h.id);
  for (const h of hits.vector ?? []) if (h.score >= minSimilarity) out.add(h.id);
  for (const h of hits.image ?? []) out.add(h.id);
  return out;
}
