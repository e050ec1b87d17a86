import type { Dependency } from '../../core/dependencies.ts';
import type { TextModelRef } from '../../core/embedding/text-models.ts';
import type { RetrievalConfig } from './config.ts';
import type { IndexSnapshot, TextStore, VectorStore } from './stores.ts';

/**
 * Where the index lives: the embedded folder (SQLite FTS5 + hnswlib generations) or the
 * production servers (Elasticsearch + Qdrant behind aliases). The indexer writes through a
 * backend and the searcher reads through one; neither knows which it holds.
 */

/** What every index records about how its vectors were made. */
export interface IndexMeta {
  embedderId?: string | undefined;
  dim?: number | undefined;
  /** The folder the text model was loaded from, so a service can load the same model (absent: none recorded). */
  embedderDir?: string | undefined;
  /** The extra text models (embedder.extra_models): one more vector set each, in this index. */
  extraModels?: TextModelRef[] | undefined;
  imageEmbedderId?: string | undefined;
  imageDim?: number | undefined;
  /**
   * The text analyzer the index was tokenized with (core/text/analyze.ts ANALYZER_VERSION). An
   * index from another analyzer is rebuilt by the next indexer run: its tokens would not match
   * this build's queries.
   */
  analyzer?: string | undefined;
}

/** A served snapshot plus the metadata the indexer needs to decide between incremental and fresh. */
export interface BackendSnapshot extends IndexSnapshot {
  readonly meta: IndexMeta;
}

export interface WriteOptions {
  embedderId: string;
  dim: number;
  /** The text model's folder, recorded with the index. */
  embedderDir?: string | undefined;
  /** Extra text models: the writer opens one more vector set per model (`extraVectors`). */
  extra?: TextModelRef[] | undefined;
  /** The image model, when product images are indexed. */
  image?: { embedderId: string; dim: number } | undefined;
  /**
   * Build an empty index beside the served one and switch to it at commit (an embedder change,
   * or a first build). Otherwise write into (a copy of) the served index.
   */
  fresh: boolean;
  /**
   * The writer lock the caller already holds (from lockWriter()): the write runs under it and
   * leaves releasing it to the caller. Without it, beginWrite takes the lock itself and releases
   * it at commit or abort.
   */
  lock?: WriterLock | undefined;
  /** The analyzer the text store tokenizes with (recorded in the index's metadata). */
  analyzer?: string | undefined;
}

/** One writer at a time per index (a folder's indexer.lock, a namespace's lease). */
export interface WriterLock {
  /** Gives the lock up; idempotent. */
  release(): Promise<void>;
}

export interface IndexWriter {
  /** Names the index being written; it is the served generation after commit(). */
  readonly generation: string;
  readonly text: TextStore;
  readonly vectors: VectorStore;
  readonly images: VectorStore | undefined;
  /** The vector set of each extra text model, by model id (empty without extra models). */
  readonly extraVectors: ReadonlyMap<string, VectorStore>;
  /** Makes the written index the served one, atomically for readers. */
  commit(): Promise<void>;
  /** Throws away what a fresh build wrote; the served index is untouched. Idempotent. */
  abort(): Promise<void>;
}

export interface OpenSnapshotOptions {
  /** false: the caller only reads products, hashes and metadata (embedded: skip loading the graphs). */
  vectors?: boolean;
  /** Search settings; each backend applies those that concern it (HNSW breadth, BM25 match mode). */
  retrieval?: RetrievalConfig;
}

/**
 * Another writer holds the index (the embedded folder's `indexer.lock`, or the namespace's lease
 * on the servers): callers answer "busy, retry later" instead of waiting on it.
 */
export class IndexBusyError extends Error {}

export interface IndexBackend {
  readonly kind: 'embedded' | 'production';
  /** Cheap: a token that changes whenever a different index starts being served; undefined when none. */
  currentGeneration(): Promise<string | undefined>;
  /** The served index, or undefined when nothing was indexed yet. Close it after use. */
  openSnapshot(opts?: OpenSnapshotOptions): Promise<BackendSnapshot | undefined>;
  /**
   * Takes the writer lock, or fails at once with IndexBusyError (naming the holder) when another
   * writer has it, in this process or another. An indexer takes it before reading the served
   * index to compute its diff (and a partial update before reading the products it merges into),
   * so two runs serialise instead of both writing diffs computed against the same index.
   */
  lockWriter(): Promise<WriterLock>;
  beginWrite(opts: WriteOptions): Promise<IndexWriter>;
  /** Servers this backend needs, for the start-up check and /readyz. */
  dependencies(): Dependency[];
  close(): Promise<void>;
}
