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

/** The sample catalog with attributes and update times on a few products (filters, facets, newest). */
function withAttributes(ps: Product[]): Product[] {
  const extra: Record<string, Partial<Product>> = {
    p1: { attributes: { color: 'Red', size: 'L' }, updated_at: '2026-05-02T00:00:00Z' },
    p2: { attributes: { Color: 'Blue' }, updated_at: '2026-06-01T00:00:00Z' },
    p3: { updated_at: '2026-01-01T00:00:00Z' },
    p4: { attributes: { color: 'Red', size: 'M' } },
  };
  return ps.map((p) => ({ ...p, ...extra[p.id] }));
}

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

    it('takes several values of a field (any of them) and attribute filters', async () => {
      await store.upsert(stored(withAttributes(products)));
      expect(ids(await store.search('running', 10, { brand: ['nike', 'ADIDAS'] })).sort()).toEqual(['p1', 'p2', 'p4']);
      expect(ids(await store.browse(10, { category: ['Electronics/Audio/Earbuds', 'Clothing'] }))).toEqual([
        'p4',
        'p7',
      ]);
      expect(ids(await store.browse(10, { category: ['Sports', 'Clothing'], brand: ['Nike'] }))).toEqual(['p1', 'p4']);
      expect(ids(await store.browse(10, { attributes: { color: ['RED'] } }))).toEqual(['p1', 'p4']);
      expect(ids(await store.browse(10, { attributes: { color: ['red', 'Blue'], size: 'M' } }))).toEqual(['p4']);
      expect(ids(await store.search('running', 10, { attributes: { color: 'blue' } }))).toEqual(['p2']);
    });

    it('explores the match set: total, disjunctive facets, sorted heads', async () => {
      await store.upsert(stored(withAttributes(products)));
      const all = ['category', 'brand', 'price', 'in_stock', 'attributes.color'] as const;
      // A browse of the whole catalog.
      const b = await store.explore({}, { facets: all, maxValues: 20, sort: 'price:asc', k: 3 });
      expect(b.total).toBe(8);
      expect(b.sorted).toEqual([
        { id: 'p3', key: 25 },
        { id: 'p4', key: 30 },
        { id: 'p6', key: 99 },
      ]);
      expect(b.facets.brand?.slice(0, 2)).toEqual([
        { value: 'Nike', count: 2 },
        { value: 'Adidas', count: 1 },
      ]);
      expect(b.facets.in_stock).toEqual([
        { value: true, count: 7 },
        { value: false, count: 1 },
      ]);
      expect(b.facets.category?.filter((c) => c.level === 1)).toEqual(
        [
          { value: 'Electronics', count: 2, level: 1 },
          { value: 'Clothing', count: 1, level: 1 },
          { value: 'Home & Kitchen', count: 1, level: 1 },
          { value: 'Sports', count: 2, level: 1 },
          { value: '美妆个护', count: 1, level: 1 },
          { value: '运动户外', count: 1, level: 1 },
        ].sort((x, y) => y.count - x.count || (x.value < y.value ? -1 : 1)),
      );
      expect(b.facets.category?.find((c) => c.value === 'Electronics/Audio')).toEqual({
        value: 'Electronics/Audio',
        count: 2,
        level: 2,
      });
      expect(b.facets.price).toEqual({
        min: 25,
        max: 399,
        buckets: [
          { from: 0, to: 100, count: 3 },
          { from: 100, to: 200, count: 2 },
          { from: 200, to: 300, count: 1 },
          { from: 300, to: 400, count: 2 },
        ].map((x) => x),
      });
      expect(b.facets['attributes.color']).toEqual([
        { value: 'Red', count: 2 },
        { value: 'Blue', count: 1 },
      ]);

      // A query: lexical matches (every term) plus route hits, filters applied; a facet's own
      // filter does not narrow its own counts, the others do.
      const q = await store.explore(
        { q: 'running', ids: ['p7'], filters: { brand: ['Nike'], in_stock: true } },
        { facets: ['brand', 'in_stock'], maxValues: 20, sort: 'price:desc', k: 10 },
      );
      expect(q.total).toBe(1);
      expect(q.sorted).toEqual([{ id: 'p1', key: 120 }]);
      expect(q.facets.brand).toEqual([
        { value: 'Adidas', count: 1 },
        { value: 'Apple', count: 1 },
        { value: 'Nike', count: 1 },
      ]);
      expect(q.facets.in_stock).toEqual([
        { value: false, count: 1 },
        { value: true, count: 1 },
      ]);
      // Every term must match; `only` restricts; max values cuts each facet.
      expect(
        (await store.explore({ q: 'running shirt' }, { facets: [], maxValues: 1, k: 10 })).sorted.map((h) => h.id),
      ).toEqual(['p4']);
      const only = await store.explore(
        { q: 'running', only: ['p2', 'p8'] },
        { facets: ['brand'], maxValues: 1, k: 10 },
      );
      expect(only.sorted.map((h) => h.id)).toEqual(['p2']);
      expect(only.facets.brand).toEqual([{ value: 'Adidas', count: 1 }]);
      // Newest: most recent updated_at first, products without one last.
      const n = await store.explore({}, { facets: [], maxValues: 20, sort: 'newest', k: 3 });
      expect(n.sorted.map((h) => h.id)).toEqual(['p2', 'p1', 'p3']);
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

    it('reads the hashes of named products only, leaving out ids it does not hold', async () => {
      const of = await store.hashesOf!(['p2', 'missing-id', 'p5']);
      expect(of).toEqual(
        new Map([
          ['p2', contentHash(products[1]!)],
          ['p5', contentHash(products[4]!)],
        ]),
      );
      expect(await store.hashesOf!([])).toEqual(new Map());
      await store.delete(['p2']);
      expect([...(await store.hashesOf!(['p2', 'p5'])).keys()]).toEqual(['p5']);
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

    it('takes several values of a field and attribute filters', async () => {
      await store.upsert(await points(withAttributes(products)));
      const v = await q('running');
      const all = ids(await store.search(v, 10, { brand: ['nike', 'Adidas'] })).sort();
      expect(all).toEqual(['p1', 'p2', 'p4']);
      expect(ids(await store.search(v, 10, { category: ['Clothing', 'Electronics/Audio/Earbuds'] })).sort()).toEqual([
        'p4',
        'p7',
      ]);
      expect(ids(await store.search(v, 10, { attributes: { color: 'RED' } })).sort()).toEqual(['p1', 'p4']);
      expect(ids(await store.search(v, 10, { attributes: { color: ['red'], size: 'm' } }))).toEqual(['p4']);
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
