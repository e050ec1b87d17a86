import { cosine } from './mmr.ts';

/**
 * How varied a shown list is, for the eval next to relevance (so λ's trade-off is visible).
 * Pure; both look at the first k items only.
 */

/**
 * Intra-list diversity: mean pairwise cosine distance (1 − cos) over the pairs of the first k
 * items that both have a vector. 0 for fewer than two such items. Uses the same embeddings MMR
 * penalises, so it measures what MMR optimises, not a proxy.
 */
export function intraListDiversity(vectors: ReadonlyArray<Float32Array | undefined>, k: number): number {
  const vs = vectors.slice(0, k).filter((v): v is Float32Array => v !== undefined);
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < vs.length; i++) {
    for (let j = i + 1; j < vs.length; j++) {
      sum += 1 - cosine(vs[i]!, vs[j]!);
      pairs++;
    }
  }
  return pairs > 0 ? sum / pairs : 0;
}

/**
 * Category coverage@k: distinct categories among the first k items / k (items without a
 * category count as no category). The full category path (filterKey'd, the key MMR's
 * same-category penalty compares) is used rather than the top level: the demo catalog has ~20
 * top-level categories and a search rarely leaves one, so top-level coverage would sit near 1/k
 * for every λ and show nothing. Dividing by k (not by the list length) keeps short lists from
 * looking diverse.
 */
export function categoryCoverage(categoryKeys: ReadonlyArray<string | undefined>, k: number): number {
  if (k <= 0) return 0;
  const seen = new Set(categoryKeys.slice(0, k).filter((c): c is string => c !== undefined));
  return seen.size / k;
}
