import type { RouteHit } from './types.ts';

/** HNSW search breadth of the sequence item index on either back end (setting `sequence.ef_search`). */
export const DEFAULT_SEQUENCE_EF_SEARCH = 200;

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
