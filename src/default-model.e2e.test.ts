import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexCatalog } from '../indexer/index-catalog.ts';
import { openSearcher, type Searcher } from '../retrieval/recall/searcher.ts';
import { tempDir } from '../test/helpers/catalog.ts';
import { createApp } from './app.ts';
import { ROOT } from './config.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { loadTextEmbedder } from '../core/embedding/load.ts';

/** What `npm start` does: the shipped default model over the bundled demo catalog, through HTTP. */
describe('default model on the demo catalog', () => {
  let embedder: TextEmbedder;
  let searcher: Searcher;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    embedder = await loadTextEmbedder({ kind: 'default' });
    const dataDir = path.join(tempDir(), 'data');
    const sum = await indexCatalog({ catalogPath: path.join(ROOT, 'data/demo/catalog.jsonl'), dataDir, embedder });
    expect(sum.skipped).toBe(0);
    searcher = await openSearcher({ dataDir, embedder });
    app = createApp({ searcher, embedder });
  });
  afterAll(async () => {
    await searcher.close();
    await embedder.close?.();
  });

  const search = async (qs: string) => {
    const res = await app.request(`/v1/search?${qs}`);
    expect(res.status).toBe(200);
    return res.json() as Promise<{
      items: Array<{ id: string; title: string; category?: string; debug?: Record<string, number> }>;
    }>;
  };

  it('answers English and Chinese queries with both routes contributing', async () => {
    const en = await search('q=running+shoes&size=5&debug=true');
    expect(en.items[0]!.category).toMatch(/Running|跑步/);
    expect(en.items[0]!.debug!.bm25_rank).toBeDefined();
    expect(en.items[0]!.debug!.vector_rank).toBeDefined();
    const zh = await search(`q=${encodeURIComponent('电动牙刷')}&size=3`);
    expect(zh.items[0]!.title).toMatch(/牙刷/);
  });

  it('the vector route finds products from a partial, misspelt title that BM25 misses', async () => {
    const body = await search(`q=${encodeURIComponent('airpod pro')}&size=5&debug=true`);
    expect(body.items.some((i) => /AirPods Pro/i.test(i.title) && i.debug!.vector_rank !== undefined)).toBe(true);
  });

  it('a punctuation-only query answers 200 with no items rather than failing', async () => {
    const body = await search('q=%21%21%21');
    expect(body.items).toEqual([]);
  });
});
