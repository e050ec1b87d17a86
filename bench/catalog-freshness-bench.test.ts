import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, ROOT } from '../src/config.ts';
import { tempDir } from '../test/helpers/catalog.ts';
import { HashEmbedder } from '../test/helpers/embedders.ts';
import { runCatalogFreshnessBench } from './catalog-freshness-bench.ts';

describe('catalog freshness benchmark', () => {
  it('times update → search over HTTP and writes bench-catalog-freshness.json', async () => {
    const out = tempDir('shelf-catfresh-bench-');
    const res = await runCatalogFreshnessBench({
      config: loadConfig({ SHELF_CATALOG: '', SHELF_RANK: 'off' }),
      embedder: new HashEmbedder(),
      catalog: path.join(ROOT, 'data/demo/catalog.jsonl'),
      outDir: out,
      updates: 4,
      backend: 'embedded',
    });
    const file = JSON.parse(readFileSync(path.join(out, 'bench-catalog-freshness.json'), 'utf8')) as unknown;
    expect(file).toEqual(res);
    expect(res).toMatchObject({ backend: 'embedded', index: 'embedded', updates: 4, products_updated: 4 });
    expect(res.p99_ms).toBeGreaterThanOrEqual(res.p50_ms);
    // The endpoint answers once the service serves the new generation: the first search shows it.
    expect(res.p50_ms - res.endpoint_p50_ms).toBeLessThan(1000);
    expect(res.load_average).toHaveLength(3);
    // Where the time went: the endpoint's indexer run by phase, then the searches until it shows.
    const parts = res.breakdown_ms;
    expect(Object.keys(parts)).toEqual([
      'endpoint',
      'lock',
      'read',
      'embed',
      'write',
      'commit',
      'serve',
      'visible_after_endpoint',
    ]);
    // Each phase is inside the endpoint's time, update by update, so its percentiles are too.
    for (const k of ['lock', 'read', 'embed', 'write', 'commit', 'serve'])
      expect(parts[k]!.p50).toBeLessThanOrEqual(parts.endpoint!.p50);
    expect(parts.visible_after_endpoint!.p50).toBeLessThan(1000);
  });
});
