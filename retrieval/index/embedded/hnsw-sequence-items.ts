import hnswlib from 'hnswlib-node';
import { dot, euclideanItem, euclideanQuery } from '../inner-product.ts';
import { DEFAULT_SEQUENCE_EF_SEARCH, type SequenceItemIndex, type SequenceItemIndexes } from '../sequence-items.ts';
import type { RouteHit } from '../types.ts';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

/**
 * The embedded sequence item index: an in-memory hnswlib graph searched for the largest inner
 * product through the Euclidean transform of sequence-items.ts (hnswlib's own "ip" space reached
 * only 55% of the Video model's items). Scores are the exact dots, from the stored vectors.
 * Nothing is persisted: the model folder is the source of truth, read at load, and new products'
 * vectors are projected again from the served index's text vectors after a restart.
 */
export class HnswSequenceItems implements SequenceItemIndex {
  readonly kind = 'hnswlib';
  private readonly index: Hnsw;
  private readonly labels = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly vectors: Float32Array[] = [];

  constructor(
    readonly dim: number,
    capacity: number,
    /** The transform's M (normBound of the model's table). */
    private readonly bound: number,
    private readonly efSearch = DEFAULT_SEQUENCE_EF_SEARCH,
  ) {
    this.index = new HierarchicalNSW('l2', dim + 1);
    this.index.initIndex(Math.max(16, capacity), 16, 200, 100);
    this.index.setEf(efSearch);
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
    // hnswlib returns at most ef neighbours: a wide k (or a long history to skip) widens the search.
    this.index.setEf(Math.max(this.efSearch, want));
    const res = this.index.searchKnn(euclideanQuery(v, this.bound), want);
    const out: RouteHit[] = [];
    for (let i = 0; i < res.neighbors.length && out.length < k; i++) {
      const label = res.neighbors[i]!;
      const id = this.ids[label]!;
      if (!skip.has(id)) out.push({ id, score: dot(v, this.vectors[label]!) });
    }
    return out;
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
export function hnswSequenceIndexes(efSearch = DEFAULT_SEQUENCE_EF_SEARCH): SequenceItemIndexes {
  return {
    kind: 'hnswlib',
    open: async (_version, dim, capacity, bound) => new HnswSequenceItems(dim, capacity, bound, efSearch),
  };
}
