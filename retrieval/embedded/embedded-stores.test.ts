import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { textStoreConformance, vectorStoreConformance, products } from '../../test/conformance/stores.ts';
import { tempDir } from '../../test/helpers/catalog.ts';
import { contentHash } from '../../indexer/hash.ts';
import { HnswVectorStore } from './hnsw-vector-store.ts';
import { SqliteTextStore } from './sqlite-text-store.ts';

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

textStoreConformance('SQLite FTS5', () => {
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
});

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
    await store.upsert(products.slice(0, 3).map((product, i) => ({ product, hash: 'h', vector: v([i === 0 ? 1 : 0, i === 1 ? 1 : 0, i === 2 ? 1 : 0, 0]) })));
    s.closeAll(); // no flush: the graph file was never written
    expect(fs.existsSync(graph)).toBe(false);
    const again = HnswVectorStore.open(s.openDb(), graph, 4);
    expect((await again.search(v([0, 1, 0, 0]), 1))[0]!.id).toBe('p2');
    s.closeAll();
  });
});
