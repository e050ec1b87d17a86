import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { currentGeneration } from '../retrieval/index/embedded/generation.ts';
import { openSearcher } from '../retrieval/recall/searcher.ts';
import { FailingEmbedder, HashEmbedder } from '../test/helpers/embedders.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../test/helpers/catalog.ts';
import { applyChangeFile, indexCatalog, StrictModeError } from './index-catalog.ts';

let dir: string;
let dataDir: string;
let catalog: string;

beforeEach(() => {
  dir = tempDir();
  dataDir = path.join(dir, 'data');
  catalog = writeJsonl(path.join(dir, 'catalog.jsonl'), SAMPLE_PRODUCTS);
});

async function ids(q: string, embedder = new HashEmbedder()) {
  const s = await openSearcher({ dataDir, embedder });
  try {
    return (await s.search({ q, size: 20 })).items.map((i) => i.id);
  } finally {
    await s.close();
  }
}

describe('indexCatalog', () => {
  it('indexes every valid product and serves it', async () => {
    const sum = await indexCatalog({ catalogPath: catalog, dataDir, embedder: new HashEmbedder() });
    expect(sum).toMatchObject({ indexed: 8, unchanged: 0, skipped: 0, deleted: 0, embedded: 8 });
    expect(sum.generation).toBe(currentGeneration(dataDir));
    expect(await ids('running shoes')).toContain('p1');
  });

  it('is idempotent: a second run on the same file writes nothing', async () => {
    const emb = new HashEmbedder();
    const first = await indexCatalog({ catalogPath: catalog, dataDir, embedder: emb });
    const textsAfterFirst = emb.texts;
    const second = await indexCatalog({ catalogPath: catalog, dataDir, embedder: emb });
    expect(second).toMatchObject({ indexed: 0, unchanged: 8, deleted: 0, embedded: 0, generation: first.generation });
    expect(emb.texts).toBe(textsAfterFirst);
  });

  it('re-embeds a product whose text changed, but not one whose price changed', async () => {
    const emb = new HashEmbedder();
    await indexCatalog({ catalogPath: catalog, dataDir, embedder: emb });
    const changed = SAMPLE_PRODUCTS.map((p) =>
      p.id === 'p3' ? { ...p, title: 'Lodge Cast Iron Grill Pan' } : p.id === 'p7' ? { ...p, price: 199 } : p,
    );
    writeJsonl(catalog, changed);
    const before = emb.texts;
    const sum = await indexCatalog({ catalogPath: catalog, dataDir, embedder: emb });
    expect(sum).toMatchObject({ indexed: 2, unchanged: 6, embedded: 1 });
    expect(emb.texts - before).toBe(1);
    expect(await ids('grill pan')).toContain('p3');
  });

  it('reports bad rows with line numbers and skips them; --strict refuses', async () => {
    writeJsonl(catalog, [
      SAMPLE_PRODUCTS[0],
      { id: 'bad1' },
      '{not json',
      { ...SAMPLE_PRODUCTS[1], price: 'cheap' },
      SAMPLE_PRODUCTS[0],
      SAMPLE_PRODUCTS[2],
    ]);
    const sum = await indexCatalog({ catalogPath: catalog, dataDir, embedder: new HashEmbedder() });
    expect(sum.indexed).toBe(2);
    expect(sum.skipped).toBe(4);
    expect(sum.errors.map((e) => e.line)).toEqual([2, 3, 4, 5]);
    expect(sum.errors[0]!.reason).toMatch(/title/);
    expect(sum.errors[1]!.reason).toMatch(/invalid JSON/);
    expect(sum.errors[2]!.reason).toMatch(/price/);
    expect(sum.errors[3]!.reason).toMatch(/duplicate id/);

    const strictDir = path.join(dir, 'strict');
    await expect(
      indexCatalog({ catalogPath: catalog, dataDir: strictDir, embedder: new HashEmbedder(), strict: true }),
    ).rejects.toBeInstanceOf(StrictModeError);
    expect(currentGeneration(strictDir)).toBeUndefined();
  });

  it('removes products absent from the file only with deleteMissing', async () => {
    await indexCatalog({ catalogPath: catalog, dataDir, embedder: new HashEmbedder() });
    writeJsonl(
      catalog,
      SAMPLE_PRODUCTS.filter((p) => p.id !== 'p3'),
    );
    const keep = await indexCatalog({ catalogPath: catalog, dataDir, embedder: new HashEmbedder() });
    expect(keep.deleted).toBe(0);
    expect(await ids('cast iron skillet')).toContain('p3');
    const del = await indexCatalog({
      catalogPath: catalog,
      dataDir,
      embedder: new HashEmbedder(),
      deleteMissing: true,
    });
    expect(del).toMatchObject({ deleted: 1, indexed: 0, unchanged: 7 });
    expect(await ids('cast iron skillet')).not.toContain('p3');
  });

  it('applies a change file of upserts and deletes in order', async () => {
    await indexCatalog({ catalogPath: catalog, dataDir, embedder: new HashEmbedder() });
    const changes = writeJsonl(path.join(dir, 'changes.jsonl'), [
      { op: 'upsert', product: { id: 'p9', title: 'Hydro Flask Water Bottle 32 oz', brand: 'Hydro Flask', price: 45 } },
      { op: 'delete', product: { id: 'p1' } },
      { op: 'upsert', product: { id: 'p2', title: 'Adidas Ultraboost Running Sneakers', price: 150 } },
      { op: 'delete', product: { id: 'p2' } },
      { op: 'upsert', product: { id: 'p2', title: 'Adidas Ultraboost Light', price: 160 } },
      { op: 'rename', product: { id: 'p3' } },
      { op: 'delete', product: { id: 'does-not-exist' } },
    ]);
    const sum = await applyChangeFile({ changesPath: changes, dataDir, embedder: new HashEmbedder() });
    expect(sum).toMatchObject({ indexed: 2, deleted: 1, skipped: 1 });
    expect(sum.errors[0]!.line).toBe(6);
    expect(await ids('water bottle')).toContain('p9');
    expect(await ids('pegasus')).not.toContain('p1');
    expect(await ids('ultraboost light')).toContain('p2');
  });

  it('applies partial updates: merged into the stored product, not re-embedded, unknown ids reported', async () => {
    const emb = new HashEmbedder();
    await indexCatalog({ catalogPath: catalog, dataDir, embedder: emb });
    const before = emb.texts;
    const changes = writeJsonl(path.join(dir, 'changes.jsonl'), [
      { op: 'update', product: { id: 'p7', price: 79, stock: 0 } },
      { op: 'update', product: { id: 'B018', price: 10 } },
      { op: 'update', product: { id: 'p8', price: '1,299.00', in_stock: 'no' } },
      { op: 'update', product: { price: 5 } },
    ]);
    const sum = await applyChangeFile({ changesPath: changes, dataDir, embedder: emb });
    expect(sum).toMatchObject({ indexed: 1, skipped: 3 });
    // A price and stock change is written without embedding anything.
    expect(emb.texts - before).toBe(0);
    expect(sum.errors.map((e) => e.line)).toEqual([2, 3, 4]);
    expect(sum.errors[0]!.reason).toBe('product.id: no product "B018" in the index; an update never creates one');
    // Every error of the row, each with the value sent.
    expect(sum.errors[1]!.reason).toBe(
      'product.price: expected a number, got "1,299.00"; product.in_stock: expected a boolean, got "no"',
    );
    expect(sum.errors[2]!.reason).toMatch(/^product\.id: expected/);
    const s = await openSearcher({ dataDir, embedder: emb });
    try {
      const p7 = (await s.search({ q: 'airpods', size: 5 })).items.find((i) => i.id === 'p7');
      expect(p7).toMatchObject({ price: 79, in_stock: false, title: 'Apple AirPods Pro Wireless Earbuds' });
    } finally {
      await s.close();
    }

    // A text change in an update is re-embedded.
    writeJsonl(changes, [{ op: 'update', product: { id: 'p7', title: 'Apple AirPods Pro 2' } }]);
    const text = await applyChangeFile({ changesPath: changes, dataDir, embedder: emb });
    expect(text).toMatchObject({ indexed: 1, embedded: 1 });
  });

  it('a crash mid-run leaves the served generation intact, and the rerun resumes from the cache', async () => {
    await indexCatalog({ catalogPath: catalog, dataDir, embedder: new HashEmbedder() });
    const gen = currentGeneration(dataDir);
    const bigger = Array.from({ length: 300 }, (_, i) => ({
      id: `n${i}`,
      title: `Widget model ${i} deluxe`,
      price: i,
    }));
    writeJsonl(catalog, [...SAMPLE_PRODUCTS, ...bigger]);
    // 64 texts per batch: two batches succeed, the third throws.
    await expect(indexCatalog({ catalogPath: catalog, dataDir, embedder: new FailingEmbedder(2) })).rejects.toThrow(
      /unavailable/,
    );
    expect(currentGeneration(dataDir)).toBe(gen);
    expect((await ids('widget')).filter((id) => id.startsWith('n'))).toEqual([]);
    expect(fs.readdirSync(dataDir).filter((f) => f.startsWith('gen-'))).toEqual([gen]);

    const emb = new HashEmbedder();
    const sum = await indexCatalog({ catalogPath: catalog, dataDir, embedder: emb });
    expect(sum.indexed).toBe(300);
    expect(sum.embedded).toBe(300 - 128);
    expect(emb.texts).toBe(300 - 128);
    expect((await ids('widget deluxe'))[0]).toMatch(/^n/);
  });

  it('rebuilds everything when the embedder changes, keeping products', async () => {
    await indexCatalog({ catalogPath: catalog, dataDir, embedder: new HashEmbedder(64) });
    writeJsonl(catalog, SAMPLE_PRODUCTS.slice(0, 4));
    const sum = await indexCatalog({ catalogPath: catalog, dataDir, embedder: new HashEmbedder(32) });
    expect(sum).toMatchObject({ indexed: 4, deleted: 0, embedded: 8 });
    expect(await ids('airpods', new HashEmbedder(32))).toContain('p7');
  });

  it('a new text model: re-embeds into a new generation while the old one keeps answering, then switches atomically', async () => {
    const oldModel = new HashEmbedder(32, 'model-a');
    await indexCatalog({ catalogPath: catalog, dataDir, embedder: oldModel });
    const oldGen = currentGeneration(dataDir);
    const serving = await openSearcher({ dataDir, embedder: oldModel });
    try {
      // The new model (same dimensions, another id, as a retrained n-gram tower) embeds slowly.
      const newModel = new HashEmbedder(32, 'model-b');
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let started!: () => void;
      const embedding = new Promise<void>((r) => (started = r));
      const slow: typeof newModel = Object.assign(Object.create(newModel) as HashEmbedder, {
        async embedTexts(texts: string[], role: 'query' | 'document') {
          started();
          await gate;
          return newModel.embedTexts(texts, role);
        },
      });
      const rebuild = indexCatalog({ catalogPath: catalog, dataDir, embedder: slow });
      await embedding;
      // Mid-rebuild: the served generation is the old one, vectors and all.
      expect(await serving.refresh()).toBe(false);
      const during = await serving.search({ q: 'ultraboost light', size: 5 });
      expect(during.degraded ?? []).toEqual([]);
      expect(during.items.map((i) => i.id)).toContain('p2');
      expect(currentGeneration(dataDir)).toBe(oldGen);
      release();
      const sum = await rebuild;
      expect(sum.indexed).toBe(SAMPLE_PRODUCTS.length);
      const newGen = currentGeneration(dataDir);
      expect(newGen).not.toBe(oldGen);
      // A searcher on the new model answers from the new generation with its vectors.
      const next = await openSearcher({ dataDir, embedder: newModel });
      try {
        expect(next.generation).toBe(newGen);
        const after = await next.search({ q: 'ultraboost light', size: 5 });
        expect(after.degraded ?? []).toEqual([]);
        expect(after.items.map((i) => i.id)).toContain('p2');
      } finally {
        await next.close();
      }
      // The old process, on model A, cannot load the new model (a stand-in with no folder): it keeps
      // serving the old generation with both routes, and says why (src/api/text-models.test.ts
      // shows a service that can load it switching).
      expect(await serving.refresh()).toBe(false);
      expect(serving.generation).toBe(oldGen);
      const stale = await serving.search({ q: 'ultraboost light', size: 5 });
      expect(stale.degraded ?? []).toEqual([]);
      expect(stale.text_model).toBe('model-a');
      expect(serving.textModels.refused).toMatchObject({
        generation: newGen,
        reason: expect.stringMatching(/model-b/),
      });
    } finally {
      await serving.close();
    }
  });

  it('reads CSV catalogs with typed columns', async () => {
    const csv = path.join(dir, 'catalog.csv');
    fs.writeFileSync(
      csv,
      'id,title,price,in_stock,tags,attributes,category\n' +
        'c1,Trail Running Shoe,89.5,true,trail|running,color:red|size:42,Sports/Footwear\n' +
        'c2,,10,true,,,\n' +
        'c3,Yoga Mat,abc,false,,,Sports\n',
    );
    const sum = await indexCatalog({ catalogPath: csv, dataDir, embedder: new HashEmbedder() });
    expect(sum.indexed).toBe(1);
    expect(sum.errors.map((e) => e.line)).toEqual([3, 4]);
    const s = await openSearcher({ dataDir, embedder: new HashEmbedder() });
    const res = await s.search({ q: 'trail', size: 5 });
    await s.close();
    expect(res.items[0]).toMatchObject({ id: 'c1', price: 89.5, category: 'Sports/Footwear', in_stock: true });
  });
});

describe('writer lock', () => {
  it('refuses to write while another live indexer holds the data folder, and takes over a dead one', async () => {
    const d = path.join(tempDir(), 'data');
    fs.mkdirSync(d, { recursive: true });
    const lock = path.join(d, 'indexer.lock');
    fs.writeFileSync(lock, '1'); // pid 1 is always alive
    const cat = writeJsonl(path.join(path.dirname(d), 'c.jsonl'), SAMPLE_PRODUCTS.slice(0, 2));
    await expect(indexCatalog({ catalogPath: cat, dataDir: d, embedder: new HashEmbedder() })).rejects.toThrow(
      /another indexer \(pid 1\)/,
    );
    expect(currentGeneration(d)).toBeUndefined();
    fs.writeFileSync(lock, '999999999'); // no such process
    const sum = await indexCatalog({ catalogPath: cat, dataDir: d, embedder: new HashEmbedder() });
    expect(sum.indexed).toBe(2);
    expect(fs.existsSync(lock)).toBe(false);
  });
});

describe('interleaved runs', () => {
  /** Embeds only once `open()` is called: holds a run between its diff and its write. */
  class GatedEmbedder extends HashEmbedder {
    private opened!: () => void;
    readonly gate = new Promise<void>((resolve) => (this.opened = resolve));
    started = false;
    open = () => this.opened();
    override async embedTexts(texts: string[], role: Parameters<HashEmbedder['embedTexts']>[1]) {
      this.started = true;
      await this.gate;
      return super.embedTexts(texts, role);
    }
  }

  async function indexedIds(d: string): Promise<string[]> {
    const { EmbeddedBackend } = await import('../retrieval/index/embedded/embedded-backend.ts');
    const snap = await new EmbeddedBackend(d).openSnapshot({ vectors: false });
    try {
      return [...(await snap!.text.hashes()).keys()].sort();
    } finally {
      await snap?.close();
    }
  }

  it('two --delete-missing runs serialise: the second fails clearly and the index is the catalog of the run that finished', async () => {
    const d = path.join(dir, 'interleaved');
    const all = writeJsonl(path.join(dir, 'all.jsonl'), SAMPLE_PRODUCTS);
    await indexCatalog({ catalogPath: all, dataDir: d, embedder: new HashEmbedder() });
    // Run A keeps the first half (one of them retitled, so it has something to embed); run B the second half.
    const [first, ...restA] = SAMPLE_PRODUCTS.slice(0, 4);
    const catA = writeJsonl(path.join(dir, 'a.jsonl'), [{ ...first!, title: `${first!.title} v2` }, ...restA]);
    const catB = writeJsonl(path.join(dir, 'b.jsonl'), SAMPLE_PRODUCTS.slice(4));
    const gated = new GatedEmbedder();
    const runA = indexCatalog({ catalogPath: catA, dataDir: d, embedder: gated, deleteMissing: true });
    while (!gated.started) await new Promise((r) => setTimeout(r, 5));
    // A has computed its diff and is embedding; B starts now.
    const runB = indexCatalog({ catalogPath: catB, dataDir: d, embedder: new HashEmbedder(), deleteMissing: true });
    const b = await runB.then(
      () => undefined,
      (err: Error) => err,
    );
    gated.open();
    await runA;
    expect(b?.message).toMatch(/another indexer \(pid \d+\) is writing/);
    expect(await indexedIds(d)).toEqual(
      SAMPLE_PRODUCTS.slice(0, 4)
        .map((p) => p.id)
        .sort(),
    );
    expect(fs.existsSync(path.join(d, 'indexer.lock'))).toBe(false);
    // Run again once A is done, B goes through and its catalog is the index.
    await indexCatalog({ catalogPath: catB, dataDir: d, embedder: new HashEmbedder(), deleteMissing: true });
    expect(await indexedIds(d)).toEqual(
      SAMPLE_PRODUCTS.slice(4)
        .map((p) => p.id)
        .sort(),
    );
  });
});
