import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';
import client from 'prom-client';
import { z } from 'zod';
import type { RouteHit } from '../index/types.ts';
import { SequenceModel, SequenceModelRefusedError } from './sequence-model.ts';
import type { SequenceSource } from './feed-routes.ts';
import { ModelRegistry, type ModelKind, type RegistryStatus } from '../../core/model-registry.ts';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

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
    /** HNSW search breadth over the item table. */
    ef_search: z.number().int().min(10).max(2000).default(200),
  })
  .strict();
export type SequenceConfig = z.output<typeof SequenceConfigSchema>;

export interface SequenceRecallDeps {
  /** Which of `ids` the served catalog holds (the match check); absent: not checked. */
  catalogHas?: ((ids: readonly string[]) => Promise<Set<string>>) | undefined;
  registry?: client.Registry | undefined;
  log?: ((line: string) => void) | undefined;
}

export interface SequenceStatus {
  active: boolean;
  model_version?: string;
  reason?: string;
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

/** One loaded model with the ANN index over its item table (inner product: the model's score). */
class Loaded {
  private readonly cache = new Map<string, Float32Array | null>();
  constructor(
    readonly model: SequenceModel,
    private readonly index: Hnsw,
    private readonly cacheSize: number,
  ) {}

  get version(): string {
    return this.model.version;
  }

  close(): Promise<void> {
    return this.model.close();
  }

  static build(model: SequenceModel, ef: number, cacheSize: number): Loaded {
    const n = model.itemIds.length;
    const index = new HierarchicalNSW('ip', model.dim);
    index.initIndex(Math.max(1, n), 16, 200, 100);
    for (let r = 0; r < n; r++) index.addPoint(Array.from(model.table.subarray(r * model.dim, (r + 1) * model.dim)), r);
    index.setEf(ef);
    return new Loaded(model, index, cacheSize);
  }

  /** Nearest items by inner product; hnswlib's "ip" distance is 1 - dot, turned back into the dot. */
  search(v: Float32Array, k: number, skip: ReadonlySet<string>): RouteHit[] {
    const n = this.model.itemIds.length;
    const want = Math.min(n, k + skip.size);
    if (want === 0) return [];
    const res = this.index.searchKnn(Array.from(v), want);
    const out: RouteHit[] = [];
    for (let i = 0; i < res.neighbors.length && out.length < k; i++) {
      const id = this.model.itemIds[res.neighbors[i]!]!;
      if (!skip.has(id)) out.push({ id, score: 1 - res.distances[i]! });
    }
    return out;
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
  private readonly metrics;

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
    };
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
          return Loaded.build(model, cfg.ef_search, cfg.cache_size);
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
      onLoaded: () => s.metrics.loaded.inc(),
      onRefused: (reason) => s.metrics.refused.inc({ reason }),
    });
    return s;
  }

  get config(): SequenceConfig {
    return this.cfg;
  }

  /** The followed folder's model: what serves by default (unless `model_version` names another). */
  get status(): SequenceStatus {
    const cur = this.models.current;
    return cur
      ? { active: true, model_version: cur.version }
      : { active: false, reason: this.models.reason ?? 'no model' };
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
        neighbours: (id, k) => Promise.resolve(neighboursOf(model, id, k)),
      },
      model_version: model.version,
      ...(missing !== undefined && {
        reason: `sequence model version ${missing} is not deployed; served by ${model.version}`,
      }),
    };
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
    const t0 = performance.now();
    const { v, cached } = await cur.shopper(history);
    this.metrics.cache.inc({ outcome: cached ? 'hit' : 'miss' });
    if (!cached) this.metrics.tower.observe((performance.now() - t0) / 1000);
    return v ? cur.search(v, k, new Set(history)) : [];
  }

  async close(): Promise<void> {
    await this.models.close();
  }
}

function neighboursOf(cur: Loaded, id: string, k: number): RouteHit[] {
  const v = cur.model.itemVector(id);
  return v ? cur.search(v, k, new Set([id])) : [];
}
