import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyChangeFile, indexCatalog } from '../../indexer/index-catalog.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { openSearcher } from './searcher.ts';

describe('searcher', () => {
  it('switches to a newly committed generation on refresh, keeping in-flight results valid', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const embedder = new HashEmbedder();
    await indexCatalog({ catalogPath: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS), dataDir, embedder });
    const s = await openSearcher({ dataDir, embedder });
    const gen1 = s.generation;
    expect(await s.refresh()).toBe(false);

    await applyChangeFile({
      changesPath: writeJsonl(path.join(dir, 'ch.jsonl'), [
        { op: 'upsert', product: { id: 'p9', title: 'Kindle Paperwhite e-reader' } },
      ]),
      dataDir,
      embedder,
    });
    // Not visible until the searcher switches.
    expect((await s.search({ q: 'kindle', size: 5, routes: ['bm25'] })).items).toEqual([]);
    expect(await s.refresh()).toBe(true);
    expect(s.generation).not.toBe(gen1);
    expect((await s.search({ q: 'kindle', size: 5, routes: ['bm25'] })).items.map((i) => i.id)).toEqual(['p9']);
    await s.close();
  });

  it('restricts to the requested routes', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const embedder = new HashEmbedder();
    await indexCatalog({ catalogPath: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS), dataDir, embedder });
    const s = await openSearcher({ dataDir, embedder });
    const bm25 = await s.search({ q: 'skillet', size: 10, routes: ['bm25'], debug: true });
    expect(bm25.items.map((i) => i.id)).toEqual(['p3']);
    expect(bm25.items[0]!.debug!.vector_rank).toBeUndefined();
    const vec = await s.search({ q: 'skillet', size: 10, routes: ['vector'], debug: true });
    expect(vec.items.length).toBe(SAMPLE_PRODUCTS.length);
    expect(vec.items[0]!.debug!.bm25_rank).toBeUndefined();
    await s.close();
  });
});
