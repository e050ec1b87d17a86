import type { RouteHit } from './types.ts';

/**
 * The sequence model's item embeddings as a vector index of their own (the `sequence` feed route
 * and similar items read it): hnswlib in the embedded back end, a Qdrant collection whose named
 * vector `sequence` holds them in production. Scores are inner products, the model's own score
 * (a shopper vector · an item vector), not cosines: an item's norm is part of what it learned.
 * One index per model version; products the model never saw (new ones) are added with the
 * vector their text projects to, so they can be recommended too.
 */
export interface SequenceItemIndex {
  readonly kind: string;
  readonly dim: number;
  /** Adds items, or replaces the vectors of items already in it. */
  upsert(ids: readonly string[], vectors: readonly Float32Array[]): Promise<void>;
  /** The k items with the largest inner product with `v`, best first, the ids in `skip` left out. */
  search(v: Float32Array, k: number, skip?: ReadonlySet<string>): Promise<RouteHit[]>;
  /** Stored vectors of these items (absent ids left out). */
  vectorsOf(ids: readonly string[]): Promise<Map<string, Float32Array>>;
  count(): Promise<number>;
  close(): Promise<void>;
}

/** Where the indexes of model versions live (embedded: memory; production: Qdrant collections). */
export interface SequenceItemIndexes {
  readonly kind: string;
  /**
   * The index of one model (`key`: its version and item-table digest), `dim`-dimensional, about
   * `capacity` items (it may already hold them: another instance filled it). `bound` is the
   * transform's M (normBound of the model's table): the same table gives every instance the same.
   */
  open(key: string, dim: number, capacity: number, bound: number): Promise<SequenceItemIndex>;
  /** Frees what models other than `keep` (keys) hold (their Qdrant collections); nothing in memory. */
  retire?(keep: readonly string[]): Promise<void>;
}

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
