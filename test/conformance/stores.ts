import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseProduct, type Product } from '../../core/catalog/product.ts';
import { contentHash } from '../../indexer/hash.ts';
import type { StoredProduct, TextStore, VectorStore } from '../../retrieval/index/stores.ts';
import { HashEmbedder } from '../helpers/embedders.ts';
import { SAMPLE_PRODUCTS } from '../helpers/catalog.ts';

/**
 * One behaviour suite for every implementation of the store interfaces: the embedded engines
 * run it in the unit tests, the production engines in the integration suite against real
 * servers. A back end is only done when it passes the same assertions.
 */
export interface StoreHarness<S> {
  /** A fresh, empty store. */
  open(): Promise<S>;
  /** Simulates a restart: persist, drop every in-memory handle, open again on the same data. */
  reopen(store: S): Promise<S>;
  cleanup(): Promise<void>;
}

export const products: Product[] = SAMPLE_PRODUCTS.map((raw) => {
  const r = parseProduct(raw);
  if (!r.ok) throw new Error(r.reason);
  return r.product;
});
const stored = (ps: Product[]): StoredProduct[] => ps.map((product) => ({ product, hash: contentHash(product) }));
const ids = (hits: Array<{ id: string }>) => hits.map((h) => h.id);

export function textStoreConformance(name: string, harness: () => StoreHarness<TextStore>) {
  describe(`TextStore conformance: ${name}`, () => {
    let h: StoreHarness<TextStore>;
    let store: TextStore;
    beforeEach(async () => {
      h = harness();
      store = await h.open();
      await store.upsert(stored(products));
    });
    afterEach(async () => {
      await store.close();
      await h.cleanup();
    });

    it('finds products by English and Chinese words, best match first', async () => {
      expect(ids(await store.search('cast iron skillet', 5))[0]).toBe('p3');
      expect(ids(await store.search('跑步鞋', 5))[0]).toBe('p5');
      expect(await store.search('zzzqqq', 5)).toEqual([]);
    });

    it('returns a stable order for a fixed query', async () => {
      const a = await store.search('running', 10);
      const b = await store.search('running', 10);
      expect(ids(a)).toEqual(ids(b));
      expect(new Set(ids(a))).toEqual(new Set(['p1', 'p2', 'p4']));
      for (let i = 1; i < a.length; i++) expect(a[i - 1]!.score).toBeGreaterThanOrEqual(a[i]!.score);
    });

    it('applies filters inside the search', async () => {
      expect(ids(await store.search('running', 10, { brand: 'NIKE' })).sort()).toEqual(['p1', 'p4']);
      expect(ids(await store.search('running', 10, { category: 'Sports' })).sort()).toEqual(['p1', 'p2']);
      expect(ids(await store.search('running', 10, { category: 'sports/footwear/running shoes/' })).sort()).toEqual([
        'p1',
        'p2',
      ]);
      expect(ids(await store.search('running', 10, { category: 'Sport' }))).toEqual([]);
      expect(ids(await store.search('running', 10, { price_min: 100, price_max: 150 }))).toEqual(['p1']);
      expect(ids(await store.search('running', 10, { in_stock: false }))).toEqual(['p4']);
      expect(ids(await store.search('wireless', 10, { brand: 'Sony', price_max: 100 }))).toEqual([]);
    });

    it('browses without a query: by id, filters applied, at most k', async () => {
      expect(ids(await store.browse(3))).toEqual(['p1', 'p2', 'p3']);
      expect(ids(await store.browse(20, { in_stock: true }))).toEqual(['p1', 'p2', 'p3', 'p5', 'p6', 'p7', 'p8']);
      expect(ids(await store.browse(10, { category: 'Electronics' }))).toEqual(['p7', 'p8']);
      expect(ids(await store.browse(10, { brand: 'NIKE', in_stock: true }))).toEqual(['p1']);
      expect(ids(await store.browse(10, { price_min: 200, price_max: 300 }))).toEqual(['p7']);
      expect(await store.browse(0)).toEqual([]);
      for (const hit of await store.browse(2)) expect(hit.score).toBe(0);
    });

    it('upsert replaces, delete removes, re-upsert restores', async () => {
      const p3 = { ...products[2]!, title: 'Lodge Cast Iron Grill Pan' };
      await store.upsert(stored([p3]));
      expect(await store.count()).toBe(products.length);
      expect(ids(await store.search('grill pan', 5))[0]).toBe('p3');
      await store.delete(['p3', 'missing-id']);
      expect(await store.count()).toBe(products.length - 1);
      expect(ids(await store.search('grill', 5))).toEqual([]);
      expect((await store.get(['p3'])).size).toBe(0);
      await store.upsert(stored([p3]));
      expect(ids(await store.search('grill', 5))).toEqual(['p3']);
    });

    it('is idempotent: the same upsert twice changes nothing', async () => {
      const before = await store.search('running', 10);
      await store.upsert(stored(products));
      expect(await store.count()).toBe(products.length);
      expect(await store.search('running', 10)).toEqual(before);
      expect((await store.hashes()).get('p1')).toBe(contentHash(products[0]!));
    });

    it('keeps everything across a restart', async () => {
      const before = await store.search('running', 10);
      store = await h.reopen(store);
      expect(await store.count()).toBe(products.length);
      expect(await store.search('running', 10)).toEqual(before);
      expect((await store.get(['p5'])).get('p5')).toEqual(products[4]);
    });
  });
}

export function vectorStoreConformance(name: string, harness: () => StoreHarness<VectorStore>) {
  describe(`VectorStore conformance: ${name}`, () => {
    const embedder = new HashEmbedder(64);
    let h: StoreHarness<VectorStore>;
    let store: VectorStore;
    const points = async (ps: Product[]) => {
      const vecs = await embedder.embedTexts(
        ps.map((p) => p.title),
        'document',
      );
      return stored(ps).map((s, i) => ({ ...s, vector: vecs[i]! }));
    };
    const q = async (text: string) => (await embedder.embedTexts([text], 'query'))[0]!;

    beforeEach(async () => {
      h = harness();
      store = await h.open();
      await store.upsert(await points(products));
    });
    afterEach(async () => {
      await store.close();
      await h.cleanup();
    });

    it('returns nearest neighbours by cosine, best first, stable', async () => {
      const hits = await store.search(await q('Lodge Cast Iron Skillet 10 inch'), 3);
      expect(hits[0]!.id).toBe('p3');
      expect(hits[0]!.score).toBeCloseTo(1, 5);
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
      expect(ids(await store.search(await q('Lodge Cast Iron Skillet 10 inch'), 3))).toEqual(ids(hits));
    });

    it('applies filters inside the search and still fills k when enough match', async () => {
      const v = await q('running shoes');
      expect(ids(await store.search(v, 10, { brand: 'nike' })).sort()).toEqual(['p1', 'p4']);
      expect(ids(await store.search(v, 10, { category: 'Electronics/Audio' })).sort()).toEqual(['p7', 'p8']);
      expect(ids(await store.search(v, 10, { in_stock: false }))).toEqual(['p4']);
      expect(ids(await store.search(v, 10, { price_min: 300 })).sort()).toEqual(['p5', 'p8']);
      expect(await store.search(v, 10, { brand: 'nobody' })).toEqual([]);
      expect((await store.search(v, 5, { in_stock: true })).length).toBe(5);
    });

    it('reads stored vectors back by product id (what the feed builds user vectors from)', async () => {
      expect(store.vectorsOf, `${name} must implement vectorsOf`).toBeDefined();
      const want = (await embedder.embedTexts([products[2]!.title], 'document'))[0]!;
      const got = await store.vectorsOf!([products[2]!.id, 'missing-id']);
      expect([...got.keys()]).toEqual([products[2]!.id]);
      const v = got.get(products[2]!.id)!;
      for (let i = 0; i < want.length; i++) expect(v[i]!).toBeCloseTo(want[i]!, 5);
      await store.delete([products[2]!.id]);
      expect((await store.vectorsOf!([products[2]!.id])).size).toBe(0);
    });

    it('upsert replaces a vector, delete removes, re-upsert restores', async () => {
      const moved = { ...products[0]!, title: 'Cast iron skillet lookalike' };
      await store.upsert(await points([moved]));
      expect(await store.count()).toBe(products.length);
      const top2 = ids(await store.search(await q('Cast iron skillet lookalike'), 2));
      expect(top2[0]).toBe('p1');
      await store.delete(['p1']);
      expect(ids(await store.search(await q('Cast iron skillet lookalike'), 10))).not.toContain('p1');
      expect(await store.count()).toBe(products.length - 1);
      await store.upsert(await points([moved]));
      expect(ids(await store.search(await q('Cast iron skillet lookalike'), 1))).toEqual(['p1']);
    });

    it('rejects vectors of the wrong dimension', async () => {
      const bad = { ...stored([products[0]!])[0]!, vector: new Float32Array(store.dim + 1) };
      await expect(store.upsert([bad])).rejects.toThrow(/dimension/);
    });

    it('keeps everything across a restart', async () => {
      const v = await q('wireless headphones');
      const before = await store.search(v, 5);
      store = await h.reopen(store);
      expect(await store.count()).toBe(products.length);
      expect(ids(await store.search(v, 5))).toEqual(ids(before));
      expect((await store.hashes()).get('p8')).toBe(contentHash(products[7]!));
    });
  });
}
