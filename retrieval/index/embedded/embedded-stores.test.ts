import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { textStoreConformance, vectorStoreConformance, products } from '../../../test/conformance/stores.ts';
import { tempDir } from '../../../test/helpers/catalog.ts';
import { contentHash } from '../../../indexer/hash.ts';
import { HnswVectorStore } from './hnsw-vector-store.ts';
import type { Product } from '../../../core/catalog/product.ts';
import { SqliteTextStore } from './sqlite-text-store.ts';
import { lexicalConformance } from '../../../test/conformance/lexical.ts';

function sqliteHarness() {
  const dir = tempDir();
  const file = path.join(dir, 'index.sqlite');
  const dbs: Database.Database[] = [];
  const openDb = () => {
    const db = new Database(file);
    dbs.push(db);
    return db;
  };
  return { dir, openDb, closeAll: () => dbs.forEach((d) => d.open && d.close()) };
}

const sqliteTextHarness = () => {
  const s = sqliteHarness();
  return {
    open: async () => new SqliteTextStore(s.openDb()),
    reopen: async () => {
      s.closeAll();
      return new SqliteTextStore(s.openDb());
    },
    cleanup: async () => {
      s.closeAll();
      fs.rmSync(s.dir, { recursive: true, force: true });
    },
  };
};
textStoreConformance('SQLite FTS5', sqliteTextHarness);
lexicalConformance('SQLite FTS5', sqliteTextHarness);

vectorStoreConformance('hnswlib', () => {
  const s = sqliteHarness();
  const graph = path.join(s.dir, 'vectors.hnsw');
  return {
    open: async () => HnswVectorStore.open(s.openDb(), graph, 64),
    reopen: async (store) => {
      (store as HnswVectorStore).flush();
      s.closeAll();
      return HnswVectorStore.open(s.openDb(), graph, 64);
    },
    cleanup: async () => {
      s.closeAll();
      fs.rmSync(s.dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite FTS5 match modes', () => {
  const setup = async (matchMode: 'and_first' | 'or') => {
    const db = new Database(':memory:');
    const store = new SqliteTextStore(db, { matchMode });
    await store.upsert(products.map((product) => ({ product, hash: contentHash(product) })));
    return store;
  };
  it('and_first keeps only all-term matches when there are enough of them', async () => {
    const store = await setup('and_first');
    expect((await store.search('nike running', 1)).map((h) => h.id)[0]).toMatch(/^p[14]$/);
    const two = (await store.search('nike running', 2)).map((h) => h.id).sort();
    expect(two).toEqual(['p1', 'p4']);
  });
  it('and_first relaxes to any term when too few documents hold every term', async () => {
    const store = await setup('and_first');
    const ids = (await store.search('skillet headphones', 10)).map((h) => h.id).sort();
    expect(ids).toEqual(['p3', 'p8']);
  });
  it('or matches any term always', async () => {
    const store = await setup('or');
    expect((await store.search('nike running', 10)).map((h) => h.id).sort()).toEqual(['p1', 'p2', 'p4']);
  });
  it('treats query syntax characters as plain text', async () => {
    const store = await setup('and_first');
    await expect(store.search('"unbalanced OR NEAR( * -', 5)).resolves.toBeInstanceOf(Array);
  });
});

describe('HnswVectorStore graph recovery', () => {
  it('rebuilds a missing graph file from the stored vectors', async () => {
    const s = sqliteHarness();
    const graph = path.join(s.dir, 'vectors.hnsw');
    const store = HnswVectorStore.open(s.openDb(), graph, 4);
    const v = (x: number[]) => new Float32Array(x);
    await store.upsert(
      products.slice(0, 3).map((product, i) => ({
        product,
        hash: 'h',
        vector: v([i === 0 ? 1 : 0, i === 1 ? 1 : 0, i === 2 ? 1 : 0, 0]),
      })),
    );
    s.closeAll(); // no flush: the graph file was never written
    expect(fs.existsSync(graph)).toBe(false);
    const again = HnswVectorStore.open(s.openDb(), graph, 4);
    expect((await again.search(v([0, 1, 0, 0]), 1))[0]!.id).toBe('p2');
    s.closeAll();
  });
});

describe('SQLite FTS5 step-by-step relaxation', () => {
  const docs = [
    { id: 'abc', title: 'alpha bravo charlie' },
    { id: 'ab', title: 'alpha bravo' },
    { id: 'ac', title: 'alpha charlie' },
    { id: 'bc', title: 'bravo charlie' },
    { id: 'a', title: 'alpha only here' },
    { id: 'c', title: 'charlie only here' },
    { id: 'none', title: 'delta echo' },
  ].map((d) => ({ product: { ...d, in_stock: true }, hash: 'h' }));

  it('stops at the first level that fills k and ranks documents with more of the terms higher', async () => {
    const db = new Database(':memory:');
    const and = new SqliteTextStore(db, { matchMode: 'and_first' });
    await and.upsert(docs);
    const or = new SqliteTextStore(db, { matchMode: 'or' });
    const full = await or.search('alpha bravo charlie', 10);
    expect(full.map((h) => h.id).sort()).toEqual(['a', 'ab', 'abc', 'ac', 'bc', 'c']);

    // k=1: all three terms suffice, scored as plain BM25.
    const all = await and.search('alpha bravo charlie', 1);
    expect(all.map((h) => h.id)).toEqual(['abc']);
    expect(all[0]!.score).toBeCloseTo(full.find((h) => h.id === 'abc')!.score, 9);
    // k=3: level "any two of three" (abc, ab, ac, bc) fills it; single-term documents are out,
    // and the document with all three terms ranks first.
    const two = await and.search('alpha bravo charlie', 3);
    expect(two).toHaveLength(3);
    expect(two[0]!.id).toBe('abc');
    expect(two.every((h) => h.id.length >= 2)).toBe(true);
    // k=10: no level fills it, so the plain OR answers.
    expect((await and.search('alpha bravo charlie', 10)).map(({ id, score }) => ({ id, score }))).toEqual(full);
  });

  it("reports each hit's term coverage: the first level it appeared at", async () => {
    const db = new Database(':memory:');
    const and = new SqliteTextStore(db, { matchMode: 'and_first' });
    await and.upsert(docs);
    const coverage = (hits: Array<{ id: string; coverage?: number }>) =>
      Object.fromEntries(hits.map((h) => [h.id, h.coverage]));
    // No level fills k=10: levels 3 and 2 were complete, so coverage is exact down to one term.
    expect(coverage(await and.search('alpha bravo charlie', 10))).toEqual({
      abc: 1,
      ab: 2 / 3,
      ac: 2 / 3,
      bc: 2 / 3,
      a: 1 / 3,
      c: 1 / 3,
    });
    // k=3 stops at level two: its new documents hold two of the three terms.
    expect(coverage(await and.search('alpha bravo charlie', 3))).toMatchObject({ abc: 1 });
    expect(Object.values(coverage(await and.search('alpha bravo charlie', 3)))).toEqual([1, 2 / 3, 2 / 3]);
    // One term: every hit holds it.
    expect(coverage(await and.search('charlie', 10))).toEqual({ abc: 1, ac: 1, bc: 1, c: 1 });
    // A term nothing holds lowers everyone's coverage.
    expect(coverage(await and.search('alpha zulu', 10))).toEqual({ abc: 0.5, ab: 0.5, ac: 0.5, a: 0.5 });
  });
});

describe('SQLite FTS5 last-word prefixes', () => {
  const setup = async (titles: Record<string, string>) => {
    const store = new SqliteTextStore(new Database(':memory:'));
    await store.upsert(
      Object.entries(titles).map(([id, title]) => {
        const product: Product = { ...products[0]!, id, title, description: '', brand: undefined };
        return { product, hash: contentHash(product) };
      }),
    );
    return store;
  };

  it('takes a last word the index holds as typed: no prefix expansion (completions are the suggestions’ job)', async () => {
    const store = await setup({ m1: 'yoga mat', m2: 'yoga mattress topper', m3: 'yoga material bag' });
    const r = await store.lexical('mat', 10, undefined, {});
    expect(r.match.prefixes).toEqual([]);
    expect(r.hits.map((h) => h.id)).toEqual(['m1']);
    expect((await store.lexical('yoga mat', 1, undefined, {})).hits.map((h) => h.id)).toEqual(['m1']);
    // Not a word of the index: completed.
    expect((await store.lexical('matt', 10, undefined, {})).hits.map((h) => h.id)).toEqual(['m2']);
  });

  it('expands a last word the index does not hold to the indexed words it starts, the most frequent first, at most 20', async () => {
    const titles: Record<string, string> = { s1: 'cast iron skillet', s2: 'skillet lid', s3: 'skills book' };
    for (let i = 0; i < 30; i++) titles[`w${i}`] = `skil${String.fromCharCode(97 + (i % 26))}${i} gadget`;
    const store = await setup(titles);
    const r = await store.lexical('skil', 50, undefined, {});
    expect(r.match.prefixes).toEqual(['skil']);
    const ids = r.hits.map((h) => h.id);
    // "skillet" (2 documents) is among the 20 most frequent completions; 32 distinct words start "skil".
    expect(ids).toEqual(expect.arrayContaining(['s1', 's2']));
    expect(ids.length).toBeLessThanOrEqual(21);
    expect((await store.lexical('skilzz', 10, undefined, { typos: false })).hits).toEqual([]);
  });
});
