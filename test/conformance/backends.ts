import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyChangeFile, indexCatalog } from '../../indexer/index-catalog.ts';
import { inspect, verifyIndex } from '../../indexer/verify.ts';
import type { IndexBackend } from '../../retrieval/index/index-backend.ts';
import { openSearcher } from '../../retrieval/recall/searcher.ts';
import { ROOT } from '../../src/config.ts';
import { injectDrift } from '../helpers/backends.ts';
import { tempDir, writeJsonl } from '../helpers/catalog.ts';
import { FakeImageEmbedder, HashEmbedder } from '../helpers/embedders.ts';
import { TextModels } from '../../core/embedding/text-models.ts';

/**
 * One behaviour suite for every IndexBackend: the embedded folder in the unit tests,
 * Elasticsearch + Qdrant in the integration suite. It drives the real indexer and searcher
 * over the bundled demo catalog (327 products, English and Chinese).
 */
export interface BackendHarness {
  /** A backend over an empty index. */
  open(): Promise<IndexBackend>;
  /** Simulates a restart: close the backend, open a new one on the same index. */
  reopen(backend: IndexBackend): Promise<IndexBackend>;
  cleanup(): Promise<void>;
}

const CATALOG = path.join(ROOT, 'data/demo/catalog.jsonl');
const CHANGES = path.join(ROOT, 'data/demo/changes.jsonl');

export function backendConformance(name: string, harness: () => BackendHarness) {
  describe(`IndexBackend conformance: ${name}`, () => {
    let h: BackendHarness;
    let backend: IndexBackend;
    let dataDir: string;
    const embedder = new HashEmbedder();

    beforeEach(async () => {
      h = harness();
      backend = await h.open();
      // The embedding cache always lives locally, whatever the backend.
      dataDir = path.join(tempDir(), 'cache');
      const sum = await indexCatalog({ catalogPath: CATALOG, dataDir, backend, embedder, strict: true });
      expect(sum).toMatchObject({ skipped: 0, writeFailures: [] });
      expect(sum.indexed).toBeGreaterThanOrEqual(300);
    });
    afterEach(async () => {
      await backend.close();
      await h.cleanup();
    });

    it('serves the indexed catalog through openSearcher on both routes, with filters', async () => {
      const s = await openSearcher({ backend, embedder });
      try {
        expect(s.generation).toBe(await backend.currentGeneration());
        const res = await s.search({ q: 'airpods', size: 5, debug: true });
        expect(res.degraded).toBeUndefined();
        expect(res.items[0]!.title).toMatch(/AirPods/i);
        expect(res.items[0]!.debug!.bm25_rank).toBe(1);
        expect(res.items.some((i) => i.debug!.vector_rank !== undefined)).toBe(true);
        expect((await s.search({ q: '电动牙刷', size: 5, routes: ['bm25'] })).items[0]!.title).toMatch(/电动牙刷/);
        const nike = (await s.search({ q: 'shoes', size: 10, filters: { brand: 'NIKE', in_stock: true } })).items;
        expect(nike.length).toBeGreaterThan(0);
        expect(nike.every((i) => i.brand?.toLowerCase() === 'nike' && i.in_stock)).toBe(true);
      } finally {
        await s.close();
      }
    });

    it('is idempotent, and applies a change file that a refreshed searcher sees', async () => {
      const again = await indexCatalog({ catalogPath: CATALOG, dataDir, backend, embedder });
      expect(again).toMatchObject({ indexed: 0, deleted: 0, embedded: 0 });
      const s = await openSearcher({ backend, embedder });
      try {
        const ch = await applyChangeFile({ changesPath: CHANGES, dataDir, backend, embedder, strict: true });
        expect(ch).toMatchObject({ skipped: 0, deleted: 2, indexed: 3, writeFailures: [] });
        await s.refresh();
        expect((await s.search({ q: 'Pegasus 41', size: 3, routes: ['bm25'] })).items[0]!.id).toBe('P0328');
        expect((await inspect(backend)).consistent).toBe(true);
      } finally {
        await s.close();
      }
    });

    it('rebuilds fresh on a text model change; a searcher switches encoder and vectors in one step', async () => {
      const other = new HashEmbedder(32);
      // One searcher can load the new model, the other knows only the one it started with.
      const s = await openSearcher({ backend, embedder, models: new TextModels([embedder, other]) });
      const stuck = await openSearcher({ backend, embedder });
      try {
        const before = s.generation;
        const sum = await indexCatalog({ catalogPath: CATALOG, dataDir, backend, embedder: other });
        expect(sum.generation).not.toBe(before);
        expect(await backend.currentGeneration()).toBe(sum.generation);
        // Until it switches, a searcher serves its own generation with that generation's model.
        const old = await s.search({ q: 'airpods', size: 5 });
        expect(old).toMatchObject({ text_model: embedder.id });
        expect(old.degraded).toBeUndefined();
        expect(await s.refresh()).toBe(true);
        expect(s.generation).toBe(sum.generation);
        const res = await s.search({ q: 'airpods', size: 5, debug: true });
        expect(res.degraded).toBeUndefined();
        expect(res.text_model).toBe(other.id);
        expect(res.items[0]!.title).toMatch(/AirPods/i);
        expect(res.items.some((i) => i.debug!.vector_rank !== undefined)).toBe(true);

        // A searcher that cannot load the new model keeps the old generation, whole, and says why.
        expect(await stuck.refresh()).toBe(false);
        expect(stuck.generation).toBe(before);
        expect(stuck.textModels).toMatchObject({
          served: embedder.id,
          refused: { generation: sum.generation, model: other.id, reason: expect.stringMatching(/hash-test:32/) },
        });
        const still = await stuck.search({ q: 'airpods', size: 5 });
        expect(still.degraded).toBeUndefined();
        expect(still.text_model).toBe(embedder.id);
        expect(still.items[0]!.title).toMatch(/AirPods/i);
      } finally {
        await s.close();
        await stuck.close();
      }
    });

    it('writes one vector set per extra text model; a request picks one by model_version', async () => {
      const extra = new HashEmbedder(24, 'hash-extra:24');
      const sum = await indexCatalog({ catalogPath: CATALOG, dataDir, backend, embedder, extraEmbedders: [extra] });
      // A new set of extra models is a fresh build with every product in each set.
      expect(sum).toMatchObject({ writeFailures: [] });
      const snap = (await backend.openSnapshot())!;
      try {
        expect(snap.meta.extraModels).toEqual([{ id: extra.id, dim: 24 }]);
        expect(await snap.extraVectors!.get(extra.id)!.count()).toBe(await snap.text.count());
      } finally {
        await snap.close();
      }
      const s = await openSearcher({ backend, embedder, models: new TextModels([embedder, extra]) });
      try {
        expect(s.textModels.deployed).toEqual([embedder.id, extra.id]);
        const ask = { q: 'wireless earbuds', size: 10, routes: ['vector' as const], debug: true };
        const main = await s.search(ask);
        const other = await s.search({ ...ask, model_version: extra.id });
        expect(main.text_model).toBe(embedder.id);
        expect(other.text_model).toBe(extra.id);
        expect(other.degraded).toBeUndefined();
        expect(other.items.length).toBeGreaterThan(0);
        // Another model's space: other neighbours, or other similarities.
        const hits = (r: typeof main) => r.items.map((i) => `${i.id}:${i.debug!.vector_score!.toFixed(4)}`);
        expect(hits(other)).not.toEqual(hits(main));
        // Each set's neighbours are what that model embeds closest.
        const [q] = await extra.embedTexts(['wireless earbuds'], 'query');
        const direct = await s.withSnapshot((snap) => snap!.extraVectors!.get(extra.id)!.search(q!, 10));
        expect(other.items.map((i) => i.id)).toEqual(direct.map((h) => h.id));
        // An incremental change keeps and updates every set.
        const ch = await applyChangeFile({
          changesPath: CHANGES,
          dataDir,
          backend,
          embedder,
          extraEmbedders: [extra],
          strict: true,
        });
        expect(ch).toMatchObject({ writeFailures: [] });
        await s.refresh();
        const after = await s.search({ q: 'Pegasus 41', size: 10, routes: ['vector'], model_version: extra.id });
        expect(after.text_model).toBe(extra.id);
        expect(after.items.map((i) => i.id)).toContain('P0328');
        // A version the generation does not hold is searched by its own model, not refused.
        const unknown = await s.search({ q: 'airpods', size: 3, routes: ['vector'], model_version: 'nope:1' });
        expect(unknown.text_model).toBe(embedder.id);
        expect(unknown.degraded).toBeUndefined();
      } finally {
        await s.close();
      }
      // --verify checks each extra set too, and repairs it with its model.
      await injectDrift(backend, (w) => w.extraVectors.get(extra.id)!.delete(['P0001']));
      const report = await verifyIndex({ dataDir, backend, embedder, extraEmbedders: [extra] });
      expect(report.before.extra![extra.id]!.missing).toEqual(['P0001']);
      expect(report).toMatchObject({ repaired: 1, failures: [], after: { consistent: true } });
    });

    it('--verify finds vectors missing, extra and stale, and repairs them from the text store', async () => {
      const snap = (await backend.openSnapshot())!;
      const ids = [...(await snap.text.hashes()).keys()].sort().slice(0, 3);
      const [a, b, c] = ids as [string, string, string];
      const pc = (await snap.text.get([c])).get(c)!;
      await snap.close();
      await injectDrift(backend, async (w) => {
        await w.vectors.delete([a, b]);
        const [v] = await embedder.embedTexts(['unrelated words'], 'document');
        await w.vectors.upsert([
          { product: { id: 'ghost', title: 'Ghost', in_stock: true }, hash: 'h', vector: v! },
          { product: pc, hash: 'stale', vector: v! },
        ]);
      });
      const report = await verifyIndex({ dataDir, backend, embedder });
      expect(report.before.vectors).toMatchObject({ missing: [a, b], extra: ['ghost'], mismatched: [c] });
      expect(report).toMatchObject({ repaired: 4, failures: [], after: { consistent: true } });
    });

    it('indexes product images as a third route and keeps them through a text change', async () => {
      const dir = tempDir();
      fs.mkdirSync(path.join(dir, 'img'));
      // The "images" show what the titles do not say: only the image route can find them.
      fs.writeFileSync(path.join(dir, 'img/a.txt'), 'zebra stripes, zebra print');
      fs.writeFileSync(path.join(dir, 'img/b.txt'), 'polka dots with a small zebra logo');
      const rows = [
        { id: 'img-a', title: 'Cotton tee', image: 'img/a.txt', price: 10 },
        { id: 'img-b', title: 'Cotton dress', image: 'img/b.txt', price: 30 },
        { id: 'img-c', title: 'Cotton socks' },
      ];
      const image = new FakeImageEmbedder();
      // A new image model means a fresh build: the demo catalog is carried over into it.
      const sum = await indexCatalog({
        catalogPath: writeJsonl(path.join(dir, 'c.jsonl'), rows),
        dataDir,
        backend,
        embedder,
        imageEmbedder: image,
      });
      expect(sum).toMatchObject({ indexed: 3, imageFailures: [], writeFailures: [] });
      const s = await openSearcher({ backend, embedder, imageEmbedder: image });
      try {
        const zebra = async (filters?: object) =>
          (await s.search({ q: 'zebra', size: 5, routes: ['image'], ...(filters && { filters }) })).items.map(
            (i) => i.id,
          );
        expect(await zebra()).toEqual(['img-a', 'img-b']);
        expect(await zebra({ price_min: 20 })).toEqual(['img-b']);

        const changed = [{ op: 'upsert', product: { ...rows[0], title: 'Organic cotton tee' } }];
        const ch = await applyChangeFile({
          changesPath: writeJsonl(path.join(dir, 'ch.jsonl'), changed),
          dataDir,
          backend,
          embedder,
          imageEmbedder: image,
        });
        expect(ch).toMatchObject({ indexed: 1, writeFailures: [] });
        await s.refresh();
        expect(await zebra()).toEqual(['img-a', 'img-b']);
        const report = await inspect(backend);
        expect(report.consistent).toBe(true);
        expect(report.images?.count).toBe(2);
      } finally {
        await s.close();
      }
    });

    it("--verify repairs a stale text vector without losing the product's image vector", async () => {
      const dir = tempDir();
      fs.mkdirSync(path.join(dir, 'img'));
      fs.writeFileSync(path.join(dir, 'img/a.txt'), 'zebra stripes, zebra print');
      fs.writeFileSync(path.join(dir, 'img/b.txt'), 'polka dots with a small zebra logo');
      const rows = [
        { id: 'img-a', title: 'Cotton tee', image: 'img/a.txt' },
        { id: 'img-b', title: 'Cotton dress', image: 'img/b.txt' },
      ];
      const image = new FakeImageEmbedder();
      const catalogPath = writeJsonl(path.join(dir, 'c.jsonl'), rows);
      const sum = await indexCatalog({ catalogPath, dataDir, backend, embedder, imageEmbedder: image });
      expect(sum).toMatchObject({ indexed: 2, imageFailures: [], writeFailures: [] });

      // Drift in the text vectors only: img-a's text vector is stale.
      const snap = (await backend.openSnapshot())!;
      const pa = (await snap.text.get(['img-a'])).get('img-a')!;
      await snap.close();
      const w = await backend.beginWrite({
        embedderId: embedder.id,
        dim: embedder.dim,
        fresh: false,
        image: { embedderId: image.id, dim: image.dim },
      });
      const [v] = await embedder.embedTexts(['unrelated words'], 'document');
      await w.vectors.upsert([{ product: pa, hash: 'stale', vector: v! }]);
      await w.commit();

      const report = await verifyIndex({ dataDir, backend, embedder, imageEmbedder: image, imageBase: dir });
      expect(report.before.vectors.mismatched).toEqual(['img-a']);
      expect(report).toMatchObject({ failures: [], after: { consistent: true } });
      expect(report.after.images?.count).toBe(2);
      const s = await openSearcher({ backend, embedder, imageEmbedder: image });
      try {
        const zebra = await s.search({ q: 'zebra', size: 5, routes: ['image'] });
        expect(zebra.items.map((i) => i.id)).toEqual(['img-a', 'img-b']);
      } finally {
        await s.close();
      }
    });

    it('keeps serving the same results across a restart', async () => {
      const q = { q: 'wireless headphones', size: 10 };
      const s = await openSearcher({ backend, embedder });
      const before = (await s.search(q)).items.map((i) => i.id);
      const generation = s.generation;
      await s.close();
      backend = await h.reopen(backend);
      const s2 = await openSearcher({ backend, embedder });
      expect(s2.generation).toBe(generation);
      expect((await s2.search(q)).items.map((i) => i.id)).toEqual(before);
      await s2.close();
    });
  });
}
