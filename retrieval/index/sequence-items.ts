import type { RouteHit } from './types.ts';

/** HNSW search breadth of the sequence item index on either back end (setting `sequence.ef_search`). */
export const DEFAULT_SEQUENCE_EF_SEARCH = 200;

/**
 * Below this much vector data (KiB, dim × 4 bytes per item) the index is scanned exactly instead of
 * searched through its graph (setting `sequence.full_scan_threshold_kb`). Qdrant's own default
 * (`full_scan_threshold`, 10,000 KB) and its reason: under it a scan costs about what a graph search
 * does and finds every true neighbour (the HNSW graph found 95% of the Video model's true top
 * 1,000; an item it misses can never be recommended by the route). About 40,000 items at 64-d.
 */
export const DEFAULT_SEQUENCE_FULL_SCAN_KB = 10_000;

/** How either back end searches a model's item table. */
export interface SequenceIndexOptions {
  /** HNSW search breadth (a search is never narrower than what it returns). */
  efSearch?: number | undefined;
  /** Scan exactly while the table holds at most this many KiB of vectors (0: always the graph). */
  fullScanThresholdKb?: number | undefined;
}

/** Whether `items` vectors of `dim` float32s are few enough to scan exactly. */
export function scansExactly(items: number, dim: number, thresholdKb: number): boolean {
  return items * dim * 4 <= thresholdKb * 1024;
}

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
