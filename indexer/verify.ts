import { productText, type Product } from '../core/catalog/product.ts';
import type { ImageEmbedder, TextEmbedder } from '../core/embedding/embedder.ts';
import { EmbeddedBackend } from '../retrieval/index/embedded/embedded-backend.ts';
import type { IndexBackend, WriterLock } from '../retrieval/index/index-backend.ts';
import type { TextStore } from '../retrieval/index/stores.ts';
import { EmbeddingCache } from './embedding-cache.ts';
import { textHash } from './hash.ts';
import { embedImages } from './index-catalog.ts';
import { silentProgress, type Progress } from './progress.ts';
import type { RetryPolicy } from './retry.ts';
import { StoreWrites, type WriteFailure } from './store-writes.ts';

/**
 * `npm run index -- --verify`: compares the ids and content hashes of the vector store(s)
 * with the text store and repairs the drift a failed write left behind.
 *
 * The text store holds the full products, so it is the reference:
 *  - an id missing from the vectors, or stored there with another hash, is re-embedded (through
 *    the embedding cache, so usually without running the model) and upserted;
 *  - an id only in the vectors is deleted there (the next catalog run re-adds the product if
 *    it is still in the catalog).
 * Image vectors are checked for extra and stale ids only: a product without an image vector
 * may simply have no image.
 */
export interface StoreDrift {
  count: number;
  /** In the text store, not here. */
  missing: string[];
  /** Here, not in the text store. */
  extra: string[];
  /** In both, with different content hashes. */
  mismatched: string[];
}

export interface DriftReport {
  generation: string | undefined;
  text: { count: number };
  vectors: StoreDrift;
  images?: StoreDrift | undefined;
  /** Each extra text model's vector set (embedder.extra_models), by model id. */
  extra?: Record<string, StoreDrift> | undefined;
  consistent: boolean;
}

export interface VerifyReport {
  before: DriftReport;
  /** After the repair; equal to `before` when nothing needed one (or repair was off). */
  after: DriftReport;
  /** Ids written or deleted by the repair. */
  repaired: number;
  failures: WriteFailure[];
  took_ms: number;
}

export interface VerifyOptions {
  /** Local folder of the embedding cache; also the embedded index when no backend is given. */
  dataDir: string;
  backend?: IndexBackend | undefined;
  embedder: TextEmbedder;
  /** The extra text models: their missing or stale vectors are re-embedded (a model not given is only checked). */
  extraEmbedders?: readonly TextEmbedder[] | undefined;
  /** Re-embeds stale image vectors; without it they are only removed. */
  imageEmbedder?: ImageEmbedder | undefined;
  /** Folder relative image paths resolve against (the catalog's). */
  imageBase?: string | undefined;
  /** false: report only. */
  repair?: boolean;
  retry?: RetryPolicy | undefined;
  progress?: Progress;
}

const READ_BATCH = 1000;
const WRITE_BATCH = 512;

export async function verifyIndex(opts: VerifyOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  const backend = opts.backend ?? new EmbeddedBackend(opts.dataDir);
  if (opts.repair === false) {
    const before = await inspect(backend);
    return { before, after: before, repaired: 0, failures: [], took_ms: performance.now() - t0 };
  }
  // A repair is a diff too: inspected and written under the writer lock, so an indexer run in
  // between cannot make it repair an index that is no longer served.
  const lock = await backend.lockWriter();
  try {
    const before = await inspect(backend);
    if (before.consistent) return { before, after: before, repaired: 0, failures: [], took_ms: performance.now() - t0 };
    const { repaired, failures } = await repair(backend, before, opts, lock);
    const after = await inspect(backend);
    return { before, after, repaired, failures, took_ms: performance.now() - t0 };
  } finally {
    await lock.release();
  }
}

/** Compares the served index's stores; no writes. */
export async function inspect(backend: IndexBackend): Promise<DriftReport> {
  const snap = await backend.openSnapshot();
  if (!snap)
    return { generation: undefined, text: { count: 0 }, vectors: drift(new Map(), new Map()), consistent: true };
  try {
    const text = await snap.text.hashes();
    const vectors = drift(text, snap.vectors ? await snap.vectors.hashes() : new Map());
    const images = snap.images ? drift(text, await snap.images.hashes(), { ignoreMissing: true }) : undefined;
    const extra: Record<string, StoreDrift> = {};
    for (const [id, store] of snap.extraVectors ?? []) extra[id] = drift(text, await store.hashes());
    const clean = (d: StoreDrift | undefined) => !d || d.missing.length + d.extra.length + d.mismatched.length === 0;
    return {
      generation: snap.generation,
      text: { count: text.size },
      vectors,
      images,
      ...(Object.keys(extra).length > 0 && { extra }),
      consistent: clean(vectors) && clean(images) && Object.values(extra).every(clean),
    };
  } finally {
    await snap.close();
  }
}

function drift(
  text: Map<string, string>,
  other: Map<string, string>,
  opts: { ignoreMissing?: boolean } = {},
): StoreDrift {
  const d: StoreDrift = { count: other.size, missing: [], extra: [], mismatched: [] };
  for (const [id, hash] of text) {
    const h = other.get(id);
    if (h === undefined) {
      if (!opts.ignoreMissing) d.missing.push(id);
    } else if (h !== hash) d.mismatched.push(id);
  }
  for (const id of other.keys()) if (!text.has(id)) d.extra.push(id);
  return d;
}

async function repair(
  backend: IndexBackend,
  found: DriftReport,
  opts: VerifyOptions,
  lock: WriterLock,
): Promise<{ repaired: number; failures: WriteFailure[] }> {
  const snap = await backend.openSnapshot({ vectors: false });
  if (!snap) return { repaired: 0, failures: [] };
  const { meta } = snap;
  await snap.close();
  const { embedder, imageEmbedder } = opts;
  if (meta.embedderId !== embedder.id || meta.dim !== embedder.dim) {
    throw new Error(
      `the index was built with embedder ${meta.embedderId} (${meta.dim}-d), not ${embedder.id} (${embedder.dim}-d): rebuild with --catalog instead`,
    );
  }
  const imageMeta =
    meta.imageEmbedderId !== undefined && meta.imageDim !== undefined
      ? { embedderId: meta.imageEmbedderId, dim: meta.imageDim }
      : undefined;
  // The writer must keep the served image index as it is, whatever model this run has.
  // The extra text models' vector sets stay as they are too (this run repairs the main set and images).
  const writer = await backend.beginWrite({
    embedderId: embedder.id,
    dim: embedder.dim,
    embedderDir: meta.embedderDir,
    extra: meta.extraModels,
    fresh: false,
    image: imageMeta,
    lock,
  });
  const writes = new StoreWrites(writer, 'report', opts.retry);
  const progress = opts.progress ?? silentProgress;
  let repaired = 0;
  const cache = new EmbeddingCache(opts.dataDir);
  try {
    const hashes = await writer.text.hashes();
    const v = found.vectors;
    await writes.deleteVectorsOnly(v.extra, 'vectors');
    repaired += v.extra.length;
    const stale = [...v.missing, ...v.mismatched];
    progress.start('repair', stale.length);
    for (let i = 0; i < stale.length; i += WRITE_BATCH) {
      const items = await storedProducts(writer.text, hashes, stale.slice(i, i + WRITE_BATCH));
      const { vectors } = await cache.embed(
        embedder,
        items.map(({ product }) => ({ hash: textHash(product), text: productText(product) })),
      );
      await writes.upsertVectorsOnly(
        items.map((it, j) => ({ ...it, vector: vectors[j]! })),
        'vectors',
      );
      repaired += items.length;
      progress.update(Math.min(i + WRITE_BATCH, stale.length));
    }
    progress.stop();

    for (const [modelId, d] of Object.entries(found.extra ?? {})) {
      const store = { extra: modelId };
      await writes.deleteVectorsOnly(d.extra, store);
      repaired += d.extra.length;
      const model = opts.extraEmbedders?.find((e) => e.id === modelId);
      if (!model) continue;
      const items = await storedProducts(writer.text, hashes, [...d.missing, ...d.mismatched]);
      for (let i = 0; i < items.length; i += WRITE_BATCH) {
        const batch = items.slice(i, i + WRITE_BATCH);
        const { vectors } = await cache.embed(
          model,
          batch.map(({ product }) => ({ hash: textHash(product), text: productText(product) })),
        );
        await writes.upsertVectorsOnly(
          batch.map((it, j) => ({ ...it, vector: vectors[j]! })),
          store,
        );
        repaired += batch.length;
      }
    }

    const im = found.images;
    if (im && writer.images) {
      await writes.deleteVectorsOnly([...im.extra, ...im.mismatched], 'images');
      repaired += im.extra.length;
      if (imageEmbedder && imageEmbedder.id === imageMeta?.embedderId) {
        const items = await storedProducts(writer.text, hashes, im.mismatched);
        const { vectors } = await embedImages(
          cache,
          imageEmbedder,
          items,
          opts.imageBase ?? process.cwd(),
          silentProgress,
        );
        const points = items
          .filter((it) => vectors.has(it.product.id))
          .map((it) => ({ ...it, vector: vectors.get(it.product.id)! }));
        await writes.upsertVectorsOnly(points, 'images');
        repaired += points.length;
      }
    }
    await writer.commit();
  } catch (err) {
    progress.stop();
    await writer.abort();
    throw err;
  } finally {
    cache.close();
  }
  const failedIds = new Set(writes.failures.flatMap((f) => f.ids));
  return { repaired: Math.max(0, repaired - failedIds.size), failures: writes.failures };
}

/** Products with the hash the text store keeps for them (the reference the vectors must match). */
async function storedProducts(
  text: TextStore,
  hashes: Map<string, string>,
  ids: string[],
): Promise<Array<{ product: Product; hash: string }>> {
  const out: Array<{ product: Product; hash: string }> = [];
  for (let i = 0; i < ids.length; i += READ_BATCH) {
    for (const [id, product] of await text.get(ids.slice(i, i + READ_BATCH)))
      out.push({ product, hash: hashes.get(id)! });
  }
  return out;
}
