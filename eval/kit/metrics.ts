/**
 * Offline ranking metrics and paired significance tests. Everything here is pure: a ranking
 * is an array of product ids (best first), judgments are `Map<productId, grade>` with graded
 * relevance 0..3 (TREC style). Ids missing from the map are unjudged and count as grade 0.
 */
import { mulberry32 } from '../../core/rng.ts';

/** product id → graded relevance (0 = judged not relevant, 1..3 = increasingly relevant). */
export type Judgments = ReadonlyMap<string, number>;

/** Exponential gain used by nDCG: 2^grade − 1 (grade 0 → 0, 1 → 1, 2 → 3, 3 → 7). */
export function gainOf(grade: number): number {
  return grade > 0 ? 2 ** grade - 1 : 0;
}

/** Rank discount for 1-based rank r: 1 / log2(r + 1). */
function discount(rank: number): number {
  return 1 / Math.log2(rank + 1);
}

/** Top-k ids with later duplicates removed (a ranking that repeats an id must not score twice). */
function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
}

function topK(k: number, rankedIds: readonly string[]): string[] {
  checkK(k);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const id of rankedIds) {
    if (out.length >= k) break;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(id);
  }
  return out;
}

/** DCG@k of a ranking: Σ_{r=1..k} (2^grade_r − 1) / log2(r + 1). */
export function dcgAt(k: number, rankedIds: readonly string[], gains: Judgments): number {
  let s = 0;
  topK(k, rankedIds).forEach((id, i) => {
    s += gainOf(gains.get(id) ?? 0) * discount(i + 1);
  });
  return s;
}

/** DCG@k of the ideal ranking: every judged grade of the query, sorted best first. */
export function idealDcgAt(k: number, gains: Judgments): number {
  checkK(k);
  const grades = [...gains.values()].filter((g) => g > 0).sort((a, b) => b - a);
  let s = 0;
  for (let i = 0; i < Math.min(k, grades.length); i++) s += gainOf(grades[i]!) * discount(i + 1);
  return s;
}

/** nDCG@k in [0, 1]. A query without any relevant judgment scores 0 (callers should skip such queries). */
export function ndcgAt(k: number, rankedIds: readonly string[], gains: Judgments): number {
  const ideal = idealDcgAt(k, gains);
  return ideal > 0 ? dcgAt(k, rankedIds, gains) / ideal : 0;
}

/** Number of relevant (grade > 0) judgments of a query. */
export function countRelevant(gains: Judgments): number {
  let n = 0;
  for (const g of gains.values()) if (g > 0) n++;
  return n;
}

/** Recall@k: share of the query's relevant products (grade > 0) found in the top k. 0 when none are relevant. */
export function recallAt(k: number, rankedIds: readonly string[], gains: Judgments): number {
  const relevant = countRelevant(gains);
  if (relevant === 0) return 0;
  let found = 0;
  for (const id of topK(k, rankedIds)) if ((gains.get(id) ?? 0) > 0) found++;
  return found / relevant;
}

/** Reciprocal rank of the first relevant product (grade > 0) within the top k, else 0. */
export function mrrAt(k: number, rankedIds: readonly string[], gains: Judgments): number {
  const top = topK(k, rankedIds);
  for (let i = 0; i < top.length; i++) if ((gains.get(top[i]!) ?? 0) > 0) return 1 / (i + 1);
  return 0;
}
