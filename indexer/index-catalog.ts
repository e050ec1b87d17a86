import { productText, type Product } from '../core/catalog/product.ts';
import { readCatalog, type RowError } from '../core/catalog/read.ts';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { ImageEmbedder, TextEmbedder } from '../core/embedding/embedder.ts';
import { modelRef, type TextModelRef } from '../core/embedding/text-models.ts';
import { ANALYZER_VERSION } from '../core/text/analyze.ts';
import { EmbeddedBackend } from '../retrieval/index/embedded/embedded-backend.ts';
import type { BackendSnapshot, IndexBackend, WriterLock } from '../retrieval/index/index-backend.ts';
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
  /** Where the time went (a run that failed has none). */
  phases_ms?: IndexPhases;
}

/**
 * A run's time by phase, ms: how long a live change (a price) takes to be written, and where,
 * for the logs, the catalog endpoint's answer and the freshness bench.
 */
export interface IndexPhases {
  /** Taking the writer lock. */
  lock: number;
  /** Reading the served index: the products partial updates merge into, the hashes the diff compares. */
  read: number;
  /** Embedding what changed (an unchanged text comes from the cache). */
  embed: number;
  /** Opening the writer and writing the stores. */
  write: number;
  /** Making the write the served index (a generation switch, or the search engine's refresh). */
  commit: number;
}

/** Splits a run's wall time into its phases as it goes. */
class PhaseClock {
  private last = performance.now();
  private readonly ms: IndexPhases = { lock: 0, read: 0, embed: 0, write: 0, commit: 0 };

  /** Charges the time since the previous lap to `phase`. */
  lap(phase: keyof IndexPhases): void {
    const now = performance.now();
    this.ms[phase] += now - this.last;
    this.last = now;
  }

  result(): IndexPhases {
    const r = (x: number) => Math.round(x * 10) / 10;
    const m = this.ms;
    return { lock: r(m.lock), read: r(m.read), embed: r(m.embed), write: r(m.write), commit: r(m.commit) };
  }
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
  /**
   * Extra text models (embedder.extra_models): one more vector set each in the same generation, so
   * an experiment can search with them. A change in this list rebuilds fresh, like a new embedder.
   */
  extraEmbedders?: readonly TextEmbedder[] | undefined;
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
  const summary = await syncIndex({
    ...target(opts),
    embedder: opts.embedder,
    extraEmbedders: opts.extraEmbedders ?? [],
    upserts: products,
    deletes: [],
    deleteMissing: opts.deleteMissing ?? false,
    progress: opts.progress ?? silentProgress,
    imageEmbedder: opts.imageEmbedder,
    imageBase: path.dirname(path.resolve(opts.catalogPath)),
  });
  return { ...summary, skipped: errors.length, errors, took_ms: performance.now() - t0 };
}

export interface ChangeOptions extends IndexTarget {
  changesPath: string;
  embedder: TextEmbedder;
  extraEmbedders?: readonly TextEmbedder[] | undefined;
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
  const clock = new PhaseClock();
  const to = target(opts);
  // Locked from the read of the stored products a partial update merges into to the commit:
  // another indexer's commit in between would be overwritten with what this run read before it.
  // Another holder (a CLI run, the follower, another process's batch) makes this fail at once
  // with IndexBusyError, before anything is read or written.
  const lock = await to.backend.lockWriter();
  clock.lap('lock');
  try {
    return await withServed(to.backend, async (current) => {
      const { deletes } = opts.changes;
      let { upserts, errors } = opts.changes;
      if (opts.changes.updates && opts.changes.updates.length > 0) {
        // Partial updates merge into what the served index holds for those ids.
        const updates = opts.changes.updates;
        const stored = current ? await current.text.get(updates.map((u) => u.id)) : new Map<string, Product>();
        const resolved = resolveUpdates(updates, stored);
        upserts = [...upserts, ...resolved.upserts];
        errors = [...errors, ...resolved.errors].sort((a, b) => a.line - b.line);
      }
      if (opts.strict && errors.length > 0) throw new StrictModeError(errors);
      const plan: SyncPlan = {
        ...to,
        embedder: opts.embedder,
        extraEmbedders: opts.extraEmbedders ?? [],
        upserts,
        deletes,
        deleteMissing: false,
        progress: opts.progress ?? silentProgress,
        imageEmbedder: opts.imageEmbedder,
        imageBase: opts.imageBase,
      };
      const summary = await syncLocked(plan, lock, clock, current);
      return { ...summary, skipped: errors.length, errors, took_ms: performance.now() - t0 };
    });
  } finally {
    await lock.release();
  }
}

/**
 * The served index for the length of `fn`: one snapshot for the products a partial update
 * merges into and the hashes the diff compares (each open costs the production back end two
 * requests). Only products, hashes and metadata are read, not the vector graphs.
 */
async function withServed<T>(
  backend: IndexBackend,
  fn: (current: BackendSnapshot | undefined) => Promise<T>,
): Promise<T> {
  const current = await backend.openSnapshot({ vectors: false });
  try {
    return await fn(current);
  } finally {
    await current?.close();
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
  extraEmbedders: readonly TextEmbedder[];
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
/** Up to this many products named, a run reads their hashes by id instead of every hash. */
const HASHES_BY_ID = 10_000;

type SyncResult = Omit<IndexSummary, 'skipped' | 'errors' | 'took_ms'>;

/**
 * The one write path: diff against the served index by content hash, embed what changed
 * (through the crash-safe cache), write, switch. Running it twice with the same input writes
 * nothing the second time.
 *
 * The writer lock is taken before the served index is read: a diff is only valid against the
 * index it is written into, so a second run waits its turn (fails at once, naming the holder)
 * instead of writing a diff computed against an index the first run is about to replace.
 */
async function syncIndex(plan: SyncPlan): Promise<SyncResult> {
  const clock = new PhaseClock();
  const lock = await plan.backend.lockWriter();
  clock.lap('lock');
  try {
    return await withServed(plan.backend, (current) => syncLocked(plan, lock, clock, current));
  } finally {
    await lock.release();
  }
}

/** Under the writer lock, against `current` (the served index, read under that lock). */
async function syncLocked(
  plan: SyncPlan,
  lock: WriterLock,
  clock: PhaseClock,
  current: BackendSnapshot | undefined,
): Promise<SyncResult> {
  const { backend, embedder, progress } = plan;
  const extras = extraModels(embedder, plan.extraEmbedders);
  const extra = extras.map(modelRef);
  let oldHashes = new Map<string, string>();
  let carried: Product[] = [];
  let fresh = false;
  if (current) {
    fresh =
      current.embedderId !== embedder.id ||
      current.meta.dim !== embedder.dim ||
      current.imageEmbedderId !== plan.imageEmbedder?.id ||
      // Another set of extra text models: their vector sets are made for every product.
      sameModels(current.meta.extraModels ?? [], extra) === false ||
      // Another tokenizer (an index from before Chinese word segmentation): the text index is
      // rebuilt; vectors come back from the embedding cache, so nothing is re-embedded.
      (current.meta.analyzer !== undefined && current.meta.analyzer !== ANALYZER_VERSION);
    const mentioned = new Set([...plan.upserts.map((p) => p.id), ...plan.deletes]);
    // A live change (one price) compares against the hashes of the products it names, not every
    // hash of the index: on Elasticsearch that read grows with the catalog, paid per change batch.
    // A rebuild and --delete-missing need them all, and past HASHES_BY_ID one scan beats lookups.
    const named = !fresh && !plan.deleteMissing && mentioned.size <= HASHES_BY_ID && current.text.hashesOf;
    oldHashes = named ? await current.text.hashesOf!([...mentioned]) : await current.text.hashes();
    if (fresh) {
      // A new embedder means new vectors for everything: rebuild from scratch, carrying over
      // indexed products this run does not mention (unless they are to be deleted).
      const keep = [...oldHashes.keys()].filter((id) => !mentioned.has(id) && !plan.deleteMissing);
      for (let i = 0; i < keep.length; i += READ_BATCH)
        carried.push(...(await current.text.get(keep.slice(i, i + READ_BATCH))).values());
    }
  }
  clock.lap('read');

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
      phases_ms: clock.result(),
    };
  }

  const cache = new EmbeddingCache(plan.cacheDir);
  let vectors: Float32Array[];
  let hits: number;
  const extraVectors = toWrite.map(() => new Map<string, Float32Array>());
  let images: ImageVectors = { vectors: new Map(), failures: [] };
  try {
    progress.start('embed', toWrite.length);
    ({ vectors, hits } = await cache.embed(
      embedder,
      toWrite.map(({ product }) => ({ hash: textHash(product), text: productText(product) })),
      { onProgress: (n) => progress.update(n) },
    ));
    progress.stop();
    for (const model of extras) {
      progress.start(`embed ${model.id}`, toWrite.length);
      const r = await cache.embed(
        model,
        toWrite.map(({ product }) => ({ hash: textHash(product), text: productText(product) })),
        { onProgress: (n) => progress.update(n) },
      );
      progress.stop();
      r.vectors.forEach((v, i) => extraVectors[i]!.set(model.id, v));
    }
    if (plan.imageEmbedder) images = await embedImages(cache, plan.imageEmbedder, toWrite, plan.imageBase, progress);
  } finally {
    cache.close();
  }
  clock.lap('embed');

  const isFresh = fresh || !current;
  const writer = await backend.beginWrite({
    embedderId: embedder.id,
    dim: embedder.dim,
    ...(embedder.modelDir !== undefined && { embedderDir: embedder.modelDir }),
    ...(extra.length > 0 && { extra }),
    fresh: isFresh,
    lock,
    analyzer: ANALYZER_VERSION,
    ...(plan.imageEmbedder && { image: { embedderId: plan.imageEmbedder.id, dim: plan.imageEmbedder.dim } }),
  });
  // A fresh build is all or nothing; an incremental one reports what failed and keeps the rest.
  const writes = new StoreWrites(writer, isFresh ? 'throw' : 'report', plan.retry);
  try {
    progress.start('write', toWrite.length + toDelete.length);
    for (let i = 0; i < toWrite.length; i += WRITE_BATCH) {
      const batch = toWrite.slice(i, i + WRITE_BATCH);
      await writes.upsert(
        batch.map((b, j) => ({
          ...b,
          vector: vectors[i + j]!,
          image: images.vectors.get(b.product.id),
          extra: extraVectors[i + j],
        })),
      );
      progress.update(i + batch.length);
    }
    for (let i = 0; i < toDelete.length; i += WRITE_BATCH) await writes.delete(toDelete.slice(i, i + WRITE_BATCH));
    progress.update(toWrite.length + toDelete.length);
    progress.stop();
    clock.lap('write');
    await writer.commit();
    clock.lap('commit');
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
    phases_ms: clock.result(),
  };
}

/** The extra models an index holds: each once, never the main model again. */
function extraModels(main: TextEmbedder, extra: readonly TextEmbedder[]): TextEmbedder[] {
  const seen = new Set([main.id]);
  return extra.filter((e) => !seen.has(e.id) && seen.add(e.id));
}

const sameModels = (a: readonly TextModelRef[], b: readonly TextModelRef[]) =>
  a.map((m) => `${m.id}/${m.dim}`).join(',') === b.map((m) => `${m.id}/${m.dim}`).join(',');

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
