import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../core/rng.ts';
import { normBound } from '../../retrieval/index/inner-product.ts';
import type { SequenceItemIndex, SequenceItemIndexes } from '../../retrieval/index/sequence-items.ts';

/**
 * One behaviour suite for the sequence model's item index (retrieval/index/sequence-items.ts):
 * hnswlib embedded in the unit tests, Qdrant (its named vector `sequence`) against the OpenAPI
 * stand-in in the unit tests and a real server in the integration suite.
 */
export interface SequenceIndexHarness {
  indexes(): SequenceItemIndexes;
  /** Whether a version's index outlives its handle (a Qdrant collection does; memory does not). */
  persistent: boolean;
  cleanup(): Promise<void>;
}

const v = (...xs: number[]) => Float32Array.from(xs);
/** The transform's M for the small tables below (every vector in them is shorter). */
const BOUND = 10;
const ids = (hits: Array<{ id: string }>) => hits.map((h) => h.id);

export function sequenceItemIndexConformance(name: string, harness: () => SequenceIndexHarness) {
  describe(`SequenceItemIndex conformance: ${name}`, () => {
    let h: SequenceIndexHarness;
    let index: SequenceItemIndex;
    const version = `seq-${Math.random().toString(36).slice(2, 10)}`;
    beforeEach(async () => {
      h = harness();
      index = await h.indexes().open(version, 4, 8, BOUND);
    });
    afterEach(async () => {
      await index.close();
      await h.cleanup();
    });

    it('ranks by inner product, the model score, not by cosine', async () => {
      // "long" points a little off the query but is 4x longer: the inner product prefers it, a cosine would not.
      await index.upsert(['exact', 'long', 'opposite'], [v(1, 0, 0, 0), v(3.6, 1.7, 0, 0), v(-1, 0, 0, 0)]);
      const hits = await index.search(v(1, 0, 0, 0), 3);
      expect(ids(hits)).toEqual(['long', 'exact', 'opposite']);
      expect(hits[0]!.score).toBeCloseTo(3.6, 4);
      expect(hits[1]!.score).toBeCloseTo(1, 4);
      expect(hits[2]!.score).toBeCloseTo(-1, 4);
      expect(await index.count()).toBe(3);
    });

    it("reaches every item and finds the largest inner products when norms vary, as a trained table's do", async () => {
      // A trained table's shape: items in clusters (genres, categories), norms spread over a factor
      // of ~5 (popular items learn long vectors), shoppers near the sum of items they had. An
      // index that cannot return an item can never recommend it: hnswlib's "ip" graph reached
      // about 95% of these (55% of the Amazon Video model's items, docs/BENCHMARKS.md).
      const n = 2000;
      const dim = 16;
      const rng = mulberry32(7);
      const gauss = () => Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
      const unit = (x: Float32Array) => x.map((a) => a / Math.hypot(...x));
      const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: dim }, () => gauss()));
      const table = Array.from({ length: n }, () => {
        const centre = centres[Math.floor(rng() * centres.length)]!;
        const norm = Math.exp(gauss() * 0.5);
        return unit(centre.map((a) => a + 0.7 * gauss())).map((a) => a * norm);
      });
      const flat = new Float32Array(n * dim);
      table.forEach((x, i) => flat.set(x, i * dim));
      const wide = await h.indexes().open(`${version}-wide`, dim, n, normBound(flat, dim));
      try {
        await wide.upsert(
          table.map((_, i) => `p${i}`),
          table,
        );
        let found = 0;
        for (let q = 0; q < 10; q++) {
          const [a, b] = [table[Math.floor(rng() * n)]!, table[Math.floor(rng() * n)]!];
          const query = a.map((x, j) => x + b[j]! + 0.3 * gauss());
          const dot = (x: Float32Array) => x.reduce((s, a, j) => s + a * query[j]!, 0);
          const best = table.map((x, i) => ({ id: `p${i}`, s: dot(x) })).sort((a, b) => b.s - a.s);
          const all = await wide.search(query, n);
          expect(new Set(ids(all)).size, 'every item is reachable').toBe(n);
          const top = new Set(ids(await wide.search(query, 10)));
          found += best.slice(0, 10).filter((b) => top.has(b.id)).length;
          expect(all[0]!.score).toBeCloseTo(dot(table[Number(all[0]!.id.slice(1))]!), 3);
        }
        expect(found / 100, 'recall@10 against the exact inner products').toBeGreaterThanOrEqual(0.9);
      } finally {
        await wide.close();
      }
    });

    it('leaves out the ids it is told to skip and still returns k', async () => {
      await index.upsert(['a', 'b', 'c', 'd'], [v(4, 0, 0, 0), v(3, 0, 0, 0), v(2, 0, 0, 0), v(1, 0, 0, 0)]);
      expect(ids(await index.search(v(1, 0, 0, 0), 2, new Set(['a', 'c'])))).toEqual(['b', 'd']);
      expect(ids(await index.search(v(1, 0, 0, 0), 10))).toEqual(['a', 'b', 'c', 'd']);
      expect(await index.search(v(1, 0, 0, 0), 0)).toEqual([]);
    });

    it("replaces an item's vector on a second upsert (a new product's projection, then its learned row)", async () => {
      await index.upsert(['new', 'other'], [v(0, 1, 0, 0), v(0, 0, 1, 0)]);
      await index.upsert(['new'], [v(0, 0, 2, 0)]);
      expect(await index.count()).toBe(2);
      expect(ids(await index.search(v(0, 0, 1, 0), 1))).toEqual(['new']);
      const got = await index.vectorsOf(['new', 'absent']);
      expect([...got.keys()]).toEqual(['new']);
      expect(Array.from(got.get('new')!)).toEqual([0, 0, 2, 0]);
    });

    it('keeps and finds a vector longer than the bound (a new product projected past every learned row)', async () => {
      await index.upsert(['long', 'short'], [v(0, 0, 0, 2 * BOUND), v(0, 0, 0, 1)]);
      const hits = await index.search(v(0, 0, 0, 1), 2);
      expect(new Set(ids(hits))).toEqual(new Set(['long', 'short']));
      expect(Array.from((await index.vectorsOf(['long'])).get('long')!)).toEqual([0, 0, 0, 2 * BOUND]);
    });

    it('refuses a vector of the wrong dimension', async () => {
      await expect(index.upsert(['x'], [v(1, 2, 3)])).rejects.toThrow(/dimension/);
    });

    it('keeps a version apart from another, and a persistent one across handles', async () => {
      await index.upsert(['a'], [v(1, 0, 0, 0)]);
      const other = await h.indexes().open(`${version}-b`, 4, 8, BOUND);
      try {
        expect(await other.count()).toBe(0);
      } finally {
        await other.close();
      }
      const again = await h.indexes().open(version, 4, 8, BOUND);
      try {
        expect(await again.count()).toBe(h.persistent ? 1 : 0);
      } finally {
        await again.close();
      }
    });
  });
}
