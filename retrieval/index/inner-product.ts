/**
 * Maximum inner product search on a Euclidean nearest-neighbour index: the transform both
 * back ends of the sequence item index (sequence-items.ts) store and query with. Pure functions.
 */

/**
 * Largest inner product as nearest neighbours. Inner product is not a metric, and a trained
 * table's norms vary widely (popular items learn long vectors), so an HNSW graph built on it is
 * badly connected: on the Amazon Video model (23,715 items, 64-d) hnswlib's "ip" graph reached
 * 55% of the items at all and found 69% of the true top 1,000; Qdrant's Dot graph 70% of the top
 * 100 (docs/BENCHMARKS.md). So every item x is stored as (x, √(M² − |x|²)) for a bound M ≥ |x|,
 * and a query q as (q·M/|q|, 0): then |q' − x'|² = 2M² − 2(M/|q|)·q·x, and the Euclidean nearest
 * neighbours are exactly the largest inner products (Bachrach et al. 2014, "Speeding up the Xbox
 * recommender system using a Euclidean transformation for inner-product spaces"), in a space
 * where the graph works. An item longer than M (a new product's projection, rarely) keeps a last
 * coordinate of 0 and ranks a little lower than its inner product says.
 */
export const NORM_HEADROOM = 1.5;

/** M for a model's item table (`dim` columns): its longest row, with headroom for new products' projections. */
export function normBound(table: Float32Array, dim: number): number {
  let longest = 0;
  for (let r = 0; r * dim < table.length; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += table[r * dim + j]! ** 2;
    longest = Math.max(longest, s);
  }
  return longest > 0 ? Math.sqrt(longest) * NORM_HEADROOM : 1;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** An item vector in the Euclidean space (one more dimension). */
export function euclideanItem(x: Float32Array, bound: number): number[] {
  const out = Array.from(x);
  out.push(Math.sqrt(Math.max(0, bound * bound - dot(x, x))));
  return out;
}

/** A query in the Euclidean space: scaled onto the items' sphere (the order does not depend on |q|). */
export function euclideanQuery(q: Float32Array, bound: number): number[] {
  const norm = Math.sqrt(dot(q, q));
  const scale = norm > 0 ? bound / norm : 1;
  const out = Array.from(q, (x) => x * scale);
  out.push(0);
  return out;
}

/**
 * The inner product q·x back from the squared Euclidean distance between euclideanQuery(q) and
 * euclideanItem(x); `queryNorm` is |q| (computed once per search, not per hit).
 */
export function dotFromDistance(squared: number, queryNorm: number, bound: number): number {
  return ((2 * bound * bound - squared) * queryNorm) / (2 * bound);
}
