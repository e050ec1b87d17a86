import { productText, type Product } from '../core/catalog/product.ts';
import { readCatalog, type RowError } from '../core/catalog/read.ts';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { ImageEmbedder, TextEmbedder } from '../core/embedding/embedder.ts';
import { EmbeddedBackend } from '../retrieval/index/embedded/embedded-backend.ts';
import type { IndexBackend } from '../retrieval/index/index-backend.ts';
import { EmbeddingCache } from './embedding-cache.ts';
import { contentHash, textHash } from './hash.ts';
import { silentProgress, type Progress } from './progress.ts';
import { readChanges, resolveUpdates, type ChangeSet } from './changes.ts';
import type { RetryPolicy } from './retry.ts';
import { StoreWrites, type WriteFailure } from './store-writes.ts';

export interface IndexSummary {
  /** Products written (new or changed). */
  indexed: number;
  unchanged: number;
  /** Bad rows left out. */
  skipped: number;
  deleted: number;
  /** Embeddings computed this run (the rest came from the cache). */
  embedded: number;
  errors: RowError[];
  /** Products whose image could not be embedded (they stay searchable by text). */
  imageFailures: Array<{ id: string; reason: string }>;
  /** The generation now served (unchanged when there was nothing to do). */
  generation: string | undefined;
  /**
   * Incremental writes that still failed after their retries (a fresh build throws instead).
   * Non-empty means the stores may disagree: the CLI exits non-zero and `--verify` repairs.
   */
  writeFailures: WriteFailure[];
  took_ms: number;
}

export class StrictModeError extends Error {
  constructor(readonly errors: RowError[]) {
    super(
      `${errors.length} bad row(s); --strict refuses to index: ${errors
        .slice(0, 3)
        .map((e) => `line ${e.line}: ${e.reason}`)
        .join('; ')}`,
    );
  }
}

/** Where the index is written, shared by every entry point. */
export interface IndexTarget {
  /**
   * Local folder of the embedding cache; also the index itself when no `backend` is given
   * (the embedded engine's generations).
   */
  dataDir: string;
  /** Where the index lives (embedded folder or Elasticsearch + Qdrant); default: embedded in dataDir. */
  backend?: IndexBackend | undefined;
  /** Retries of each store write (default: 3 tries, 250 ms then 500 ms apart). */
  retry?: RetryPolicy | undefined;
}

export interface IndexOptions extends IndexTarget {
  catalogPath: string;
  embedder: TextEmbedder;
  /** Remove indexed products that are absent from the catalog file. */
  deleteMissing?: boolean;
  strict?: boolean;
  progress?: Progress;
  /** Embeds product images too (CLIP); relative image paths resolve against the catalog's folder. */
  imageEmbedder?: ImageEmbedder;
}

/** Indexes a whole catalog file: only new and changed products are written. */
export async function indexCatalog(opts: IndexOptions): Promise<IndexSummary> {
  const t0 = performance.now();
  const { products, errors } = await readCatalog(opts.catalogPath);
  if (opts.strict && errors.length > 0) throw new StrictModeError(errors);
  const to = target(opts);
  const summary = await withWriteLock(to.backend, () =>
    syncIndex({
      ...to,
      embedder: opts.embedder,
      upserts: products,
      deletes: [],
      deleteMissing: opts.deleteMissing ?? false,
      progress: opts.progress ?? silentProgress,
      imageEmbedder: opts.imageEmbedder,
      imageBase: path.dirname(path.resolve(opts.catalogPath)),
    }),
  );
  return { ...summary, skipped: errors.length, errors, took_ms: performance.now() - t0 };
}

export interface ChangeOptions extends IndexTarget {
  changesPath: string;
  embedder: TextEmbedder;
  strict?: boolean;
  progress?: Progress;
  imageEmbedder?: ImageEmbedder;
}

/** Applies a change file of {op: "upsert"|"delete", product} lines, in file order. */
export async function applyChangeFile(opts: ChangeOptions): Promise<IndexSummary> {
  const changes = await readChanges(opts.changesPath);
  return applyChanges({ ...opts, changes, imageBase: path.dirname(path.resolve(opts.changesPath)) });
}

export interface ChangeSetOptions extends Omit<ChangeOptions, 'changesPath'> {
  changes: ChangeSet;
  /** Relative image paths resolve against this folder. */
  imageBase: string;
}

/** Applies changes already read (a change file, or a batch from the catalog topic). */
export async function applyChanges(opts: ChangeSetOptions): Promise<IndexSummary> {
  const t0 = performance.now();
  const to = target(opts);
  // Locked from the read of the stored products to the commit: another indexer's commit in
  // between would be overwritten with what this run read before it.
  return withWriteLock(to.backend, async () => {
    const { deletes } = opts.changes;
    let { upserts, errors } = opts.changes;
    if (opts.changes.updates && opts.changes.updates.length > 0) {
      // Partial updates merge into what the served index holds for those ids.
      const updates = opts.changes.updates;
      const current = await to.backend.openSnapshot({ vectors: false });
      let stored = new Map<string, Product>();
      try {
        if (current) stored = await current.text.get(updates.map((u) => u.id));
      } finally {
        await current?.close();
      }
      const resolved = resolveUpdates(updates, stored);
      upserts = [...upserts, ...resolved.upserts];
      errors = [...errors, ...resolved.errors].sort((a, b) => a.line - b.line);
    }
    if (opts.strict && errors.length > 0) throw new StrictModeError(errors);
    const summary = await syncIndex({
      ...to,
      embedder: opts.embedder,
      upserts,
      deletes,
      deleteMissing: false,
      progress: opts.progress ?? silentProgress,
      imageEmbedder: opts.imageEmbedder,
      imageBase: opts.imageBase,
    });
    return { ...summary, skipped: errors.length, errors, took_ms: performance.now() - t0 };
  });
}

/**
 * Holds the backend's writer lock (when it has one) from the read the run diffs against to its
 * commit, so a concurrent indexer (the CLI, the service's catalog endpoint) waits its turn
 * instead of interleaving: it fails fast with IndexBusyError.
 */
async function withWriteLock<T>(backend: IndexBackend, fn: () => Promise<T>): Promise<T> {
  const release = await backend.lockWrites?.();
  try {
    return await fn();
  } finally {
    await release?.();
  }
}

function target(t: IndexTarget): SyncTarget {
  return { cacheDir: t.dataDir, backend: t.backend ?? new EmbeddedBackend(t.dataDir), retry: t.retry };
}

interface SyncTarget {
  cacheDir: string;
  backend: IndexBackend;
  retry: RetryPolicy | undefined;
}

interface SyncPlan extends SyncTarget {
  embedder: TextEmbedder;
  upserts: Product[];
  deletes: string[];
  deleteMissing: boolean;
  progress: Progress;
  imageEmbedder: ImageEmbedder | undefined;
  imageBase: string;
}

const WRITE_BATCH = 512;
/** Products fetched per request when a rebuild carries the indexed catalog over. */
const READ_BATCH = 1000;

/**
 * The one write path: diff against the served index by content hash, embed what changed
 * (through the crash-safe cache), write, switch. Running it twice with the same input writes
 * nothing the second time.
 */
async function syncIndex(plan: SyncPlan): Promise<Omit<IndexSummary, 'skipped' | 'errors' | 'took_ms'>> {
  const { backend, embedder, progress } = plan;
  // Only hashes, products and metadata are needed here, not the vector graphs.
  const current = await backend.openSnapshot({ vectors: false });
  let oldHashes = new Map<string, string>();
  let carried: Product[] = [];
  let fresh = false;
  try {
    if (current) {
      oldHashes = await current.text.hashes();
      fresh =
        current.embedderId !== embedder.id ||
        current.meta.dim !== embedder.dim ||
        current.imageEmbedderId !== plan.imageEmbedder?.id;
      if (fresh) {
        // A new embedder means new vectors for everything: rebuild from scratch, carrying over
        // indexed products this run does not mention (unless they are to be deleted).
        const mentioned = new Set([...plan.upserts.map((p) => p.id), ...plan.deletes]);
        const keep = [...oldHashes.keys()].filter((id) => !mentioned.has(id) && !plan.deleteMissing);
        for (let i = 0; i < keep.length; i += READ_BATCH)
          carried.push(...(await current.text.get(keep.slice(i, i + READ_BATCH))).values());
      }
    }
  } finally {
    await current?.close();
  }

  const toWrite: Array<{ product: Product; hash: string }> = [];
  let unchanged = 0;
  for (const product of [...plan.upserts, ...carried]) {
    const hash = contentHash(product);
    if (!fresh && oldHashes.get(product.id) === hash) unchanged++;
    else toWrite.push({ product, hash });
  }
  const upsertIds = new Set(plan.upserts.map((p) => p.id));
  const toDelete = fresh
    ? []
    : [
        ...new Set([
          ...plan.deletes.filter((id) => oldHashes.has(id) && !upsertIds.has(id)),
          ...(plan.deleteMissing ? [...oldHashes.keys()].filter((id) => !upsertIds.has(id)) : []),
        ]),
      ];
  const carriedIds = new Set(carried.map((p) => p.id));
  // A fresh rebuild drops by omission whatever is neither upserted nor carried over.
  const deletedCount = fresh
    ? [...oldHashes.keys()].filter((id) => !upsertIds.has(id) && !carriedIds.has(id)).length
    : toDelete.length;

  if (!fresh && current && toWrite.length === 0 && toDelete.length === 0) {
    return {
      indexed: 0,
      unchanged,
      deleted: 0,
      embedded: 0,
      imageFailures: [],
      generation: current.generation,
      writeFailures: [],
    };
  }

  const cache = new EmbeddingCache(plan.cacheDir);
  let vectors: Float32Array[];
  let hits: number;
  let images: ImageVectors = { vectors: new Map(), failures: [] };
  try {
    progress.start('embed', toWrite.length);
    ({ vectors, hits } = await cache.embed(
      embedder,
      toWrite.map(({ product }) => ({ hash: textHash(product), text: productText(product) })),
      { onProgress: (n) => progress.update(n) },
    ));
    progress.stop();
    if (plan.imageEmbedder) images = await embedImages(cache, plan.imageEmbedder, toWrite, plan.imageBase, progress);
  } finally {
    cache.close();
  }

  const isFresh = fresh || !current;
  const writer = await backend.beginWrite({
    embedderId: embedder.id,
    dim: embedder.dim,
    fresh: isFresh,
    ...(plan.imageEmbedder && { image: { embedderId: plan.imageEmbedder.id, dim: plan.imageEmbedder.dim } }),
  });
  // A fresh build is all or nothing; an incremental one reports what failed and keeps the rest.
  const writes = new StoreWrites(writer, isFresh ? 'throw' : 'report', plan.retry);
  try {
    progress.start('write', toWrite.length + toDelete.length);
    for (let i = 0; i < toWrite.length; i += WRITE_BATCH) {
      const batch = toWrite.slice(i, i + WRITE_BATCH);
      await writes.upsert(
        batch.map((b, j) => ({ ...b, vector: vectors[i + j]!, image: images.vectors.get(b.product.id) })),
      );
      progress.update(i + batch.length);
    }
    for (let i = 0; i < toDelete.length; i += WRITE_BATCH) await writes.delete(toDelete.slice(i, i + WRITE_BATCH));
    progress.update(toWrite.length + toDelete.length);
    progress.stop();
    await writer.commit();
  } catch (err) {
    progress.stop();
    await writer.abort();
    throw err;
  }
  return {
    indexed: toWrite.length - carried.length,
    unchanged: unchanged,
    deleted: deletedCount,
    embedded: toWrite.length - hits,
    imageFailures: images.failures,
    generation: writer.generation,
    writeFailures: writes.failures,
  };
}

interface ImageVectors {
  vectors: Map<string, Float32Array>;
  failures: Array<{ id: string; reason: string }>;
}

/**
 * Image vectors for the products that have an image. The cache key includes the file's size and
 * mtime, so a replaced image file is re-embedded even when the catalog row did not change.
 */
export async function embedImages(
  cache: EmbeddingCache,
  model: ImageEmbedder,
  items: Array<{ product: Product }>,
  base: string,
  progress: Progress,
): Promise<ImageVectors> {
  const out: ImageVectors = { vectors: new Map(), failures: [] };
  const jobs: Array<{ id: string; hash: string; text: string }> = [];
  for (const { product } of items) {
    if (!product.image) continue;
    const src = /^[a-z]+:\/\//i.test(product.image) ? product.image : path.resolve(base, product.image);
    let stamp = '';
    if (!src.includes('://')) {
      try {
        const st = fs.statSync(src);
        stamp = `${st.size}:${st.mtimeMs}`;
      } catch (err) {
        out.failures.push({
          id: product.id,
          reason: `image ${product.image}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        });
        continue;
      }
    }
    jobs.push({
      id: product.id,
      hash: createHash('sha256').update(`${src}\n${stamp}`).digest('hex').slice(0, 32),
      text: src,
    });
  }
  progress.start('images', jobs.length);
  const run = async (inputs: string[]) => model.embedImages(inputs);
  const BATCH = 16;
  for (let i = 0; i < jobs.length; i += BATCH) {
    const batch = jobs.slice(i, i + BATCH);
    try {
      const { vectors } = await cache.embedWith({ id: model.id, dim: model.dim, run }, batch);
      batch.forEach((j, k) => out.vectors.set(j.id, vectors[k]!));
    } catch {
      // One unreadable image must not cost its batch: retry one by one and report the bad ones.
      for (const j of batch) {
        try {
          const { vectors } = await cache.embedWith({ id: model.id, dim: model.dim, run }, [j]);
          out.vectors.set(j.id, vectors[0]!);
        } catch (err) {
          out.failures.push({ id: j.id, reason: `image ${j.text}: ${(err as Error).message}` });
        }
      }
    }
    progress.update(Math.min(i + BATCH, jobs.length));
  }
  progress.stop();
  return out;
}
