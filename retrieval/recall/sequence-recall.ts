import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';
import client from 'prom-client';
import { z } from 'zod';
import type { RouteHit } from '../index/types.ts';
import { SequenceModel, SequenceModelRefusedError } from './sequence-model.ts';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

/** `sequence` in the settings tree: where the learned shopper model is and how it is followed. */
export const SequenceConfigSchema = z
  .object({
    /** Folder written by `npm run train -- sequence`; empty: no sequence route (the other routes serve). */
    model_dir: z.string().default(''),
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

/** One loaded model with the ANN index over its item table (inner product: the model's score). */
class Loaded {
  private readonly cache = new Map<string, Float32Array | null>();
  constructor(
    readonly model: SequenceModel,
    private readonly index: Hnsw,
    private readonly cacheSize: number,
  ) {}

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
 * reloaded like the ranker: a new folder content is loaded, checked against the catalog and
 * swapped in; a refused one keeps the previous model, or leaves the route empty (the other
 * routes serve) when there is none.
 */
export class SequenceRecall {
  private current: Loaded | undefined;
  private signature: string | undefined;
  private reason: string | undefined;
  private reloading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
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
    if (cfg.model_dir === '') s.reason = 'no sequence model configured';
    else {
      await s.reload();
      if (cfg.refresh_ms > 0) {
        s.timer = setInterval(() => void s.reload(), cfg.refresh_ms);
        s.timer.unref();
      }
    }
    return s;
  }

  get status(): SequenceStatus {
    return this.current
      ? { active: true, model_version: this.current.model.version }
      : { active: false, reason: this.reason ?? 'no model' };
  }

  /** The serving model (for tests and the bench). */
  get model(): SequenceModel | undefined {
    return this.current?.model;
  }

  /** Looks at the model folder now; loads a changed model. Safe to call concurrently. */
  reload(): Promise<void> {
    this.reloading ??= this.doReload().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async doReload(): Promise<void> {
    const dir = this.cfg.model_dir;
    let sig: string;
    try {
      // metadata.json is written last and names every file's sha256: its content is the signature.
      sig = createHash('sha256')
        .update(await readFile(join(dir, 'metadata.json')))
        .digest('hex');
    } catch {
      if (!this.current) this.reason = `no sequence model in ${dir}`;
      return;
    }
    if (sig === this.signature) return;
    const log = this.deps.log ?? ((line: string) => console.error(line));
    let next: SequenceModel | undefined;
    try {
      next = await SequenceModel.load(dir);
      await this.checkCatalog(next);
      const prev = this.current;
      this.current = Loaded.build(next, this.cfg.ef_search, this.cfg.cache_size);
      this.signature = sig;
      this.reason = undefined;
      this.metrics.loaded.inc();
      log(
        `sequence: serving model ${next.version} (${next.itemIds.length} items) from ${dir}${prev ? `, replacing ${prev.model.version}` : ''}`,
      );
      // Requests in flight hold their own reference; release the old session after they finish.
      if (prev) setTimeout(() => void prev.model.close(), 5_000).unref();
    } catch (err) {
      await next?.close();
      if (err instanceof SequenceModelRefusedError && err.reason === 'incomplete') return; // retried at the next poll
      this.signature = sig;
      const reason = err instanceof SequenceModelRefusedError ? err.reason : 'invalid_model';
      this.metrics.refused.inc({ reason });
      const keep = this.current ? `keeping model ${this.current.model.version}` : 'the sequence route stays empty';
      log(`sequence: ${(err as Error).message}; ${keep}`);
      if (!this.current) this.reason = (err as Error).message;
    }
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
   * The feed route: the items the model ranks next for a shopper whose recent items are `history`
   * (oldest first), the history itself left out. Empty without a model or a known item.
   */
  async recall(history: readonly string[], k: number): Promise<RouteHit[]> {
    const cur = this.current;
    if (!cur || history.length === 0) return [];
    const t0 = performance.now();
    const { v, cached } = await cur.shopper(history);
    this.metrics.cache.inc({ outcome: cached ? 'hit' : 'miss' });
    if (!cached) this.metrics.tower.observe((performance.now() - t0) / 1000);
    return v ? cur.search(v, k, new Set(history)) : [];
  }

  /** Similar items: nearest neighbours of the product's learned embedding, itself left out. */
  async neighbours(id: string, k: number): Promise<RouteHit[]> {
    const cur = this.current;
    const v = cur?.model.itemVector(id);
    return cur && v ? cur.search(v, k, new Set([id])) : [];
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reloading;
    await this.current?.model.close();
    this.current = undefined;
  }
}
