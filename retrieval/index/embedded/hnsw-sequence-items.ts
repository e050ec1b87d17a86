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

const { BruteforceSearch, HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;
type Flat = InstanceType<typeof BruteforceSearch>;

/**
 * The embedded sequence item index, in memory, two ways (both hnswlib, SIMD distance code):
 * - while the table is small (`fullScanThresholdKb`, as Qdrant's full_scan_threshold), an exact
 *   scan (`BruteforceSearch`, inner product): every true neighbour, 0.4 ms for the top 150 of the
 *   Video model's 23,715 items;
 * - above it, an HNSW graph searched for the largest inner product through the Euclidean transform
 *   of inner-product.ts (hnswlib's own "ip" graph reached only 55% of the Video model's items),
 *   built from the stored vectors the first time the table outgrows the scan.
 * Scores are the exact dots, from the stored vectors. Nothing is persisted: the model folder is the
 * source of truth, read at load, and new products' vectors are projected again from the served
 * index's text vectors after a restart.
 */
export class HnswSequenceItems implements SequenceItemIndex {
  readonly kind = 'hnswlib';
  private flat: Flat | undefined;
  private graph: Hnsw | undefined;
  private readonly labels = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly vectors: Float32Array[] = [];

  private readonly efSearch: number;
  private readonly fullScanKb: number;

  constructor(
    readonly dim: number,
    private readonly capacity: number,
    /** The transform's M (normBound of the model's table). */
    private readonly bound: number,
    opts: SequenceIndexOptions = {},
  ) {
    this.efSearch = opts.efSearch ?? DEFAULT_SEQUENCE_EF_SEARCH;
    this.fullScanKb = opts.fullScanThresholdKb ?? DEFAULT_SEQUENCE_FULL_SCAN_KB;
  }

  /** Whether searches scan exactly (the table is under the threshold) or use the graph. */
  get exact(): boolean {
    return scansExactly(this.ids.length, this.dim, this.fullScanKb);
  }

  async upsert(ids: readonly string[], vectors: readonly Float32Array[]): Promise<void> {
    if (ids.length !== vectors.length) throw new Error(`${ids.length} ids for ${vectors.length} vectors`);
    for (const [i, id] of ids.entries()) {
      const v = vectors[i]!;
      if (v.length !== this.dim) throw new Error(`vector for ${id} has ${v.length} dimensions, index has ${this.dim}`);
      let label = this.labels.get(id);
      if (label === undefined) {
        label = this.ids.length;
        this.labels.set(id, label);
        this.ids.push(id);
      }
      this.vectors[label] = Float32Array.from(v);
      if (!this.exact) {
        // The table has outgrown the scan: the graph takes over (built once, then kept up to date).
        this.flat = undefined;
        if (this.graph) this.addToGraph(this.graph, label);
        else this.graph = this.buildGraph();
      } else if (this.flat && label < this.flat.getMaxElements()) {
        // hnswlib overwrites a label already in the scan.
        this.flat.addPoint(Array.from(v), label);
      } else this.flat = this.buildFlat();
    }
  }

  /** A scan of every stored vector, with room to grow (hnswlib's scan cannot be resized). */
  private buildFlat(): Flat {
    const flat = new BruteforceSearch('ip', this.dim);
    flat.initIndex(Math.max(16, this.capacity, this.ids.length * 2));
    this.vectors.forEach((v, label) => flat.addPoint(Array.from(v), label));
    return flat;
  }

  private buildGraph(): Hnsw {
    const graph = new HierarchicalNSW('l2', this.dim + 1);
    graph.initIndex(Math.max(16, this.capacity, this.ids.length * 2), 16, 200, 100);
    graph.setEf(this.efSearch);
    this.vectors.forEach((_, label) => this.addToGraph(graph, label));
    return graph;
  }

  private addToGraph(graph: Hnsw, label: number): void {
    if (label >= graph.getMaxElements()) graph.resizeIndex(Math.max(16, label * 2));
    // hnswlib updates the point in place when the label is already in the graph.
    graph.addPoint(euclideanItem(this.vectors[label]!, this.bound), label);
  }

  async search(v: Float32Array, k: number, skip: ReadonlySet<string> = new Set()): Promise<RouteHit[]> {
    const n = this.ids.length;
    const want = Math.min(n, k + skip.size);
    if (k <= 0 || want === 0) return [];
    const labels = this.flat
      ? this.flat.searchKnn(Array.from(v), want).neighbors
      : this.graphSearch(this.graph!, v, want);
    const out: RouteHit[] = [];
    for (let i = 0; i < labels.length && out.length < k; i++) {
      const id = this.ids[labels[i]!]!;
      if (!skip.has(id)) out.push({ id, score: dot(v, this.vectors[labels[i]!]!) });
    }
    return out;
  }

  /** The graph's approximate `want` nearest labels (Euclidean transform: largest inner products). */
  private graphSearch(graph: Hnsw, v: Float32Array, want: number): number[] {
    // hnswlib returns at most ef neighbours: a wide k (or a long history to skip) widens the search.
    graph.setEf(Math.max(this.efSearch, want));
    return graph.searchKnn(euclideanQuery(v, this.bound), want).neighbors;
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
