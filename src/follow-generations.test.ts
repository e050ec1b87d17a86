import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../test/helpers/catalog.ts';
import { HashEmbedder } from '../test/helpers/embedders.ts';
import { ChangeCollector } from '../indexer/changes.ts';
import { applyChanges, indexCatalog } from '../indexer/index-catalog.ts';
import { openSearcher } from '../retrieval/recall/searcher.ts';
import { followGenerations } from './follow-generations.ts';

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!ok() && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  return ok();
}

describe('followGenerations', () => {
  it("serves another writer's embedded commit at once, long before the next poll", async () => {
    const dir = tempDir('shelf-follow-gen-');
    const dataDir = path.join(dir, 'data');
    const embedder = new HashEmbedder();
    await indexCatalog({ catalogPath: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS), dataDir, embedder });
    const searcher = await openSearcher({ dataDir, embedder });
    const switched: Array<string | undefined> = [];
    // A poll period far beyond the test: only the folder's change event can switch it in time.
    const following = followGenerations({ searcher, refreshMs: 600_000, dataDir, onSwitch: (g) => switched.push(g) });
    try {
      const before = searcher.generation;
      const c = new ChangeCollector();
      c.add(1, { op: 'update', product: { id: 'p1', price: 77 } });
      // What the catalog follower does in its own process: a new generation and its CURRENT.
      const run = await applyChanges({ dataDir, embedder, changes: c.result(), imageBase: dir });
      expect(run.generation).not.toBe(before);
      expect(await until(() => searcher.generation === run.generation, 2000)).toBe(true);
      expect(switched).toEqual([run.generation]);
      const price = await searcher.withSnapshot(async (s) => (await s!.text.get(['p1'])).get('p1')?.price);
      expect(price).toBe(77);
    } finally {
      following.stop();
      await searcher.close();
    }
  });

  it('without a folder to watch, switches at the poll', async () => {
    const dir = tempDir('shelf-follow-gen-poll-');
    const dataDir = path.join(dir, 'data');
    const embedder = new HashEmbedder();
    await indexCatalog({ catalogPath: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS), dataDir, embedder });
    const searcher = await openSearcher({ dataDir, embedder });
    const following = followGenerations({ searcher, refreshMs: 100 });
    try {
      const c = new ChangeCollector();
      c.add(1, { op: 'update', product: { id: 'p2', price: 5 } });
      const run = await applyChanges({ dataDir, embedder, changes: c.result(), imageBase: dir });
      expect(await until(() => searcher.generation === run.generation, 3000)).toBe(true);
    } finally {
      following.stop();
      await searcher.close();
    }
  });
});
