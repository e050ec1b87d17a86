import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ANALYZER_VERSION, LEGACY_ANALYZER } from '../core/text/analyze.ts';
import { EmbeddedSnapshot, GenerationWriter, currentGeneration } from '../retrieval/index/embedded/generation.ts';
import { HashEmbedder } from '../test/helpers/embedders.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../test/helpers/catalog.ts';
import { indexCatalog } from './index-catalog.ts';

/** An embedded index tokenized by another analyzer (before Chinese word segmentation) is rebuilt, never mixed. */
describe('analyzer change', () => {
  it('rebuilds an index tokenized by the old analyzer on the next run, without re-embedding', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const catalog = writeJsonl(path.join(dir, 'catalog.jsonl'), SAMPLE_PRODUCTS);
    const emb = new HashEmbedder();
    const first = await indexCatalog({ catalogPath: catalog, dataDir, embedder: emb });
    expect(EmbeddedSnapshot.open(dataDir, { vectors: false })!.meta.analyzer).toBe(ANALYZER_VERSION);

    // What an index from before this build looks like: no analyzer recorded.
    const db = new Database(path.join(dataDir, first.generation!, 'index.sqlite'));
    db.prepare("DELETE FROM meta WHERE key = 'analyzer'").run();
    db.close();
    const legacy = EmbeddedSnapshot.open(dataDir, { vectors: false })!;
    expect(legacy.meta.analyzer).toBe(LEGACY_ANALYZER);
    await legacy.close();
    // A writer never copies it into a new generation.
    expect(() => GenerationWriter.begin(dataDir, { embedderId: emb.id, dim: emb.dim })).toThrow(
      /tokenized by analyzer cjk-bigram-v0.*rebuild/,
    );

    const texts = emb.texts;
    const second = await indexCatalog({ catalogPath: catalog, dataDir, embedder: emb });
    expect(second.generation).not.toBe(first.generation);
    expect(second).toMatchObject({ indexed: 8, unchanged: 0 });
    // Vectors came from the embedding cache.
    expect(emb.texts).toBe(texts);
    const snap = EmbeddedSnapshot.open(dataDir, { vectors: false })!;
    try {
      expect(currentGeneration(dataDir)).toBe(second.generation);
      expect(snap.meta.analyzer).toBe(ANALYZER_VERSION);
      expect((await snap.text.search('跑步鞋', 5)).map((h) => h.id)).toEqual(['p5']);
    } finally {
      await snap.close();
    }
  });
});
