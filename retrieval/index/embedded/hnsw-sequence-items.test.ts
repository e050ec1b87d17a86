import { sequenceItemIndexConformance } from '../../../test/conformance/sequence-items.ts';
import { hnswSequenceIndexes, HnswSequenceItems } from './hnsw-sequence-items.ts';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../core/rng.ts';

sequenceItemIndexConformance('hnswlib (embedded; small tables scanned exactly)', () => ({
  indexes: () => hnswSequenceIndexes(),
  persistent: false,
  cleanup: async () => {},
}));

// The same suite on the graph alone: a shop whose table is over the threshold is served by it.
sequenceItemIndexConformance('hnswlib (embedded; HNSW graph, no full scan)', () => ({
  indexes: () => hnswSequenceIndexes({ fullScanThresholdKb: 0 }),
  persistent: false,
  cleanup: async () => {},
}));

describe('HnswSequenceItems', () => {
  /** A table whose graph, at a narrow search, misses some of the true top k (norms spread, as trained tables). */
  const table = (n: number, dim: number) => {
    const rng = mulberry32(11);
    return Array.from({ length: n }, () =>
      Float32Array.from({ length: dim }, () => (rng() - 0.5) * Math.exp(2 * (rng() - 0.5))),
    );
  };
  /** Upserts `rows` as products p{offset}, p{offset+1}, … */
  const fill = (index: HnswSequenceItems, rows: Float32Array[], offset = 0) =>
    index.upsert(
      rows.map((_, i) => `p${i + offset}`),
      rows,
    );
  const exactTop = (rows: Float32Array[], q: Float32Array, k: number) =>
    rows
      .map((x, i) => ({ id: `p${i}`, s: x.reduce((a, b, j) => a + b * q[j]!, 0) }))
      .sort((a, b) => b.s - a.s)
      .slice(0, k)
      .map((h) => h.id);

  it('under the full-scan threshold returns exactly the largest inner products, in order', async () => {
    const rows = table(3000, 8);
    // 3,000 × 8 × 4 bytes = 94 KiB: scanned under a 100 KiB threshold, even with a search breadth of 10.
    const index = new HnswSequenceItems(8, 3000, 10, { efSearch: 10, fullScanThresholdKb: 100 });
    await fill(index, rows);
    const rng = mulberry32(3);
    for (let q = 0; q < 5; q++) {
      const query = Float32Array.from({ length: 8 }, () => rng() - 0.5);
      const hits = await index.search(query, 500);
      expect(hits.map((h) => h.id)).toEqual(exactTop(rows, query, 500));
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
    }
    // Skipped ids are left out and the list is still k long.
    const query = Float32Array.from({ length: 8 }, () => 1);
    const [first, second] = exactTop(rows, query, 2);
    expect((await index.search(query, 3, new Set([first!]))).map((h) => h.id)).toEqual(
      exactTop(rows, query, 4).slice(1, 4),
    );
    expect((await index.search(query, 3, new Set([first!])))[0]!.id).toBe(second);
  });

  it('moves from the scan to the graph when new products take the table over the threshold', async () => {
    const rows = table(100, 8);
    // 1 KiB = 32 items of 8 float32s.
    const index = new HnswSequenceItems(8, 20, 10, { fullScanThresholdKb: 1 });
    await fill(index, rows.slice(0, 30));
    expect(index.exact).toBe(true);
    const query = Float32Array.from({ length: 8 }, (_, j) => (j % 2 ? 1 : -1));
    expect((await index.search(query, 5)).map((h) => h.id)).toEqual(exactTop(rows.slice(0, 30), query, 5));
    await fill(index, rows.slice(30), 30);
    expect(index.exact).toBe(false);
    expect(await index.count()).toBe(100);
    // The graph holds every item, the ones from before the switch too; at this size it finds the exact top 5.
    expect((await index.search(query, 5)).map((h) => h.id)).toEqual(exactTop(rows, query, 5));
    expect(new Set((await index.search(query, 100)).map((h) => h.id)).size).toBe(100);
  });

  it('over the threshold searches the graph, which can miss true neighbours at a narrow breadth', async () => {
    const rows = table(3000, 8);
    const graph = new HnswSequenceItems(8, 3000, 10, { efSearch: 10, fullScanThresholdKb: 0 });
    await fill(graph, rows);
    const rng = mulberry32(3);
    let same = 0;
    for (let q = 0; q < 5; q++) {
      const query = Float32Array.from({ length: 8 }, () => rng() - 0.5);
      const got = (await graph.search(query, 500)).map((h) => h.id);
      if (JSON.stringify(got) === JSON.stringify(exactTop(rows, query, 500))) same++;
    }
    // Not a property to keep, a witness that the test above can tell the two paths apart.
    expect(same).toBeLessThan(5);
  });

  it('grows past its initial capacity (new products arrive after the table)', async () => {
    const index = new HnswSequenceItems(2, 1, 1.5);
    const n = 100;
    await fill(
      index,
      Array.from({ length: n }, (_, i) => Float32Array.from([Math.cos(i / 10), Math.sin(i / 10)])),
    );
    expect(await index.count()).toBe(n);
    expect((await index.search(Float32Array.from([Math.cos(5), Math.sin(5)]), 1))[0]!.id).toBe('p50');
  });
});
