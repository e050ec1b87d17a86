import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSearcher } from '../retrieval/recall/searcher.ts';
import { FakeImageEmbedder, HashEmbedder } from '../test/helpers/embedders.ts';
import { tempDir, writeJsonl } from '../test/helpers/catalog.ts';
import { indexCatalog } from './index-catalog.ts';

describe('image vectors', () => {
  it('indexes product images into their own vector index and searches them as a third route', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'img'));
    // The "images" show things their titles do not say: only the image route can find them.
    fs.writeFileSync(path.join(dir, 'img/a.txt'), 'striped zebra pattern');
    fs.writeFileSync(path.join(dir, 'img/b.txt'), 'polka dots');
    const catalog = writeJsonl(path.join(dir, 'c.jsonl'), [
      { id: 'a', title: 'Cotton tee', image: 'img/a.txt', price: 10 },
      { id: 'b', title: 'Cotton dress', image: 'img/b.txt', price: 30 },
      { id: 'c', title: 'Cotton socks' },
      { id: 'd', title: 'Cotton scarf', image: 'img/missing.txt' },
    ]);
    const dataDir = path.join(dir, 'data');
    const text = new HashEmbedder();
    const image = new FakeImageEmbedder();
    const sum = await indexCatalog({ catalogPath: catalog, dataDir, embedder: text, imageEmbedder: image });
    expect(sum.indexed).toBe(4);
    expect(image.images).toBe(2);
    expect(sum.imageFailures).toEqual([{ id: 'd', reason: expect.stringMatching(/missing\.txt: ENOENT/) }]);

    const s = await openSearcher({ dataDir, embedder: text, imageEmbedder: image });
    const res = await s.search({ q: 'zebra', size: 3, routes: ['image'], debug: true });
    expect(res.items[0]!.id).toBe('a');
    expect(res.items.map((i) => i.id)).not.toContain('c');
    const hybrid = await s.search({ q: 'zebra', size: 4, debug: true });
    expect(hybrid.items[0]!.id).toBe('a');
    expect(hybrid.items[0]!.debug!.image_rank).toBe(1);
    const filtered = await s.search({ q: 'zebra', size: 3, routes: ['image'], filters: { price_min: 20 } });
    expect(filtered.items.map((i) => i.id)).toEqual(['b']);

    // Unchanged rerun embeds no image again; without the image model the image index is dropped.
    const again = await indexCatalog({ catalogPath: catalog, dataDir, embedder: text, imageEmbedder: image });
    expect(again.indexed).toBe(0);
    expect(image.images).toBe(2);
    const textOnly = await indexCatalog({ catalogPath: catalog, dataDir, embedder: text });
    expect(textOnly.indexed).toBe(4);
    await s.refresh();
    const noImage = await s.search({ q: 'zebra', size: 3, debug: true });
    expect(noImage.items.every((i) => i.debug!.image_rank === undefined)).toBe(true);
    await s.close();
  });
});
