import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseProduct, type Product } from '../../core/catalog/product.ts';
import { contentHash } from '../../indexer/hash.ts';
import type { StoredProduct, TextStore } from '../../retrieval/index/stores.ts';
import { compileSynonyms } from '../../retrieval/index/synonyms.ts';
import type { StoreHarness } from './stores.ts';
import { products } from './stores.ts';

/**
 * The lexical features every text store implements the same way (retrieval/index/lexical.ts):
 * typo tolerance, last-word prefixes, synonyms at query time and Chinese words. Run against the
 * embedded FTS5 store in the unit tests and against Elasticsearch in the integration suite.
 */
const extra: Product[] = [
  { id: 'z1', title: '儿童 遥控 玩具车 赛车', category: '玩具/遥控玩具', brand: '奥迪双钻', in_stock: true, price: 99 },
  {
    id: 'z2',
    title: '波司登 男士 保暖 羽绒服 外套',
    category: '服装/外套',
    brand: '波司登',
    in_stock: true,
    price: 899,
  },
  {
    id: 'z3',
    title: 'Samsung 55 inch QLED Television',
    category: 'Electronics/Video',
    brand: 'Samsung',
    in_stock: true,
    price: 699,
  },
].map((raw) => {
  const r = parseProduct(raw);
  if (!r.ok) throw new Error(r.reason);
  return r.product;
});
const stored = (ps: Product[]): StoredProduct[] => ps.map((product) => ({ product, hash: contentHash(product) }));
const ids = (hits: Array<{ id: string }>) => hits.map((h) => h.id);

export function lexicalConformance(name: string, harness: () => StoreHarness<TextStore>) {
  describe(`TextStore lexical features: ${name}`, () => {
    let h: StoreHarness<TextStore>;
    let store: TextStore;
    beforeEach(async () => {
      h = harness();
      store = await h.open();
      await store.upsert(stored([...products, ...extra]));
    });
    afterEach(async () => {
      await store.close();
      await h.cleanup();
    });

    it('corrects misspelt words against the index and says what it corrected', async () => {
      const r = await store.lexical('runing shoos', 5, undefined, {});
      expect(ids(r.hits)[0]).toBe('p1');
      expect(r.match.corrected.map((c) => c.term).sort()).toEqual(['runing', 'shoos']);
      expect(r.match.corrected.find((c) => c.term === 'runing')!.to).toContain('running');
      // Two edits from 9 characters.
      const two = await store.lexical('headphnes', 5, undefined, {});
      expect(ids(two.hits)[0]).toBe('p8');
      expect(two.match.corrected).toEqual([{ term: 'headphnes', to: ['headphones'] }]);
      // Off, or a word under 5 characters: no correction.
      expect((await store.lexical('runing shoos', 5, undefined, { typos: false, prefix: false })).hits).toEqual([]);
      const short = await store.lexical('shoz', 5, undefined, { prefix: false });
      expect(short.match.corrected).toEqual([]);
      expect(short.hits).toEqual([]);
    });

    it('never corrects a word the index holds: what was typed is what is searched', async () => {
      const r = await store.lexical('running', 10, undefined, { prefix: false });
      expect(r.match.corrected).toEqual([]);
      expect(new Set(ids(r.hits))).toEqual(new Set(['p1', 'p2', 'p4']));
    });

    it('matches the last word as a prefix while typing, not after a space', async () => {
      const r = await store.lexical('cast iron skil', 5, undefined, {});
      expect(ids(r.hits)[0]).toBe('p3');
      expect(r.match.prefixes).toEqual(['skil']);
      expect((await store.lexical('skil ', 5, undefined, { typos: false })).hits).toEqual([]);
    });

    it('applies synonyms at query time: multi-way sets and one-way rules', async () => {
      expect(ids((await store.lexical('tv', 5, undefined, {})).hits)).not.toContain('z3');
      const synonyms = compileSynonyms({
        version: 7,
        synonyms: [['tv', 'television'], { from: 'frypan', to: ['cast iron skillet'] }],
      });
      const tv = await store.lexical('tv', 5, undefined, { synonyms });
      expect(ids(tv.hits)).toContain('z3');
      expect(tv.match.synonyms).toEqual([{ term: 'tv', to: ['television'] }]);
      expect(tv.match.synonyms_version).toBe(7);
      expect(ids((await store.lexical('frypan', 5, undefined, { synonyms })).hits)[0]).toBe('p3');
      // One way only: "skillet" does not find what "frypan" would.
      const back = await store.lexical('skillet', 5, undefined, { synonyms });
      expect(back.match.synonyms).toEqual([]);
    });

    it('segments Chinese into words: 保暖外套 finds the warm coat, not the toy car', async () => {
      const r = await store.lexical('保暖外套', 5, undefined, {});
      expect(ids(r.hits)).toEqual(['z2']);
      expect(r.match.terms).toEqual(expect.arrayContaining(['保暖', '外套']));
      expect(ids((await store.lexical('玩具车', 5, undefined, {})).hits)).toEqual(['z1']);
    });
  });
}
