import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HashEmbedder } from '../test/helpers/embedders.ts';
import { tempDir } from '../test/helpers/catalog.ts';
import { runSearchBench } from './search-bench.ts';

describe('search benchmark', () => {
  it('writes bench-search.json with latency, throughput, ANN recall and indexing speed', async () => {
    const out = tempDir();
    const res = await runSearchBench({
      products: 400,
      outDir: out,
      embedder: new HashEmbedder(32),
      queries: 60,
      quiet: true,
    });
    const file = JSON.parse(fs.readFileSync(path.join(out, 'bench-search.json'), 'utf8'));
    expect(file).toEqual(res);
    expect(file.products).toBe(400);
    for (const key of ['p50_ms', 'p99_ms', 'qps', 'ann_recall@10']) expect(file[key]).toBeGreaterThan(0);
    expect(file.p99_ms).toBeGreaterThanOrEqual(file.p50_ms);
    // 400 points: the graph search must find almost exactly what the exact scan finds.
    expect(file['ann_recall@10']).toBeGreaterThan(0.9);
    expect(file.index.products_per_s).toBeGreaterThan(0);
    expect(Object.keys(file.in_process)).toEqual(['bm25', 'vector', 'hybrid']);
    // The search page cases, each with its ratio to plain hybrid from the same loop, and the load beside them.
    const page = file.search_page_http;
    expect(Object.keys(page)).toEqual([
      'hybrid',
      'hybrid_facets',
      'hybrid_facets_sort',
      'browse_category_facets_sort',
      'load_average_1m',
    ]);
    expect(page.hybrid.p50_vs_hybrid).toBe(1);
    expect(page.browse_category_facets_sort.n).toBe(60);
    expect(page.browse_category_facets_sort.p99_vs_hybrid).toBeGreaterThan(0);
    expect(page.load_average_1m.before).toBeGreaterThanOrEqual(0);
  });
});
