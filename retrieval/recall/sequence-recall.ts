import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import client from 'prom-client';
import { z } from 'zod';
import { hnswSequenceIndexes } from '../index/embedded/hnsw-sequence-items.ts';
import { normBound } from '../index/inner-product.ts';
import {
  DEFAULT_SEQUENCE_EF_SEARCH,
  DEFAULT_SEQUENCE_FULL_SCAN_KB,
  type SequenceIndexOptions,
  type SequenceItemIndex,
  type SequenceItemIndexes,
} from '../index/sequence-items.ts';
import type { RouteHit } from '../index/types.ts';
import { SequenceModel, SequenceModelRefusedError } from './sequence-model.ts';
import type { SequenceSource } from './feed-routes.ts';
import { ModelRegistry, type ModelKind, type RegistryStatus } from '../../core/model-registry.ts';

const SYNC_RETRY_MS = 5_000;

/** `sequence` in the settings tree: where the learned shopper model is and how it is followed. */
export const SequenceConfigSchema = z
  .object({
    /** Folder written by `npm run train -- sequence`; empty: no sequence route (the other routes serve). */
    model_dir: z.string().default(''),
    /**
     * Folders of further deployed versions, loaded once beside `model_dir` (each with its own item
     * index) so a request (an experiment arm) can be served by one of them through `model_version`.
     * Fixed at start-up.
     */
    extra_model_dirs: z.array(z.string().min(1)).default([]),
    /**
     * The version that serves a request's `sequence` route and similar items' `sequence` list, by its
     * metadata `version`: the one in `model_dir` or one of `extra_model_dirs`. Empty: the model in
     * `model_dir` (followed as it is redeployed). Request-scoped.
     */
    model_version: z.string().default(''),
    /** Poll for a new model this often (0: load once). */
    refresh_ms: z.number().int().min(0).default(30_000),
    /**
     * Share of the model's items (a sample) that must be in the served catalog: a model trained on
     * another shop, or before the catalog was renumbered, is refused rather than serving noise.
     */
    min_catalog_coverage: z.number().min(0).max(1).default(0.5),
    /** Shopper vectors cached by (model version, recent items): an event that changes them misses it. */
    cache_size: z.number().int().min(0).max(1_000_000).default(10_000),
    /** HNSW search breadth over the item table (embedded back end). */
    ef_search: z.number().int().min(10).max(2000).default(DEFAULT_SEQUENCE_EF_SEARCH),
    /**
     * Scan the item table exactly instead of searching its HNSW graph while it holds at most this
     * many KiB of vectors (items × dim × 4 bytes), on either back end; 0: always the graph.
     */
    full_scan_threshold_kb: z.number().int().min(0).max(10_000_000).default(DEFAULT_SEQUENCE_FULL_SCAN_KB),
  })
  .strict();
export type SequenceConfig = z.output<typeof SequenceConfigSchema>;

/** How the item index is searched, from the settings (either back end). */
export function sequenceIndexOptions(cfg: SequenceConfig): SequenceIndexOptions {
  return { efSearch: cfg.ef_search, fullScanThresholdKb: cfg.full_scan_threshold_kb };
}

export interface SequenceRecallDeps {
  /** Which of `ids` the served catalog holds (the match check); absent: not checked. */
  catalogHas?: ((ids: readonly string[]) => Promise<Set<string>>) | undefined;
  registry?: client.Registry | undefined;
  log?: ((line: string) => void) | undefined;
  /** Where the item embeddings are indexed (default: hnswlib in memory; production: Qdrant). */
  indexes?: SequenceItemIndexes | undefined;
  /** The served catalog's text vectors: products the model never saw are projected from them. */
  catalog?: CatalogTextVectors | undefined;
}

/** What the new-product path reads from the served index. */
export interface CatalogTextVectors {
  /** The served index generation: new products are looked for again when it changes. */
  readonly generation: string | undefined;
  /**
   * The stored text vectors of served products for which `known` is false, and the id of the
   * embedder that made them (one pinned snapshot).
   */
  missing(
    known: (id: string) => boolean,
  ): Promise<{ embedderId: string | undefined; vectors: Map<string, Float32Array> }>;
}

export interface SequenceStatus {
  active: boolean;
  model_version?: string;
  reason?: string;
  /** Products the model never saw, served with a vector projected from their text. */
  projected?: number;
  /** Why products the model never saw get no vector, when they do not. */
  projection?: string;
}

/**
 * The deployed sequence model a request uses, picked once per request (a hot reload mid-request
 * cannot split it): the route and the neighbours it serves, and which version that is.
 */
export interface SequencePick {
  source: SequenceSource;
  model_version: string;
  /** Set when the version asked for is not deployed (the default one serves). */
  reason?: string;
}

/** What serving reads of the learned sequence model: the deployed version a request names. */
export interface SequenceModels {
  readonly config: Pick<SequenceConfig, 'model_version'>;
  /** The deployed versions: the followed one (or why none), every one a request may name. */
  readonly deployed: RegistryStatus;
  /** The model for `version` (empty: `config.model_version`, else the followed one); undefined: none serves. */
  pick(version?: string): SequencePick | undefined;
}

/** One loaded model with the index over its item table (inner product: the model's score). */
class Loaded {
  private readonly cache = new Map<string, Float32Array | null>();
  /** Products the model never saw, in the index with their text's projection. */
  readonly projected = new Set<string>();
  /** The catalog generation whose new products were last projected (undefined: not yet). */
  syncedGeneration: string | undefined | null = null;
  /** Why new products get no vector (no projection, another text embedder); undefined when they do. */
  projectionNote: string | undefined;
  /** When the last sync failed (performance.now()): requests retry it at most every SYNC_RETRY_MS. */
  lastFailure = -Infinity;
  constructor(
    readonly model: SequenceModel,
    readonly items: SequenceItemIndex,
    private readonly cacheSize: number,
  ) {}

  get version(): string {
    return this.model.version;
  }

  /** Releases the model's sessions and its item index. */
  async close(): Promise<void> {
    await this.syncing;
    await this.model.close();
    await this.items.close();
  }

  /** The running sync of new products, if any (one at a time per model). */
  syncing: Promise<void> | undefined;

  /** Fills the version's index with the learned table (unless it already holds it: a Qdrant collection another instance filled). */
  static async build(model: SequenceModel, indexes: SequenceItemIndexes, cacheSize: number): Promise<Loaded> {
    const n = model.itemIds.length;
    const items = await indexes.open(model.indexKey, model.dim, n, normBound(model.table, model.dim));
    if ((await items.count()) < n) {
      const rows = model.itemIds.map((_, r) => model.table.subarray(r * model.dim, (r + 1) * model.dim));
      for (let i = 0; i < n; i += 1024) await items.upsert(model.itemIds.slice(i, i + 1024), rows.slice(i, i + 1024));
    }
    return new Loaded(model, items, cacheSize);
  }

  knows(id: string): boolean {
    return this.model.has(id) || this.projected.has(id);
  }

  async vectorOf(id: string): Promise<Float32Array | undefined> {
    return (
      this.model.itemVector(id) ?? (this.projected.has(id) ? (await this.items.vectorsOf([id])).get(id) : undefined)
    );
  }

  async shopper(history: readonly string[]): Promise<{ v: Float32Array | undefined; cached: boolean }> {
    const key = history.slice(-this.model.maxLen).join('\u0001');
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      // Refresh its place: the Map's order is the LRU order.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return { v: hit ?? undefined, cached: true };
    }
    const v = await this.model.shopperVector(history);
    if (this.cacheSize > 0) {
      this.cache.set(key, v ?? null);
      if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    }
    return { v, cached: false };
  }
}

/**
 * The `sequence` recall route's engine: the learned shopper model (models/sequence/), its item
 * embeddings in their own HNSW index, and shopper vectors computed lazily at feed time from the
 * shopper's recent items with a cache keyed by those items (an event that changes them changes
 * the key, so the next feed reflects it; measured in docs/BENCHMARKS.md). Versioned and hot
 * reloaded like the ranker (core/model-registry.ts): a new folder content is loaded, checked
 * against the catalog and swapped in; a refused one keeps the previous model, or leaves the route
 * empty (the other routes serve) when there is none. Further versions (`extra_model_dirs`), each
 * with its own item index and cache, serve the requests that name them (`model_version`).
 *
 * As a SequenceSource it serves the default version (`model_version`, else the followed one).
 */
export class SequenceRecall implements SequenceSource, SequenceModels {
  private models!: ModelRegistry<Loaded>;
  /** The followed folder's previous model: its index is kept at a swap (requests in flight may read it). */
  private replaced: Loaded | undefined;
  private readonly metrics;
  private readonly indexes: SequenceItemIndexes;

  private constructor(
    private readonly cfg: SequenceConfig,
    private readonly deps: SequenceRecallDeps,
  ) {
    const registers = deps.registry ? [deps.registry] : [];
    this.metrics = {
      refused: new client.Counter({
        name: 'shelf_sequence_model_refused_total',
        help: 'Sequence model versions refused at load (format, files, catalog mismatch)',
        labelNames: ['reason'] as const,
        registers,
      }),
      loaded: new client.Counter({
        name: 'shelf_sequence_model_loads_total',
        help: 'Sequence model versions loaded and swapped in',
        registers,
      }),
      tower: new client.Histogram({
        name: 'shelf_sequence_tower_seconds',
        help: 'Shopper tower runs (cache misses) at feed time',
        buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05],
        registers,
      }),
      cache: new client.Counter({
        name: 'shelf_sequence_vector_cache_total',
        help: 'Shopper vector lookups by outcome',
        labelNames: ['outcome'] as const,
        registers,
      }),
      projected: new client.Counter({
        name: 'shelf_sequence_projected_items_total',
        help: 'Products the sequence model never saw, given an item vector from their text',
        registers,
      }),
    };
    this.indexes = deps.indexes ?? hnswSequenceIndexes(sequenceIndexOptions(cfg));
  }

  static async open(cfg: SequenceConfig, deps: SequenceRecallDeps = {}): Promise<SequenceRecall> {
    const s = new SequenceRecall(cfg, deps);
    const kind: ModelKind<Loaded> = {
      name: 'sequence',
      // metadata.json is written last and names every file's sha256: its content is the signature.
      signature: async (dir) =>
        createHash('sha256')
          .update(await readFile(join(dir, 'metadata.json')))
          .digest('hex'),
      load: async (dir) => {
        const model = await SequenceModel.load(dir);
        try {
          await s.checkCatalog(model);
          const loaded = await Loaded.build(model, s.indexes, cfg.cache_size);
          await s.syncNewProducts(loaded);
          return loaded;
        } catch (err) {
          await model.close();
          throw err;
        }
      },
      refusal: (err) => {
        const reason = err instanceof SequenceModelRefusedError ? err.reason : 'invalid_model';
        return { reason, retry: reason === 'incomplete' };
      },
      describe: (loaded) => `${loaded.model.itemIds.length} items`,
      fallback: 'the sequence route stays empty',
      unconfigured: 'no sequence model configured',
      missing: (dir) => `no sequence model in ${dir}`,
    };
    s.models = await ModelRegistry.open(kind, {
      dir: cfg.model_dir === '' ? undefined : cfg.model_dir,
      extraDirs: cfg.extra_model_dirs,
      refreshMs: cfg.refresh_ms,
      log: deps.log,
      onLoaded: (loaded) => {
        s.metrics.loaded.inc();
        // At open the registry is not assigned yet: retired below, once every version is known.
        if (s.models) void s.retireIndexes(loaded);
      },
      onRefused: (reason) => s.metrics.refused.inc({ reason }),
    });
    if (s.models.current) void s.retireIndexes(s.models.current);
    return s;
  }

  get config(): SequenceConfig {
    return this.cfg;
  }

  /** The followed folder's model: what serves by default (unless `model_version` names another). */
  get status(): SequenceStatus {
    const cur = this.models.current;
    if (!cur) return { active: false, reason: this.models.reason ?? 'no model' };
    return {
      active: true,
      model_version: cur.version,
      projected: cur.projected.size,
      ...(cur.projectionNote !== undefined && { projection: cur.projectionNote }),
    };
  }

  /** Every version a request may name in `sequence.model_version`: `model_dir`'s as loaded now, then `extra_model_dirs`'. */
  get versions(): string[] {
    return this.models.versions;
  }

  get deployed(): RegistryStatus {
    return this.models.status;
  }

  /** The serving model (for tests and the bench). */
  get model(): SequenceModel | undefined {
    return this.models.current?.model;
  }

  /** Looks at the model folder now; loads a changed model. Safe to call concurrently. */
  reload(): Promise<void> {
    return this.models.reload();
  }

  pick(version?: string): SequencePick | undefined {
    const { model, missing } = this.models.pick(version || this.cfg.model_version);
    if (!model) return undefined;
    return {
      source: {
        recall: (history, k) => this.recallWith(model, history, k),
        neighbours: (id, k) => this.neighboursWith(model, id, k),
      },
      model_version: model.version,
      ...(missing !== undefined && {
        reason: `sequence model version ${missing} is not deployed; served by ${model.version}`,
      }),
    };
  }

  /**
   * After a swap, item indexes of versions neither deployed nor just replaced (Qdrant
   * collections) are dropped.
   */
  private async retireIndexes(next: Loaded): Promise<void> {
    const prev = this.replaced;
    this.replaced = next;
    const keep = new Set<string>([next.model.indexKey, ...(prev ? [prev.model.indexKey] : [])]);
    for (const v of this.models.versions) {
      const m = this.models.pick(v).model;
      if (m) keep.add(m.model.indexKey);
    }
    const log = this.deps.log ?? ((line: string) => console.error(line));
    await this.indexes
      .retire?.([...keep])
      .catch((err: Error) => log(`sequence: dropping old item indexes failed: ${err.message}`));
  }

  /** A sample of the model's items (spread over the table) must be in the catalog. */
  private async checkCatalog(model: SequenceModel): Promise<void> {
    if (!this.deps.catalogHas || this.cfg.min_catalog_coverage === 0) return;
    const ids = model.itemIds;
    const step = Math.max(1, Math.floor(ids.length / 500));
    const sample = ids.filter((_, i) => i % step === 0);
    const found = await this.deps.catalogHas(sample);
    const share = sample.length === 0 ? 0 : found.size / sample.length;
    if (share < this.cfg.min_catalog_coverage)
      throw new SequenceModelRefusedError(
        `model ${model.version}: only ${(share * 100).toFixed(1)}% of its items are in the catalog (min ${this.cfg.min_catalog_coverage * 100}%)`,
        'catalog_mismatch',
      );
  }

  /**
   * The feed route, by the default version: the items the model ranks next for a shopper whose
   * recent items are `history` (oldest first), the history itself left out. Empty without a model
   * or a known item.
   */
  async recall(history: readonly string[], k: number): Promise<RouteHit[]> {
    return (await this.pick()?.source.recall(history, k)) ?? [];
  }

  /** Similar items, by the default version: nearest neighbours of the product's learned embedding, itself left out. */
  async neighbours(id: string, k: number): Promise<RouteHit[]> {
    return (await this.pick()?.source.neighbours(id, k)) ?? [];
  }

  private async recallWith(cur: Loaded, history: readonly string[], k: number): Promise<RouteHit[]> {
    if (history.length === 0) return [];
    this.followCatalog(cur);
    const t0 = performance.now();
    const { v, cached } = await cur.shopper(history);
    this.metrics.cache.inc({ outcome: cached ? 'hit' : 'miss' });
    if (!cached) this.metrics.tower.observe((performance.now() - t0) / 1000);
    return v ? cur.items.search(v, k, new Set(history)) : [];
  }

  async close(): Promise<void> {
    await this.models.close();
  }

  /**
   * A request notices a new catalog generation: its new products are projected in the background
   * (a failing read is retried at most every SYNC_RETRY_MS, not by every request).
   */
  private followCatalog(cur: Loaded): void {
    const src = this.deps.catalog;
    if (!src || cur.syncing || cur.syncedGeneration === src.generation) return;
    if (performance.now() - cur.lastFailure >= SYNC_RETRY_MS) void this.syncNewProducts(cur);
  }

  /**
   * Gives every served product the model never saw a vector from its text (the model's text
   * projection applied to the index's stored text vector) and adds it to the item index, so the
   * route can recommend it and similar items can show it. Runs at load and when a request sees a
   * new catalog generation; a failure is logged and retried then.
   */
  syncNewProducts(cur: Loaded | undefined = this.models?.current): Promise<void> {
    if (!cur) return Promise.resolve();
    cur.syncing ??= this.doSync(cur).finally(() => (cur.syncing = undefined));
    return cur.syncing;
  }

  private async doSync(cur: Loaded): Promise<void> {
    const src = this.deps.catalog;
    if (!src) return;
    const generation = src.generation;
    if (generation === cur.syncedGeneration) return;
    const log = this.deps.log ?? ((line: string) => console.error(line));
    const wanted = cur.model.textEmbedderId;
    if (wanted === undefined) {
      cur.projectionNote = `model ${cur.model.version} has no text projection: products it never saw get no vector`;
      cur.syncedGeneration = generation;
      return;
    }
    try {
      const { embedderId, vectors } = await src.missing((id) => cur.knows(id));
      if (embedderId !== wanted) {
        cur.projectionNote = `the text projection reads ${wanted} vectors, the index holds ${embedderId ?? 'none'}: products the model never saw get no vector`;
        if (cur.syncedGeneration === null) log(`sequence: ${cur.projectionNote}`);
        cur.syncedGeneration = generation;
        return;
      }
      const ids = [...vectors.keys()];
      for (let i = 0; i < ids.length; i += 512) {
        const batch = ids.slice(i, i + 512);
        const projected = await cur.model.project(batch.map((id) => vectors.get(id)!));
        await cur.items.upsert(batch, projected);
        for (const id of batch) cur.projected.add(id);
      }
      cur.projectionNote = undefined;
      cur.syncedGeneration = generation;
      this.metrics.projected.inc(ids.length);
      if (ids.length > 0)
        log(`sequence: ${ids.length} product(s) model ${cur.model.version} never saw get a vector from their text`);
    } catch (err) {
      cur.lastFailure = performance.now();
      log(`sequence: projecting new products failed: ${(err as Error).message} (retrying)`);
    }
  }

  /**
   * Similar items: nearest neighbours of the product's learned embedding (or, for a product the
   * model never saw, of its text's projection), itself left out.
   */
  private async neighboursWith(cur: Loaded, id: string, k: number): Promise<RouteHit[]> {
    this.followCatalog(cur);
    const v = await cur.vectorOf(id);
    return v ? cur.items.search(v, k, new Set([id])) : [];
  }
}
