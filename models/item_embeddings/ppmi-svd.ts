/**
 * Item embeddings learned from behaviour alone, for catalogs without item text (SASRec's
 * Amazon Video set has only ids) so the feed's user-vector route has vectors to work with.
 *
 * Method: the item–item co-occurrence matrix of training sequences (pairs within `window`
 * steps, weight 1/distance), turned into positive PMI with context-distribution smoothing
 * (Levy, Goldberg & Dagan 2015: PMI with counts^0.75 on both sides, which keeps the matrix
 * symmetric), then a rank-`dim` eigendecomposition by randomized subspace iteration (Halko,
 * Martinsson & Tropp 2011). Embedding = U·√λ over the largest positive eigenvalues, L2-normalised:
 * cosine between two items approximates their PPMI. This is item2vec's objective solved in
 * closed form (SGNS factorises shifted PMI), deterministic from a seed, and fast: 23,715 items ×
 * 64 dimensions take seconds on two cores. Trained on training interactions only, never on
 * evaluation targets.
 */
import { mulberry32 } from '../../core/rng.ts';
import { column, csrFromRows, dense, gram, jacobiEigen, orthonormalize, spmm, type Csr, type Dense } from './sparse.ts';

export interface ItemEmbeddingOptions {
  dim?: number;
  /** Items up to this many steps apart in a user's sequence co-occur. */
  window?: number;
  /** Context-distribution smoothing exponent. */
  smoothing?: number;
  /** Extra random directions beyond `dim` (accuracy of the randomized range finder). */
  oversample?: number;
  /** Subspace (power) iterations. */
  iterations?: number;
  seed?: number;
}

export interface ItemEmbeddings {
  /** Items with at least one co-occurrence; others have no vector. */
  vectors: Map<string, Float32Array>;
  dim: number;
  /** Non-zeros of the PPMI matrix and the kept eigenvalues, for the run's record. */
  stats: { items: number; nonzeros: number; eigenvalues: number[]; ms: number };
}

/** Symmetric windowed co-occurrence counts → PPMI matrix over the items that co-occur. */
export function ppmiMatrix(
  sequences: ReadonlyArray<readonly string[]>,
  window: number,
  smoothing: number,
): { ids: string[]; matrix: Csr } {
  const index = new Map<string, number>();
  const rows: Array<Map<number, number>> = [];
  const idOf = (item: string): number => {
    let i = index.get(item);
    if (i === undefined) {
      i = rows.length;
      index.set(item, i);
      rows.push(new Map());
    }
    return i;
  };
  for (const seq of sequences) {
    const ids = seq.map(idOf);
    for (let a = 0; a < ids.length; a++) {
      for (let d = 1; d <= window && a + d < ids.length; d++) {
        const i = ids[a]!;
        const j = ids[a + d]!;
        if (i === j) continue;
        rows[i]!.set(j, (rows[i]!.get(j) ?? 0) + 1 / d);
        rows[j]!.set(i, (rows[j]!.get(i) ?? 0) + 1 / d);
      }
    }
  }
  const sums = rows.map((r) => [...r.values()].reduce((s, v) => s + v, 0));
  const total = sums.reduce((s, v) => s + v, 0);
  const smoothed = sums.map((s) => Math.pow(s, smoothing));
  const smoothedTotal = smoothed.reduce((s, v) => s + v, 0);
  // PMI(i, j) = log P(i, j) − log Pα(i) − log Pα(j), Pα(i) = count(i)^α / Σ count^α.
  const ppmi = rows.map(
    (r, i) =>
      new Map(
        [...r.entries()].flatMap(([j, n]) => {
          const pmi =
            Math.log(n / total) - Math.log(smoothed[i]! / smoothedTotal) - Math.log(smoothed[j]! / smoothedTotal);
          return pmi > 0 ? [[j, pmi] as const] : [];
        }),
      ),
  );
  const ids = [...index.keys()];
  return { ids, matrix: csrFromRows(ppmi) };
}

/** Top-`dim` eigenpairs (largest eigenvalues) of a symmetric sparse matrix. */
export function randomizedEigen(
  a: Csr,
  dim: number,
  oversample: number,
  iterations: number,
  seed: number,
): { values: number[]; vectors: Dense } {
  const l = Math.min(a.n, dim + oversample);
  const rng = mulberry32(seed);
  const omega = dense(a.n, l);
  // Gaussian start (Box–Muller): any full-rank random start works; Gaussian is the textbook one.
  for (let i = 0; i < omega.data.length; i++)
    omega.data[i] = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  let q = orthonormalize(spmm(a, omega));
  for (let it = 0; it < iterations; it++) q = orthonormalize(spmm(a, q));
  const aq = spmm(a, q);
  const t = gram(q, aq); // Qᵀ A Q, l × l, symmetric up to rounding
  for (let r = 0; r < l; r++)
    for (let c = r + 1; c < l; c++) t[r * l + c] = t[c * l + r] = (t[r * l + c]! + t[c * l + r]!) / 2;
  const eig = jacobiEigen(t, l);
  const order = [...eig.values.keys()].sort((x, y) => eig.values[y]! - eig.values[x]!).slice(0, Math.min(dim, l));
  const vectors = dense(a.n, order.length);
  order.forEach((e, k) => {
    const out = column(vectors, k);
    for (let c = 0; c < l; c++) {
      const w = eig.vectors[c * l + e]!;
      if (w === 0) continue;
      const qc = column(q, c);
      for (let i = 0; i < a.n; i++) out[i]! += w * qc[i]!;
    }
  });
  return { values: order.map((e) => eig.values[e]!), vectors };
}

export function trainItemEmbeddings(
  sequences: ReadonlyArray<readonly string[]>,
  opts: ItemEmbeddingOptions = {},
): ItemEmbeddings {
  const started = Date.now();
  const dim = opts.dim ?? 64;
  const { ids, matrix } = ppmiMatrix(sequences, opts.window ?? 5, opts.smoothing ?? 0.75);
  const vectors = new Map<string, Float32Array>();
  if (ids.length === 0)
    return { vectors, dim, stats: { items: 0, nonzeros: 0, eigenvalues: [], ms: Date.now() - started } };
  const eig = randomizedEigen(matrix, dim, opts.oversample ?? 16, opts.iterations ?? 3, opts.seed ?? 1);
  const kept = eig.values.map((v) => Math.sqrt(Math.max(0, v)));
  ids.forEach((id, i) => {
    const v = new Float32Array(dim);
    let norm = 0;
    for (let k = 0; k < kept.length; k++) {
      const x = eig.vectors.data[k * eig.vectors.n + i]! * kept[k]!;
      v[k] = x;
      norm += x * x;
    }
    if (norm === 0) return;
    const inv = 1 / Math.sqrt(norm);
    for (let k = 0; k < dim; k++) v[k]! *= inv;
    vectors.set(id, v);
  });
  return {
    vectors,
    dim,
    stats: { items: ids.length, nonzeros: matrix.vals.length, eigenvalues: eig.values, ms: Date.now() - started },
  };
}
