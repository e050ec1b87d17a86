import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers/catalog.ts';
import { runRankBench } from './rank-bench.ts';

describe('rank benchmark', () => {
  it('scores 500 candidates with the shipped model and writes bench-rank.json', async () => {
    const out = tempDir('shelf-rank-bench-');
    const res = await runRankBench({ outDir: out, candidates: 500, iterations: 50, quiet: true });
    const file = JSON.parse(readFileSync(path.join(out, 'bench-rank.json'), 'utf8')) as Record<string, unknown>;
    expect(file).toMatchObject({ candidates: 500, p50_ms: res.p50_ms, p99_ms: res.p99_ms });
    expect((file.model as { version: string }).version).toMatch(/^ranker-/);
    // No speed bound here: targets are the benchmark's job (docs/BENCHMARKS.md), not a unit test's.
    expect(res.p50_ms).toBeGreaterThan(0);
    expect(res.p99_ms).toBeGreaterThanOrEqual(res.p50_ms);
  });

  it('measures the feed with ranking off and on, in process, over the demo catalog', async () => {
    const { loadTextEmbedder, parseEmbedderSpec } = await import('../core/embedding/load.ts');
    const embedder = await loadTextEmbedder(parseEmbedderSpec('default'));
    const res = await runRankBench({
      outDir: tempDir('shelf-rank-bench-'),
      iterations: 10,
      feedShoppers: 10,
      embedder,
      quiet: true,
    });
    const feed = res.feed as { ranking_off: { n: number }; ranking_on: { n: number; p50_ms: number } };
    expect(feed.ranking_off.n).toBe(20);
    expect(feed.ranking_on.n).toBe(20);
    expect(feed.ranking_on.p50_ms).toBeGreaterThan(0);
  });
});
