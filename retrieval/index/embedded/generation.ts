import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { TextModelRef } from '../../../core/embedding/text-models.ts';
import { ANALYZER_VERSION, LEGACY_ANALYZER } from '../../../core/text/analyze.ts';
import type { IndexSnapshot } from '../stores.ts';
import { IndexBusyError } from '../index-backend.ts';
import { DEFAULT_HNSW, HnswVectorStore, type HnswParams } from './hnsw-vector-store.ts';
import { SqliteTextStore, type Bm25MatchMode } from './sqlite-text-store.ts';

/**
 * The embedded index lives in generations: DATA/gen-000042/{index.sqlite, vectors.hnsw}, and
 * DATA/CURRENT names the one being served. A writer builds the next generation beside the
 * current one and switches CURRENT with an atomic rename, so a crash mid-run leaves the served
 * index untouched and the half-written generation is swept by the next run.
 */
const CURRENT = 'CURRENT';
const DB_FILE = 'index.sqlite';
const GRAPH_FILE = 'vectors.hnsw';
const IMAGE_GRAPH_FILE = 'images.hnsw';
const IMAGE_TABLE = 'image_points';
const GEN_RE = /^gen-(\d{6,})$/;

/**
 * Each extra text model's vectors live beside the main ones: a graph file and a points table named
 * by a hash of the model id (stable across generations, safe as a file and table name).
 */
function extraSlug(modelId: string): string {
  return createHash('sha256').update(modelId).digest('hex').slice(0, 12);
}
export const extraGraphFile = (modelId: string) => `vectors-${extraSlug(modelId)}.hnsw`;
export const extraTable = (modelId: string) => `points_${extraSlug(modelId)}`;

export interface GenerationMeta {
  embedderId?: string;
  dim?: number;
  /** The folder the text model was loaded from. */
  embedderDir?: string;
  /** Extra text models, each with its own vector set in this generation. */
  extraModels?: TextModelRef[];
  imageEmbedderId?: string;
  imageDim?: number;
  /** The text analyzer the FTS rows were tokenized with. */
  analyzer: string;
  createdAt: string;
}

export function currentGeneration(dataDir: string): string | undefined {
  try {
    const name = fs.readFileSync(path.join(dataDir, CURRENT), 'utf8').trim();
    return GEN_RE.test(name) && fs.existsSync(path.join(dataDir, name, DB_FILE)) ? name : undefined;
  } catch {
    return undefined;
  }
}

function readMeta(db: Database.Database): GenerationMeta {
  const rows = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM meta').all();
  const m = Object.fromEntries(rows.map((r) => [r.key, r.value]));
  return {
    createdAt: m.created_at ?? '',
    analyzer: m.analyzer ?? LEGACY_ANALYZER,
    ...(m.embedder_id !== undefined && { embedderId: m.embedder_id }),
    ...(m.dim !== undefined && { dim: Number(m.dim) }),
    ...(m.embedder_dir !== undefined && { embedderDir: m.embedder_dir }),
    ...(m.extra_models !== undefined && { extraModels: JSON.parse(m.extra_models) as TextModelRef[] }),
    ...(m.image_embedder_id !== undefined && { imageEmbedderId: m.image_embedder_id }),
    ...(m.image_dim !== undefined && { imageDim: Number(m.image_dim) }),
  };
}

export class EmbeddedSnapshot implements IndexSnapshot {
  private constructor(
    readonly generation: string,
    readonly meta: GenerationMeta,
    readonly text: SqliteTextStore,
    readonly vectors: HnswVectorStore | undefined,
    readonly images: HnswVectorStore | undefined,
    readonly extraVectors: ReadonlyMap<string, HnswVectorStore>,
    private readonly db: Database.Database,
  ) {}

  get embedderId(): string | undefined {
    return this.meta.embedderId;
  }

  get imageEmbedderId(): string | undefined {
    return this.meta.imageEmbedderId;
  }

  /**
   * Opens the served generation read-only, or undefined when nothing was indexed yet.
   * `vectors: false` skips loading the HNSW graphs and vectors into memory: for callers that
   * only read products, hashes and metadata (the indexer's diff).
   */
  static open(
    dataDir: string,
    opts: { hnsw?: HnswParams; bm25Match?: Bm25MatchMode; vectors?: boolean } = {},
  ): EmbeddedSnapshot | undefined {
    const gen = currentGeneration(dataDir);
    if (!gen) return undefined;
    const dir = path.join(dataDir, gen);
    const db = new Database(path.join(dir, DB_FILE), { readonly: true, fileMustExist: true });
    const meta = readMeta(db);
    const text = new SqliteTextStore(db, { ...(opts.bm25Match && { matchMode: opts.bm25Match }) });
    const hnsw = opts.hnsw ?? DEFAULT_HNSW;
    const withVectors = opts.vectors ?? true;
    const vectors =
      withVectors && meta.dim ? HnswVectorStore.open(db, path.join(dir, GRAPH_FILE), meta.dim, hnsw) : undefined;
    const images =
      withVectors && meta.imageDim
        ? HnswVectorStore.open(db, path.join(dir, IMAGE_GRAPH_FILE), meta.imageDim, hnsw, IMAGE_TABLE)
        : undefined;
    const extraVectors = new Map<string, HnswVectorStore>();
    if (withVectors)
      for (const m of meta.extraModels ?? [])
        extraVectors.set(
          m.id,
          HnswVectorStore.open(db, path.join(dir, extraGraphFile(m.id)), m.dim, hnsw, extraTable(m.id)),
        );
    return new EmbeddedSnapshot(gen, meta, text, vectors, images, extraVectors, db);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

export interface WriterOptions {
  embedderId: string;
  dim: number;
  /** The text model's folder (recorded, so a service can load the same model). */
  embedderDir?: string | undefined;
  /** Extra text models: one more vector set each. */
  extra?: TextModelRef[] | undefined;
  /** The image model, when product images are indexed. */
  image?: { embedderId: string; dim: number };
  /** Start from an empty generation instead of a copy of the current one. */
  fresh?: boolean;
  hnsw?: HnswParams;
  /** The caller holds the folder's lock (acquireLock) and releases it; the writer neither takes nor frees it. */
  heldLock?: boolean;
}

/** Builds the next generation. Nothing is visible to readers until commit(). */
export class GenerationWriter {
  private done = false;

  private constructor(
    readonly dataDir: string,
    readonly generation: string,
    readonly base: string | undefined,
    /** The generation served when this one began (kept at commit: a searcher may still read it). */
    readonly previous: string | undefined,
    readonly text: SqliteTextStore,
    readonly vectors: HnswVectorStore,
    readonly images: HnswVectorStore | undefined,
    readonly extraVectors: ReadonlyMap<string, HnswVectorStore>,
    private readonly db: Database.Database,
    private readonly releaseLock: () => void,
  ) {}

  static begin(dataDir: string, opts: WriterOptions): GenerationWriter {
    fs.mkdirSync(dataDir, { recursive: true });
    const releaseLock = opts.heldLock ? () => {} : acquireLock(dataDir);
    try {
      const current = currentGeneration(dataDir);
      sweepAbandoned(dataDir, current);
      const next = nextGenerationName(dataDir);
      const dir = path.join(dataDir, next);
      fs.mkdirSync(dir);
      const base = opts.fresh ? undefined : current;
      if (base) {
        fs.copyFileSync(path.join(dataDir, base, DB_FILE), path.join(dir, DB_FILE));
        // Every graph: the text, image and extra models' ones.
        for (const f of fs.readdirSync(path.join(dataDir, base)).filter((f) => f.endsWith('.hnsw')))
          fs.copyFileSync(path.join(dataDir, base, f), path.join(dir, f));
      }
      const db = new Database(path.join(dir, DB_FILE));
      // A generation is thrown away on any crash, so the build needs no journal; durability
      // comes from the fsync at commit.
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
      db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      const setMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
      const prevDim = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'dim'").get();
      if (prevDim && Number(prevDim.value) !== opts.dim) {
        throw new Error(
          `generation ${base} has ${prevDim.value}-dimensional vectors, the embedder gives ${opts.dim}: rebuild with a fresh generation`,
        );
      }
      const prevAnalyzer = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'analyzer'").get();
      if (base && (prevAnalyzer?.value ?? LEGACY_ANALYZER) !== ANALYZER_VERSION) {
        throw new Error(
          `generation ${base} was tokenized by analyzer ${prevAnalyzer?.value ?? LEGACY_ANALYZER}, this build uses ${ANALYZER_VERSION}: rebuild with a fresh generation (npm run index -- --catalog …)`,
        );
      }
      const extra = opts.extra ?? [];
      const prevExtra = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'extra_models'").get();
      const ids = (refs: TextModelRef[]) => refs.map((r) => `${r.id}/${r.dim}`).join(',');
      if (base && ids(prevExtra ? (JSON.parse(prevExtra.value) as TextModelRef[]) : []) !== ids(extra)) {
        throw new Error(
          `generation ${base} holds other extra text models than ${ids(extra) || 'none'}: rebuild with a fresh generation`,
        );
      }
      setMeta.run('embedder_id', opts.embedderId);
      setMeta.run('dim', String(opts.dim));
      if (opts.embedderDir !== undefined) setMeta.run('embedder_dir', opts.embedderDir);
      else db.exec("DELETE FROM meta WHERE key = 'embedder_dir'");
      if (extra.length > 0) setMeta.run('extra_models', JSON.stringify(extra));
      else db.exec("DELETE FROM meta WHERE key = 'extra_models'");
      setMeta.run('created_at', new Date().toISOString());
      // A copied base tokenized by another analyzer is never mixed with new rows: the indexer
      // rebuilds fresh when the analyzer changes (index-catalog.ts), so this records the truth.
      setMeta.run('analyzer', ANALYZER_VERSION);
      if (opts.image) {
        setMeta.run('image_embedder_id', opts.image.embedderId);
        setMeta.run('image_dim', String(opts.image.dim));
      } else {
        db.exec(
          `DELETE FROM meta WHERE key IN ('image_embedder_id', 'image_dim'); DROP TABLE IF EXISTS ${IMAGE_TABLE}`,
        );
      }
      const text = new SqliteTextStore(db);
      const vectors = HnswVectorStore.open(db, path.join(dir, GRAPH_FILE), opts.dim, opts.hnsw);
      const images = opts.image
        ? HnswVectorStore.open(db, path.join(dir, IMAGE_GRAPH_FILE), opts.image.dim, opts.hnsw, IMAGE_TABLE)
        : undefined;
      const extraVectors = new Map(
        extra.map(
          (m) =>
            [
              m.id,
              HnswVectorStore.open(db, path.join(dir, extraGraphFile(m.id)), m.dim, opts.hnsw, extraTable(m.id)),
            ] as const,
        ),
      );
      return new GenerationWriter(dataDir, next, base, current, text, vectors, images, extraVectors, db, releaseLock);
    } catch (err) {
      releaseLock();
      throw err;
    }
  }

  /** Makes this generation the served one, atomically. */
  commit(): void {
    if (this.done) throw new Error('generation already committed or aborted');
    this.vectors.flush();
    this.images?.flush();
    for (const v of this.extraVectors.values()) v.flush();
    this.db.exec("INSERT INTO docs_fts(docs_fts) VALUES('optimize')");
    this.db.pragma('journal_mode = DELETE');
    this.db.close();
    const dir = path.join(this.dataDir, this.generation);
    for (const f of [DB_FILE, GRAPH_FILE, IMAGE_GRAPH_FILE, ...[...this.extraVectors.keys()].map(extraGraphFile)])
      fsyncPath(path.join(dir, f));
    fsyncPath(dir);
    const tmp = path.join(this.dataDir, `${CURRENT}.tmp`);
    fs.writeFileSync(tmp, this.generation + '\n');
    fsyncPath(tmp);
    fs.renameSync(tmp, path.join(this.dataDir, CURRENT));
    fsyncPath(this.dataDir);
    this.done = true;
    // Keep the previous generation: a server that has not yet switched (or cannot load this
    // generation's text model) may still read it.
    pruneGenerations(this.dataDir, [this.generation, ...(this.previous ? [this.previous] : [])]);
    this.releaseLock();
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      this.db.close();
    } finally {
      fs.rmSync(path.join(this.dataDir, this.generation), { recursive: true, force: true });
      this.releaseLock();
    }
  }
}

function nextGenerationName(dataDir: string): string {
  let max = 0;
  for (const name of fs.readdirSync(dataDir)) {
    const m = GEN_RE.exec(name);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return `gen-${String(max + 1).padStart(6, '0')}`;
}

/** Removes generations newer than CURRENT: leftovers of a run that crashed before commit. */
function sweepAbandoned(dataDir: string, current: string | undefined): void {
  const cur = current ? Number(GEN_RE.exec(current)![1]) : 0;
  for (const name of fs.readdirSync(dataDir)) {
    const m = GEN_RE.exec(name);
    if (m && Number(m[1]) > cur) fs.rmSync(path.join(dataDir, name), { recursive: true, force: true });
  }
}

function pruneGenerations(dataDir: string, keep: string[]): void {
  for (const name of fs.readdirSync(dataDir)) {
    if (GEN_RE.test(name) && !keep.includes(name))
      fs.rmSync(path.join(dataDir, name), { recursive: true, force: true });
  }
}

function fsyncPath(p: string): void {
  if (!fs.existsSync(p)) return;
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Folders this process holds the lock of: a second writer in the same process must fail too. */
const heldHere = new Set<string>();

/**
 * One writer per data folder, across processes and within one; a lock left by a dead process
 * (or leaked by this one without a holder) is taken over. Returns the release.
 */
export function acquireLock(dataDir: string): () => void {
  const lock = path.join(dataDir, 'indexer.lock');
  const key = path.resolve(lock);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      heldHere.add(key);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldHere.delete(key);
        fs.rmSync(lock, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      const self = pid === process.pid;
      if (pid && ((self && heldHere.has(key)) || (!self && isAlive(pid)))) {
        throw new IndexBusyError(`another indexer (pid ${pid}) is writing ${dataDir}; wait for it or remove ${lock}`);
      }
      // A lock with this process's pid that this process does not hold is a dead predecessor's
      // (a container restarts with the same pid).
      fs.rmSync(lock, { force: true });
    }
  }
  throw new IndexBusyError(`could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
