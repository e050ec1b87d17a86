/**
 * Just enough sparse and dense linear algebra for a randomized eigendecomposition, in plain
 * TypeScript: the project ships no numeric library, and at tens of thousands of items × 64
 * dimensions typed arrays are fast enough (seconds).
 */

/** Compressed sparse rows of a square matrix. */
export interface Csr {
  n: number;
  rowPtr: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
}

/** Builds a CSR from (row, col) → value maps; duplicate entries were already summed by the caller. */
export function csrFromRows(rows: ReadonlyArray<ReadonlyMap<number, number>>): Csr {
  const n = rows.length;
  const rowPtr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) rowPtr[i + 1] = rowPtr[i]! + rows[i]!.size;
  const cols = new Int32Array(rowPtr[n]!);
  const vals = new Float64Array(rowPtr[n]!);
  for (let i = 0; i < n; i++) {
    let at = rowPtr[i]!;
    for (const [c, v] of [...rows[i]!.entries()].sort((a, b) => a[0] - b[0])) {
      cols[at] = c;
      vals[at++] = v;
    }
  }
  return { n, rowPtr, cols, vals };
}

/**
 * Dense n × m matrix, column-major (each column contiguous): Gram–Schmidt and the sparse
 * product both walk whole columns.
 */
export interface Dense {
  n: number;
  m: number;
  data: Float64Array;
}

export function dense(n: number, m: number): Dense {
  return { n, m, data: new Float64Array(n * m) };
}

export const column = (d: Dense, j: number): Float64Array => d.data.subarray(j * d.n, (j + 1) * d.n);

/** A · X for sparse A (n × n) and dense X (n × m). */
export function spmm(a: Csr, x: Dense): Dense {
  const y = dense(a.n, x.m);
  for (let j = 0; j < x.m; j++) {
    const xc = column(x, j);
    const yc = column(y, j);
    for (let i = 0; i < a.n; i++) {
      let s = 0;
      for (let p = a.rowPtr[i]!; p < a.rowPtr[i + 1]!; p++) s += a.vals[p]! * xc[a.cols[p]!]!;
      yc[i] = s;
    }
  }
  return y;
}

/**
 * Orthonormalises the columns in place (modified Gram–Schmidt, twice for stability). A column
 * that vanishes (rank deficiency) is left as zeros.
 */
export function orthonormalize(q: Dense): Dense {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < q.m; j++) {
      const qj = column(q, j);
      for (let k = 0; k < j; k++) {
        const qk = column(q, k);
        let dot = 0;
        for (let i = 0; i < q.n; i++) dot += qk[i]! * qj[i]!;
        for (let i = 0; i < q.n; i++) qj[i]! -= dot * qk[i]!;
      }
      let norm = 0;
      for (let i = 0; i < q.n; i++) norm += qj[i]! * qj[i]!;
      norm = Math.sqrt(norm);
      if (norm > 1e-10) for (let i = 0; i < q.n; i++) qj[i]! /= norm;
      else qj.fill(0);
    }
  }
  return q;
}

/** Aᵀ · B for two n × m / n × p dense matrices: an m × p matrix, row-major. */
export function gram(a: Dense, b: Dense): Float64Array {
  const out = new Float64Array(a.m * b.m);
  for (let r = 0; r < a.m; r++) {
    const ar = column(a, r);
    for (let c = 0; c < b.m; c++) {
      const bc = column(b, c);
      let s = 0;
      for (let i = 0; i < a.n; i++) s += ar[i]! * bc[i]!;
      out[r * b.m + c] = s;
    }
  }
  return out;
}

/**
 * Eigen-decomposition of a small symmetric matrix (m × m, row-major) by cyclic Jacobi
 * rotations. Returns eigenvalues and eigenvectors (columns of `vectors`, row-major m × m),
 * unsorted.
 */
export function jacobiEigen(
  matrix: Float64Array,
  m: number,
  sweeps = 60,
): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += a[p * m + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * m + q]! - a[p * m + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < m; k++) {
          const akp = a[k * m + p]!;
          const akq = a[k * m + q]!;
          a[k * m + p] = c * akp - s * akq;
          a[k * m + q] = s * akp + c * akq;
        }
        for (let k = 0; k < m; k++) {
          const apk = a[p * m + k]!;
          const aqk = a[q * m + k]!;
          a[p * m + k] = c * apk - s * aqk;
          a[q * m + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < m; k++) {
          const vkp = v[k * m + p]!;
          const vkq = v[k * m + q]!;
          v[k * m + p] = c * vkp - s * vkq;
          v[k * m + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(m);
  for (let i = 0; i < m; i++) values[i] = a[i * m + i]!;
  return { values, vectors: v };
}
