import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../test/helpers/catalog.ts';
import { HashEmbedder } from '../test/helpers/embedders.ts';
import { ChangeCollector } from './changes.ts';
import { PublishedCatalogChanges, type ChangeTopic } from './change-batch.ts';
import { applyChanges, indexCatalog } from './index-catalog.ts';
import { EmbeddedBackend } from '../retrieval/index/embedded/embedded-backend.ts';
import type { OpenSnapshotOptions } from '../retrieval/index/index-backend.ts';

/** Method calls through `target`, with some replaced: a spy that keeps the instance's own methods. */
function overriding<T extends object>(target: T, replaced: Record<string, unknown>): T {
  return new Proxy(target, {
    get(t, key) {
      if (typeof key === 'string' && key in replaced) return replaced[key];
      const v = Reflect.get(t, key, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

describe('the indexer lock around a change batch', () => {
  it('is held from the read of the stored products to the commit, so no other indexer can commit in between', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    await indexCatalog({
      catalogPath: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS),
      dataDir,
      embedder: new HashEmbedder(),
    });
    const lock = path.join(dataDir, 'indexer.lock');
    const seen: boolean[] = [];
    // Embedding happens between the diff's read and the write: the lock must already be there.
    class Watching extends HashEmbedder {
      override async embedTexts(texts: string[], role: 'query' | 'document') {
        seen.push(fs.existsSync(lock));
        return super.embedTexts(texts, role);
      }
    }
    const c = new ChangeCollector();
    c.add(1, { op: 'update', product: { id: 'p1', title: 'Nike Pegasus 41 Running Shoes' } });
    const sum = await applyChanges({ dataDir, embedder: new Watching(), changes: c.result(), imageBase: dir });
    expect(sum.indexed).toBe(1);
    expect(seen).toEqual([true]);
    expect(fs.existsSync(lock)).toBe(false);
  });
});

describe('a live change', () => {
  it('reads the hashes of the products it names only, never every hash of the index', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const embedder = new HashEmbedder();
    await indexCatalog({ catalogPath: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS), dataDir, embedder });
    const asked: string[][] = [];
    // A served index whose full scan fails: on Elasticsearch it is a read that grows with the catalog.
    class NoScan extends EmbeddedBackend {
      override async openSnapshot(opts?: OpenSnapshotOptions) {
        const snap = await super.openSnapshot(opts);
        if (!snap) return snap;
        const text = overriding(snap.text, {
          hashes: async () => {
            throw new Error('every hash was read');
          },
          hashesOf: async (ids: readonly string[]) => {
            asked.push([...ids]);
            return snap.text.hashesOf!(ids);
          },
        });
        return overriding(snap, { text });
      }
    }
    const c = new ChangeCollector();
    c.add(1, { op: 'update', product: { id: 'p1', price: 61 } });
    c.add(2, { op: 'delete', product: { id: 'p2' } });
    c.add(3, { op: 'update', product: { id: 'p3', price: SAMPLE_PRODUCTS[2]!.price } });
    const sum = await applyChanges({
      dataDir,
      backend: new NoScan(dataDir),
      embedder,
      changes: c.result(),
      imageBase: dir,
    });
    expect(sum).toMatchObject({ indexed: 1, unchanged: 1, deleted: 1, embedded: 0 });
    expect(asked.map((ids) => [...ids].sort())).toEqual([['p1', 'p2', 'p3']]);
    expect(sum.phases_ms).toEqual({
      lock: expect.any(Number),
      read: expect.any(Number),
      embed: expect.any(Number),
      write: expect.any(Number),
      commit: expect.any(Number),
    });
  });
});

describe('PublishedCatalogChanges', () => {
  it('publishes the valid lines in order and refuses, by position, bad lines and updates of unknown ids', async () => {
    const sent: unknown[] = [];
    const topic: ChangeTopic = { topic: 'shop.catalog', publish: async (c) => void sent.push(...c) };
    const asked: string[][] = [];
    const sink = new PublishedCatalogChanges(topic, async (ids) => {
      asked.push(ids);
      return new Set(ids.filter((id) => id.startsWith('p')));
    });
    const lines = [
      { op: 'update', product: { id: 'p1', price: 79, stock: 0 } },
      { op: 'update', product: { id: 'x1', price: 1 } },
      { op: 'upsert', product: { id: 'n1', title: 'New Thing' } },
      { op: 'update', product: { id: 'n1', price: 5 } },
      { op: 'delete', product: { id: 'p2' } },
      { op: 'update', product: { id: 'p2', price: 5 } },
      { op: 'update', product: { id: 'p3', price: '1,299.00', title: '' } },
      new Error('invalid JSON: Unexpected end of JSON input'),
    ];
    const r = await sink.submit(lines);
    expect(r).toMatchObject({ mode: 'published', topic: 'shop.catalog', accepted: [0, 2, 3, 4] });
    expect(r.acceptedIds).toEqual(['p1', 'n1', 'p2']);
    expect(asked).toEqual([['p1', 'x1']]);
    expect(r.rejected.map((x) => [x.index, x.code])).toEqual([
      [1, 'unknown_product'],
      [5, 'unknown_product'],
      [6, 'invalid_change'],
      [7, 'invalid_json'],
    ]);
    expect(r.rejected[2]!.reason).toBe(
      'product.title: title is empty (got ""); product.price: expected a number, got "1,299.00"',
    );
    expect(sent).toEqual([lines[0], lines[2], lines[3], lines[4]]);
  });
});
