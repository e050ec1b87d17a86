import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, ROOT } from '../src/config.ts';
import { tempDir } from '../test/helpers/catalog.ts';
import { HashEmbedder } from '../test/helpers/embedders.ts';
import { runFreshnessBench } from './freshness-bench.ts';

describe('freshness benchmark', () => {
  it('measures click → feed over HTTP and ingestion, and writes bench-freshness.json', async () => {
    const out = tempDir('shelf-fresh-bench-');
    const config = loadConfig({ SHELF_CATALOG: '', SHELF_RANK: 'off' });
    const res = await runFreshnessBench({
      config,
      embedder: new HashEmbedder(),
      catalog: path.join(ROOT, 'data/demo/catalog.jsonl'),
      outDir: out,
      trials: 5,
      ingestSeconds: 1,
      backend: 'embedded',
    });
    const file = JSON.parse(readFileSync(path.join(out, 'bench-freshness.json'), 'utf8')) as Record<string, unknown>;
    expect(file).toMatchObject({
      backend: 'embedded',
      stream: 'sqlite',
      state: 'sqlite',
      trials: 5,
      p50_ms: res.p50_ms,
      p99_ms: res.p99_ms,
    });
    expect(res.p99_ms).toBeGreaterThanOrEqual(res.p50_ms);
    expect(res.events_per_s).toBeGreaterThan(0);
    expect(res.ingested_events % 1000).toBe(0);
    // Every posted event was accepted and counted once (the clients overlap, so a lost update in
    // the count shows here), and the consumer applied exactly those plus the warm-up and trials.
    expect(res.ingested_events).toBe(res.posted_events);
    expect(res.applied_events).toBe(res.ingested_events + 2000 + 5);
    // The shipped sequence model matches the demo catalog: each click reached the page through its route.
    expect(res.sequence_route).toBe(true);
  });
});
