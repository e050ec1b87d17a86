import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseProduct } from '../core/catalog/product.ts';
import { EmbeddedBackend } from '../retrieval/index/embedded/embedded-backend.ts';
import { openSearcher } from '../retrieval/recall/searcher.ts';
import { FlakyBackend, injectDrift } from '../test/helpers/backends.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../test/helpers/catalog.ts';
import { HashEmbedder } from '../test/helpers/embedders.ts';
import { contentHash } from './hash.ts';
import { applyChangeFile, indexCatalog } from './index-catalog.ts';
import { inspect, verifyIndex } from './verify.ts';

const NO_WAIT = { attempts: 3, baseDelayMs: 0 };
let dir: string;
let dataDir: string;
let catalog: string;
const embedder = new HashEmbedder();

beforeEach(() => {
  dir = tempDir();
  dataDir = path.join(dir, 'data');
  catalog = writeJsonl(path.join(dir, 'catalog.jsonl'), SAMPLE_PRODUCTS);
});

const product = (raw: unknown) => {
  const r = parseProduct(raw);
  if (!r.ok) throw new Error(r.reason);
  return r.product;
};

async function vectorIds(q: string): Promise<string[]> {
  const s = await openSearcher({ dataDir, embedder });
  try {
    return (await s.search({ q, size: 20, routes: ['vector'] })).items.map((i) => i.id);
  } finally {
    await s.close();
  }
}

describe('store writes: retry, abort, report', () => {
  it('retries a store that fails twice and succeeds on the third try', async () => {
    const backend = new FlakyBackend(dataDir, { store: 'vectors', op: 'upsert', failures: 2 });
    const sum = await indexCatalog({ catalogPath: catalog, dataDir, backend, embedder, retry: NO_WAIT });
    expect(backend.calls).toBe(2);
    expect(sum.writeFailures).toEqual([]);
    expect((await inspect(backend)).consistent).toBe(true);
  });

  it('aborts a fresh build when a store keeps failing: nothing half-built is served', async () => {
    const backend = new FlakyBackend(dataDir, { store: 'vectors', op: 'upsert', failures: Infinity });
    await expect(indexCatalog({ catalogPath: catalog, dataDir, backend, embedder, retry: NO_WAIT })).rejects.toThrow(
      /vectors store unavailable/,
    );
    expect(await backend.currentGeneration()).toBeUndefined();
    expect(backend.calls).toBe(3);
  });

  it('reports an incremental write that keeps failing, keeps the rest, and the next run catches up', async () => {
    await indexCatalog({ catalogPath: catalog, dataDir, embedder });
    const backend = new FlakyBackend(dataDir, { store: 'vectors', op: 'upsert', failures: Infinity });
    const changes = writeJsonl(path.join(dir, 'ch.jsonl'), [
      { op: 'upsert', product: { id: 'p9', title: 'Kindle Paperwhite e-reader' } },
      { op: 'delete', product: { id: 'p3' } },
    ]);
    const sum = await applyChangeFile({ changesPath: changes, dataDir, backend, embedder, retry: NO_WAIT });
    expect(sum.writeFailures).toEqual([
      { store: 'vectors', op: 'upsert', ids: ['p9'], reason: 'vectors store unavailable' },
    ]);
    // The delete went through; the failed upsert was kept out of the text store too, so the
    // stores still agree and the product still counts as new.
    const snap = (await backend.openSnapshot())!;
    expect([...(await snap.text.hashes()).keys()].sort()).toEqual(['p1', 'p2', 'p4', 'p5', 'p6', 'p7', 'p8']);
    await snap.close();
    expect((await inspect(backend)).consistent).toBe(true);

    backend.fail = undefined;
    const again = await applyChangeFile({ changesPath: changes, dataDir, backend, embedder, retry: NO_WAIT });
    expect(again).toMatchObject({ indexed: 1, writeFailures: [] });
    expect(await vectorIds('kindle paperwhite')).toContain('p9');
  });

  it('a text write that keeps failing leaves drift that --verify repairs', async () => {
    await indexCatalog({ catalogPath: catalog, dataDir, embedder });
    const backend = new FlakyBackend(dataDir, { store: 'text', op: 'upsert', failures: Infinity });
    const changed = { ...SAMPLE_PRODUCTS[2]!, title: 'Lodge Cast Iron Grill Pan' };
    const sum = await applyChangeFile({
      changesPath: writeJsonl(path.join(dir, 'ch.jsonl'), [{ op: 'upsert', product: changed }]),
      dataDir,
      backend,
      embedder,
      retry: NO_WAIT,
    });
    expect(sum.writeFailures).toMatchObject([{ store: 'text', op: 'upsert', ids: ['p3'] }]);
    expect((await inspect(backend)).vectors.mismatched).toEqual(['p3']);

    const report = await verifyIndex({ dataDir, embedder, retry: NO_WAIT });
    expect(report.before.vectors.mismatched).toEqual(['p3']);
    expect(report.after.consistent).toBe(true);
    // The text store is the reference: the vector is back to the stored (old) product.
    const snap = (await new EmbeddedBackend(dataDir).openSnapshot())!;
    expect((await snap.vectors!.hashes()).get('p3')).toBe(contentHash(product(SAMPLE_PRODUCTS[2])));
    await snap.close();
  });
});

describe('verifyIndex', () => {
  it('finds missing, extra and mismatched vectors and repairs them from the text store', async () => {
    await indexCatalog({ catalogPath: catalog, dataDir, embedder });
    const backend = new EmbeddedBackend(dataDir);
    const stray = product({ id: 'ghost', title: 'Ghost product' });
    await injectDrift(backend, async (w) => {
      await w.vectors.delete(['p1', 'p5']);
      const [v] = await embedder.embedTexts(['Ghost product'], 'document');
      await w.vectors.upsert([{ product: stray, hash: 'h-ghost', vector: v! }]);
      const p3 = product(SAMPLE_PRODUCTS[2]);
      const [v3] = await embedder.embedTexts(['something else'], 'document');
      await w.vectors.upsert([{ product: p3, hash: 'stale', vector: v3! }]);
    });
    expect(await vectorIds('Nike Air Zoom Pegasus Running Shoes')).not.toContain('p1');

    const check = await verifyIndex({ dataDir, embedder, repair: false });
    expect(check.before).toMatchObject({
      consistent: false,
      text: { count: 8 },
      vectors: { count: 7, missing: ['p1', 'p5'], extra: ['ghost'], mismatched: ['p3'] },
    });
    expect(check.after).toBe(check.before);

    const textsBefore = embedder.texts;
    const report = await verifyIndex({ dataDir, embedder });
    expect(report.repaired).toBe(4);
    expect(report.failures).toEqual([]);
    expect(report.after).toMatchObject({
      consistent: true,
      vectors: { count: 8, missing: [], extra: [], mismatched: [] },
    });
    // Re-embedding went through the cache: the model ran for nothing it had seen.
    expect(embedder.texts).toBe(textsBefore);
    expect((await vectorIds('Nike Air Zoom Pegasus Running Shoes'))[0]).toBe('p1');
    expect(await vectorIds('Ghost product')).not.toContain('ghost');

    const clean = await verifyIndex({ dataDir, embedder });
    expect(clean).toMatchObject({ repaired: 0, before: { consistent: true } });
  });

  it('reports a repair that fails, leaving the drift visible', async () => {
    await indexCatalog({ catalogPath: catalog, dataDir, embedder });
    await injectDrift(new EmbeddedBackend(dataDir), (w) => w.vectors.delete(['p2']));
    const backend = new FlakyBackend(dataDir, { store: 'vectors', op: 'upsert', failures: Infinity });
    const report = await verifyIndex({ dataDir, backend, embedder, retry: NO_WAIT });
    expect(report.failures).toMatchObject([{ store: 'vectors', op: 'upsert', ids: ['p2'] }]);
    expect(report.repaired).toBe(0);
    expect(report.after.consistent).toBe(false);
    expect(report.after.vectors.missing).toEqual(['p2']);
  });

  it('refuses to repair with another embedder than the index was built with', async () => {
    await indexCatalog({ catalogPath: catalog, dataDir, embedder });
    await injectDrift(new EmbeddedBackend(dataDir), (w) => w.vectors.delete(['p2']));
    await expect(verifyIndex({ dataDir, embedder: new HashEmbedder(32) })).rejects.toThrow(
      /built with embedder hash-test:64.*rebuild/,
    );
  });

  it('an empty index is consistent', async () => {
    expect((await verifyIndex({ dataDir, embedder })).after).toMatchObject({ consistent: true, generation: undefined });
  });
});
