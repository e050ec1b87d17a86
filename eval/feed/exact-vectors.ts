/**
 * Exact dot-product search over in-memory unit vectors: the feed's vectorSearch source for
 * offline evaluation. An exact scan (instead of the HNSW index) keeps the measurement about the
 * route, not about approximate-search recall, and a scan of 24k × 64 floats takes about a
 * millisecond.
 */
import type { RouteHit } from '../../retrieval/index/types.ts';

export class ExactVectors {
  private readonly ids: string[];
  private readonly matrix: Float32Array;
  private readonly scores: Float32Array;
  readonly dim: number;

  constructor(vectors: ReadonlyMap<string, Float32Array>) {
    this.ids = [...vectors.keys()];
    this.dim = this.ids.length > 0 ? vectors.get(this.ids[0]!)!.length : 0;
    this.matrix = new Float32Array(this.ids.length * this.dim);
    this.ids.forEach((id, i) => this.matrix.set(vectors.get(id)!, i * this.dim));
    this.scores = new Float32Array(this.ids.length);
  }

  get size(): number {
    return this.ids.length;
  }

  /** The k best by dot product, best first; ties by id so results are reproducible. */
  search(v: Float32Array, k: number): RouteHit[] {
    const n = this.ids.length;
    const d = this.dim;
    if (n === 0 || k <= 0) return [];
    if (v.length !== d) throw new Error(`query has ${v.length} dimensions, index ${d}`);
    const { matrix, scores } = this;
    for (let i = 0; i < n; i++) {
      let s = 0;
      const o = i * d;
      for (let j = 0; j < d; j++) s += matrix[o + j]! * v[j]!;
      scores[i] = s;
    }
    const cut = k >= n ? -Infinity : kthLargest(scores, k);
    const picked: number[] = [];
    for (let i = 0; i < n; i++) if (scores[i]! >= cut) picked.push(i);
    picked.sort((a, b) => scores[b]! - scores[a]! || (this.ids[a]! < this.ids[b]! ? -1 : 1));
    return picked.slice(0, k).map((i) => ({ id: this.ids[i]!, score: scores[i]! }));
  }
}

/** The k-th largest value (1-based) by quickselect on a copy: O(n) instead of sorting. */
export function kthLargest(values: Float32Array, k: number): number {
  const a = Float32Array.from(values);
  let lo = 0;
  let hi = a.length - 1;
  const want = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (want <= j) hi = j;
    else if (want >= i) lo = i;
    else break;
  }
  return a[want]!;
}
