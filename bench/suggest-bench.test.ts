import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTextEmbedder, parseEmbedderSpec } from '../core/embedding/load.ts';
import { tempDir } from '../test/helpers/catalog.ts';
import { runSuggestBench } from './suggest-bench.ts';

describe('suggest benchmark', () => {
  it('writes bench-suggest.json with HTTP (the service in its own process) and in-process latency, the index build, a catalog change and popular queries', async () => {
    const out = tempDir();
    const res = await runSuggestBench({
      products: 400,
      outDir: out,
      // The service process loads the embedder by its spec: the shipped one, small and fast.
      embedder: await loadTextEmbedder(parseEmbedderSpec('default')),
      embedderSpec: 'default',
      refreshMs: 200,
      requests: 200,
      quiet: true,
    });
    const file = JSON.parse(fs.readFileSync(path.join(out, 'bench-suggest.json'), 'utf8'));
    expect(file).toEqual(res);
    expect(file.requests).toBe(200);
    for (const key of ['http', 'http_concurrent', 'in_process'])
      expect(file[key].p99_ms).toBeGreaterThanOrEqual(file[key].p50_ms);
    expect(file.http.n).toBe(200);
    // The figures came from a service process: it reported its own heap.
    expect(file.service_heap_mb).toBeGreaterThan(10);
    expect(file.catalog_index.keys).toBeGreaterThan(400);
    expect(file.popular_queries).toBeGreaterThan(50);
    // Prefixes of real queries: nearly all complete to something.
    expect(file.empty_share).toBeLessThan(0.2);
    // A 100-product change is followed by its products, not a rebuild, and shows; so is its undoing.
    expect(file.catalog_change.applied).toMatchObject({ mode: 'incremental', changed: 100 });
    expect(file.catalog_change.undone).toMatchObject({ mode: 'incremental', changed: 100 });
    expect(file.catalog_change.reflected).toBe(true);
  });
});
