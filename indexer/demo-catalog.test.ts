import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../src/config.ts';
import { openSearcher } from '../retrieval/recall/searcher.ts';
import { HashEmbedder } from '../test/helpers/embedders.ts';
import { tempDir } from '../test/helpers/catalog.ts';
import { applyChangeFile, indexCatalog } from './index-catalog.ts';

describe('bundled demo catalog', () => {
  it('indexes with no bad rows, answers English and Chinese queries, and takes its change file', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const embedder = new HashEmbedder();
    const sum = await indexCatalog({
      catalogPath: path.join(ROOT, 'data/demo/catalog.jsonl'),
      dataDir,
      embedder,
      strict: true,
    });
    expect(sum.skipped).toBe(0);
    expect(sum.indexed).toBeGreaterThanOrEqual(300);

    const s = await openSearcher({ dataDir, embedder });
    const top = async (q: string, filters?: object) =>
      (await s.search({ q, size: 5, routes: ['bm25'], ...(filters && { filters }) })).items;
    expect((await top('airpods'))[0]!.title).toMatch(/AirPods/i);
    expect((await top('电动牙刷'))[0]!.title).toMatch(/电动牙刷/);
    const nike = await top('shoes', { brand: 'nike' });
    expect(nike.length).toBeGreaterThan(0);
    expect(nike.every((i) => i.brand?.toLowerCase() === 'nike')).toBe(true);

    const ch = await applyChangeFile({
      changesPath: path.join(ROOT, 'data/demo/changes.jsonl'),
      dataDir,
      embedder,
      strict: true,
    });
    expect(ch).toMatchObject({ skipped: 0, deleted: 2 });
    expect(ch.indexed).toBe(3);
    await s.refresh();
    expect((await s.search({ q: 'Pegasus 41', size: 3, routes: ['bm25'] })).items[0]!.id).toBe('P0328');
    await s.close();
  });
});
