import hnswlib from 'hnswlib-node';
import { dot, euclideanItem, euclideanQuery } from '../inner-product.ts';
import {
  DEFAULT_SEQUENCE_EF_SEARCH,
  DEFAULT_SEQUENCE_FULL_SCAN_KB,
  scansExactly,
  type SequenceIndexOptions,
  type SequenceItemIndex,
  type SequenceItemIndexes,
} from '../sequence-items.ts';
import type { RouteHit } from '../types.ts';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

/**
 * The embedded sequence item index: an in-memory hnswlib graph searched for the largest inner
 * product through the Euclidean transform of sequence-items.ts (hnswlib's own "ip" space reached
 * only 55% of the Video model's items). Scores are the exact dots, from the stored vectors. While
 * the table is small (`fullScanThresholdKb`, as Qdrant's full_scan_threshold) a search scans every
 * stored vector instead: exact, and about as fast at that size.
 * Nothing is persisted: the model folder is the source of truth, read at load, and new products'
 * vectors are projected again from the served index's text vectors after a restart.
 */
export class HnswSequenceItems implements SequenceItemIndex {
  readonly kind = 'hnswlib';
  private readonly index: Hnsw;
  private readonly labels = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly vectors: Float32Array[] = [];

  private readonly efSearch: number;
  private readonly fullScanKb: number;

  constructor(
    readonly dim: number,
    capacity: number,
    /** The transform's M (normBound of the model's table). */
    private readonly bound: number,
    opts: SequenceIndexOptions = {},
  ) {
    this.efSearch = opts.efSearch ?? DEFAULT_SEQUENCE_EF_SEARCH;
    this.fullScanKb = opts.fullScanThresholdKb ?? DEFAULT_SEQUENCE_FULL_SCAN_KB;
    this.index = new HierarchicalNSW('l2', dim + 1);
    this.index.initIndex(Math.max(16, capacity), 16, 200, 100);
    this.index.setEf(this.efSearch);
  }

  async upsert(ids: readonly string[], vectors: readonly Float32Array[]): Promise<void> {
    if (ids.length !== vectors.length) throw new Error(`${ids.length} ids for ${vectors.length} vectors`);
    for (const [i, id] of ids.entries()) {
      const v = vectors[i]!;
      if (v.length !== this.dim) throw new Error(`vector for ${id} has ${v.length} dimensions, index has ${this.dim}`);
      let label = this.labels.get(id);
      if (label === undefined) {
        label = this.ids.length;
        if (label >= this.index.getMaxElements()) this.index.resizeIndex(Math.max(16, label * 2));
        this.labels.set(id, label);
        this.ids.push(id);
      }
      // hnswlib updates the point in place when the label is already in the graph.
      this.vectors[label] = Float32Array.from(v);
      this.index.addPoint(euclideanItem(v, this.bound), label);
    }
  }

  async search(v: Float32Array, k: number, skip: ReadonlySet<string> = new Set()): Promise<RouteHit[]> {
    const n = this.ids.length;
    const want = Math.min(n, k + skip.size);
    if (k <= 0 || want === 0) return [];
    const labels = scansExactly(n, this.dim, this.fullScanKb) ? this.scan(v, want) : this.graphSearch(v, want);
    const out: RouteHit[] = [];
    for (let i = 0; i < labels.length && out.length < k; i++) {
      const id = this.ids[labels[i]!]!;
      if (!skip.has(id)) out.push({ id, score: dot(v, this.vectors[labels[i]!]!) });
    }
    return out;
  }

  /** The `want` labels with the largest inner product, by scoring every stored vector (ties: lower label first). */
  private scan(v: Float32Array, want: number): number[] {
    const n = this.ids.length;
    const scores = new Float64Array(n);
    for (let i = 0; i < n; i++) scores[i] = dot(v, this.vectors[i]!);
    // The want-th largest score by a native sort of a copy; then only the labels at or above it are ordered.
    const cut = want >= n ? -Infinity : Float64Array.from(scores).sort()[n - want]!;
    const top: number[] = [];
    for (let i = 0; i < n; i++) if (scores[i]! >= cut) top.push(i);
    top.sort((a, b) => scores[b]! - scores[a]! || a - b);
    return top.slice(0, want);
  }

  /** The graph's approximate `want` nearest labels (Euclidean transform: largest inner products). */
  private graphSearch(v: Float32Array, want: number): number[] {
    // hnswlib returns at most ef neighbours: a wide k (or a long history to skip) widens the search.
    this.index.setEf(Math.max(this.efSearch, want));
    return this.index.searchKnn(euclideanQuery(v, this.bound), want).neighbors;
  }

  async vectorsOf(ids: readonly string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const id of ids) {
      const label = this.labels.get(id);
      if (label !== undefined) out.set(id, this.vectors[label]!);
    }
    return out;
  }

  async count(): Promise<number> {
    return this.ids.length;
  }

  async close(): Promise<void> {}
}

/** The embedded back end's sequence indexes: a fresh in-memory graph per model version. */
export function hnswSequenceIndexes(opts: SequenceIndexOptions = {}): SequenceItemIndexes {
  return {
    kind: 'hnswlib',
    open: async (_version, dim, capacity, bound) => new HnswSequenceItems(dim, capacity, bound, opts),
  };
}
