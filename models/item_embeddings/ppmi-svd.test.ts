import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../core/rng.ts';
import { csrFromRows, jacobiEigen } from './sparse.ts';
import { ppmiMatrix, randomizedEigen, trainItemEmbeddings } from './ppmi-svd.ts';

describe('item embeddings from co-occurrence', () => {
  it('Jacobi diagonalises a symmetric matrix (A·v = λ·v)', () => {
    const m = 4;
    const a = Float64Array.from([4, 1, 2, 0, 1, 3, 0, 1, 2, 0, 5, 1, 0, 1, 1, 2]);
    const { values, vectors } = jacobiEigen(a, m);
    for (let e = 0; e < m; e++) {
      for (let i = 0; i < m; i++) {
        let av = 0;
        for (let j = 0; j < m; j++) av += a[i * m + j]! * vectors[j * m + e]!;
        expect(av).toBeCloseTo(values[e]! * vectors[i * m + e]!, 9);
      }
    }
  });

  it('randomized eigendecomposition finds the dominant eigenvalues of a sparse matrix', () => {
    // Block-diagonal all-w blocks of size 3 (w = 2 and 1): eigenvalues 6, 3 and four zeros.
    const rows = [0, 1, 2, 3, 4, 5].map((i) => {
      const block = i < 3 ? [0, 1, 2] : [3, 4, 5];
      const w = i < 3 ? 2 : 1;
      return new Map(block.map((j) => [j, w] as const));
    });
    const { values } = randomizedEigen(csrFromRows(rows), 2, 1, 3, 1);
    expect(values[0]).toBeCloseTo(6, 6);
    expect(values[1]).toBeCloseTo(3, 6);
  });

  it('PPMI keeps only pairs that co-occur more than chance', () => {
    const { ids, matrix } = ppmiMatrix(
      [
        ['a', 'b'],
        ['a', 'b'],
        ['c', 'd'],
        ['a', 'c'],
      ],
      1,
      1,
    );
    expect(ids).toEqual(['a', 'b', 'c', 'd']);
    expect(matrix.vals.every((v) => v > 0)).toBe(true);
  });

  it('puts items of the same cluster closer together than items of different clusters', () => {
    const rng = mulberry32(5);
    const clusters = [0, 1, 2].map((c) => Array.from({ length: 12 }, (_, i) => `c${c}i${i}`));
    const sequences = Array.from({ length: 300 }, (_, u) => {
      const cluster = clusters[u % 3]!;
      return Array.from({ length: 6 }, () => cluster[Math.floor(rng() * cluster.length)]!);
    });
    const { vectors, dim } = trainItemEmbeddings(sequences, { dim: 8, seed: 1 });
    expect(dim).toBe(8);
    const cos = (a: string, b: string) => vectors.get(a)!.reduce((s, x, i) => s + x * vectors.get(b)![i]!, 0);
    let within = 0;
    let across = 0;
    for (let i = 0; i < 11; i++) {
      within += cos(`c0i${i}`, `c0i${i + 1}`);
      across += cos(`c0i${i}`, `c1i${i}`);
    }
    expect(within / 11).toBeGreaterThan(across / 11 + 0.5);
  });
});
