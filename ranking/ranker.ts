import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import client from 'prom-client';
import type { UserState } from '../behavior/user-state.ts';
import { loadShopper, type Shopper, type StateStore } from '../behavior/state-store.ts';
import type { PopularityMemory } from './popularity.ts';
import type { IndexSnapshot } from '../retrieval/index/stores.ts';
import type { RankConfig } from './config.ts';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SPEC_VERSION, featurizeInto, type Surface } from './features.ts';
import { rawInputs, userContext, type RankInput } from './inputs.ts';
import { ModelRefusedError, RankModel } from './model.ts';
import { ModelRegistry, type ModelKind, type RegistryStatus } from '../core/model-registry.ts';

/**
 * The ranking stage, applied after fusion on /v1/search and /v1/feed: builds every candidate's
 * features (ranking/feature-spec.json), scores all of them in one onnxruntime run, and orders
 * them by pCTR^a · pCVR^b · price^c. Without a usable model (none configured, none found, or
 * one trained on another feature spec, which is refused with a log line) it orders by the
 * documented heuristic (heuristicScore) and says so in the response's debug and in
 * `shelf_rank_requests_total{mode="heuristic"}`.
 *
 * The model folder is polled: a new model.onnx + metadata.json pair is loaded and swapped in
 * without a restart. A refused new version leaves the serving model in place.
 */
export type RankMode = 'model' | 'heuristic' | 'off';

export interface RankedCandidate {
  candidate: RankInput;
  score: number;
  p_ctr?: number;
  p_cvr?: number;
  /** The exact model input (rounded values, FEATURE_NAMES order; a view into the request's buffer): what the served log records. */
  features: Float64Array;
}

export interface RankOutcome {
  mode: RankMode;
  model_version?: string;
  /** Why the heuristic is serving (no model, refused model). */
  reason?: string;
  /** Set when item popularity could not be read: ranked with popularity 0, and why. */
  popularity_unavailable?: string;
  items: RankedCandidate[];
  took_ms: number;
}

export interface RankStatus {
  mode: RankMode;
  model_version?: string;
  reason?: string;
  feature_spec: string;
}

export interface RankerDeps {
  /** Behaviour state: user affinities, counts, and item popularity. Absent: anonymous, popularity 0. */
  state?: StateStore | undefined;
  /**
   * Popularity kept in memory (a remote state store's): anonymous requests read only it, so they
   * never wait on the store; personalised ones read the store through it. Absent: the store always.
   */
  popularity?: PopularityMemory | undefined;
  /** Per-product updated_at (epoch ms) for the age feature, from the request's pinned snapshot when given; absent: age unknown. */
  updatedAt?: ((ids: readonly string[], snapshot?: IndexSnapshot) => Promise<Map<string, number>>) | undefined;
  registry?: client.Registry | undefined;
  log?: (line: string) => void;
}

/**
 * Documented fallback order when no model serves: fusion score, boosted by the shopper's share
 * of affinity for the item's category and brand and damped by distance from their price band.
 * h = fused · (1 + 0.5·cat_share + 0.5·cat_top_share + 0.5·brand_share) / (1 + 0.25·|price_gap|).
 * For an anonymous shopper this is exactly fusion order.
 */
export function heuristicScore(f: ArrayLike<number>): number {
  const at = (name: string) => f[IDX[name]!]!;
  const fused = at('fused_score');
  return (
    (fused * (1 + 0.5 * at('user_cat_share') + 0.5 * at('user_cat_top_share') + 0.5 * at('user_brand_share'))) /
    (1 + 0.25 * at('price_gap_abs'))
  );
}
const IDX: Record<string, number> = Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, i]));

/** pCTR^a · pCVR^b · price^c, in log space; the price term is left out when the price is unknown. */
export function finalScore(
  pCtr: number,
  pCvr: number,
  price: number | undefined,
  cfg: Pick<RankConfig, 'a' | 'b' | 'c'>,
): number {
  const eps = 1e-9;
  let s = cfg.a * Math.log(Math.max(eps, pCtr)) + cfg.b * Math.log(Math.max(eps, pCvr));
  if (cfg.c !== 0 && price !== undefined && price > 0) s += cfg.c * Math.log(price);
  return Math.exp(s);
}

export class Ranker {
  /** The model in `model_dir` (followed) and those of `extra_model_dirs`, by version; set by open(). */
  private models: ModelRegistry<RankModel> | undefined;
  private readonly metrics;
  private mode: 'model' | 'heuristic' | 'off';
  /** Request time for the hour and age features; a simulator replaying event time replaces it. */
  clock: () => number = Date.now;

  private constructor(
    private readonly cfg: RankConfig,
    private readonly deps: RankerDeps,
  ) {
    this.mode = cfg.mode;
    const registers = deps.registry ? [deps.registry] : [];
    this.metrics = {
      requests: new client.Counter({
        name: 'shelf_rank_requests_total',
        help: 'Ranked responses by surface and mode (model, heuristic fallback, off)',
        labelNames: ['surface', 'mode'] as const,
        registers,
      }),
      refused: new client.Counter({
        name: 'shelf_rank_model_refused_total',
        help: 'Model versions refused at load (feature spec mismatch, invalid files)',
        labelNames: ['reason'] as const,
        registers,
      }),
      loaded: new client.Counter({
        name: 'shelf_rank_model_loads_total',
        help: 'Model versions loaded and swapped in',
        registers,
      }),
      info: new client.Gauge({
        name: 'shelf_rank_model_info',
        help: 'The serving ranking model (1) by version; heuristic when none',
        labelNames: ['version', 'feature_spec'] as const,
        registers,
      }),
      latency: new client.Histogram({
        name: 'shelf_rank_duration_seconds',
        help: 'Featurize + score + sort of one request',
        labelNames: ['surface'] as const,
        buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05],
        registers,
      }),
    };
  }

  static async open(cfg: RankConfig, deps: RankerDeps = {}): Promise<Ranker> {
    const r = new Ranker(cfg, deps);
    // The model is loaded (and followed) even when ordering starts `off`, so setMode('model') can switch to it.
    r.models = await ModelRegistry.open(RANK_MODELS, {
      dir: cfg.model_dir,
      extraDirs: cfg.extra_model_dirs,
      refreshMs: cfg.refresh_ms,
      log: deps.log,
      onLoaded: () => r.metrics.loaded.inc(),
      onRefused: (reason) => r.metrics.refused.inc({ reason }),
      onChange: () => r.publishInfo(),
    });
    r.publishInfo();
    return r;
  }

  get config(): RankConfig {
    return this.cfg;
  }

  /**
   * Every model version a request may name in `ranking.model_version`: the one served from
   * `model_dir` (as loaded now) and those of `extra_model_dirs`.
   */
  get versions(): string[] {
    return this.models?.versions ?? [];
  }

  /** The deployed versions, as the console shows them: the followed one (or why none), every one a request may name. */
  get deployed(): RegistryStatus {
    return this.models?.status ?? { reason: 'not open', versions: [] };
  }

  /**
   * Switches ordering at run time: `model` (the model when one is usable), `heuristic` (always the
   * fallback order, e.g. to log features under a neutral policy) or `off` (fusion order).
   */
  setMode(mode: 'model' | 'heuristic' | 'off'): void {
    this.mode = mode;
    this.publishInfo();
  }

  get status(): RankStatus {
    const model = this.models?.current;
    const mode: RankMode = this.mode === 'off' ? 'off' : this.mode === 'model' && model ? 'model' : 'heuristic';
    return {
      mode,
      ...(model && mode === 'model' && { model_version: model.version }),
      ...(mode === 'heuristic' && {
        reason: this.mode === 'heuristic' ? 'heuristic order selected' : (this.models?.reason ?? 'no model'),
      }),
      feature_spec: FEATURE_SPEC_VERSION,
    };
  }

  /** Looks at the model folder now; loads a changed model. Safe to call concurrently. */
  reload(): Promise<void> {
    return this.models?.reload() ?? Promise.resolve();
  }

  private publishInfo(): void {
    this.metrics.info.reset();
    const s = this.status;
    this.metrics.info.set({ version: s.model_version ?? s.mode, feature_spec: FEATURE_SPEC_VERSION }, 1);
  }

  /**
   * The state rank() reads for `subject` when the caller passed no `shopper` (direct callers; the
   * serving pipeline reads it once per request and passes it): a linked session reads its user's.
   */
  private async shopper(subject: string): Promise<Shopper | undefined> {
    return this.deps.state ? loadShopper(this.deps.state, subject) : undefined;
  }

  /**
   * Orders `candidates` (fusion order in, best first out). The shopper's state is `shopper.user`
   * when the caller already read it (even undefined: no state), else read by `subject`.
   */
  async rank(
    req: {
      surface: Surface;
      now?: number;
      subject?: string | undefined;
      shopper?: { user: UserState | undefined } | undefined;
      /** The index generation the request pinned (product ages are read from it). */
      snapshot?: IndexSnapshot | undefined;
      /** This request's exponents of the final score (an experiment arm's); default: the ranker's settings. */
      weights?: Pick<RankConfig, 'a' | 'b' | 'c'> | undefined;
      /** No shopper: popularity comes from memory only (`RankerDeps.popularity`), never the store. */
      anonymous?: boolean | undefined;
      /** The model version to score with (an experiment arm's); empty: the served model. */
      model_version?: string | undefined;
    },
    candidates: readonly RankInput[],
  ): Promise<RankOutcome> {
    const t0 = performance.now();
    const now = req.now ?? this.clock();
    const status = this.status;
    const state = this.deps.state;
    const ids = candidates.map((c) => c.id);
    const [user, popularity, updated] = await Promise.all([
      req.shopper
        ? Promise.resolve(req.shopper.user)
        : req.subject !== undefined
          ? this.shopper(req.subject).then((s) => s?.user)
          : Promise.resolve(undefined),
      this.popularity(ids, req.anonymous === true),
      this.deps.updatedAt && ids.length > 0
        ? this.deps.updatedAt(ids, req.snapshot)
        : Promise.resolve(new Map<string, number>()),
    ]);
    const counts = popularity.counts;
    const uctx = userContext(user);
    const ctx = { surface: req.surface, now };
    // One buffer for the whole request: no per-candidate arrays on the hot path.
    const n = candidates.length;
    const buf = new Float64Array(n * FEATURE_COUNT);
    const features: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const c = candidates[i]!;
      const withAge = c.updated_ms === undefined && updated.has(c.id) ? { ...c, updated_ms: updated.get(c.id) } : c;
      featurizeInto(rawInputs(ctx, withAge, uctx, counts.get(c.id) ?? 0), buf, i * FEATURE_COUNT);
      features.push(buf.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT));
    }
    const picked = this.mode === 'model' && this.models ? this.models.pick(req.model_version) : { model: undefined };
    const model = picked.model;
    let items: RankedCandidate[];
    if (status.mode === 'off') {
      items = candidates.map((c, i) => ({ candidate: c, score: c.fused_score, features: features[i]! }));
    } else if (model) {
      const x = this.takeInput(n * FEATURE_COUNT);
      x.set(buf);
      let scores;
      try {
        scores = await model.predictMatrix(x.subarray(0, n * FEATURE_COUNT), n);
      } finally {
        this.inputs.push(x);
      }
      const { pCtr, pCvr } = scores;
      items = candidates.map((c, i) => ({
        candidate: c,
        p_ctr: pCtr[i]!,
        p_cvr: pCvr[i]!,
        score: finalScore(pCtr[i]!, pCvr[i]!, c.price, req.weights ?? this.cfg),
        features: features[i]!,
      }));
      sortStable(items);
    } else {
      items = candidates.map((c, i) => ({ candidate: c, score: heuristicScore(features[i]!), features: features[i]! }));
      sortStable(items);
    }
    const took = performance.now() - t0;
    const mode: RankMode = model ? 'model' : status.mode === 'model' ? 'heuristic' : status.mode;
    this.metrics.requests.inc({ surface: req.surface, mode });
    this.metrics.latency.observe({ surface: req.surface }, took / 1000);
    const reason =
      picked.missing !== undefined
        ? `model version ${picked.missing} is not deployed; ${model ? `scored by ${model.version}` : 'heuristic order'}`
        : model
          ? undefined
          : status.reason;
    return {
      mode,
      ...(model && { model_version: model.version }),
      ...(reason !== undefined && { reason }),
      ...(popularity.unavailable !== undefined && { popularity_unavailable: popularity.unavailable }),
      items,
      took_ms: took,
    };
  }

  /**
   * Item popularity for `ids`: from memory for an anonymous request, else from the state store
   * (through memory when there is one). A store that fails or misses its budget ranks with
   * popularity 0 and says why: a ranking feature never fails a request.
   */
  private async popularity(
    ids: readonly string[],
    anonymous: boolean,
  ): Promise<{ counts: Map<string, number>; unavailable?: string }> {
    const { state, popularity: memory } = this.deps;
    if (ids.length === 0 || !state) return { counts: new Map() };
    if (memory && anonymous) return { counts: memory.peek(ids) };
    try {
      return { counts: await (memory ? memory.fresh(ids) : state.itemCounts(ids)) };
    } catch (err) {
      return { counts: new Map(), unavailable: (err as Error).message };
    }
  }

  /** Model input buffers are reused across requests (a request in flight holds its own). */
  private readonly inputs: Float32Array[] = [];
  private takeInput(size: number): Float32Array {
    const b = this.inputs.pop();
    return b && b.length >= size ? b : new Float32Array(Math.max(size, 512 * FEATURE_COUNT));
  }

  async close(): Promise<void> {
    await this.models?.close();
  }
}

/** The ranker's model folders: model.onnx + metadata.json (ranking/model.ts). */
const RANK_MODELS: ModelKind<RankModel> = {
  name: 'ranker',
  async signature(dir) {
    // metadata.json is small: its content (it names the version and the model's sha256) is the signature.
    const [m, o] = await Promise.all([readFile(join(dir, 'metadata.json')), stat(join(dir, 'model.onnx'))]);
    return `${createHash('sha256').update(m).digest('hex')}:${o.mtimeMs}:${o.size}`;
  },
  load: (dir) => RankModel.load(dir),
  refusal: (err) => {
    const reason = err instanceof ModelRefusedError ? err.reason : 'invalid_model';
    return { reason, retry: reason === 'incomplete' };
  },
  describe: () => `feature spec ${FEATURE_SPEC_VERSION}`,
  fallback: 'falling back to the heuristic order',
  unconfigured: 'no model configured (SHELF_RANK_MODEL_DIR)',
  missing: (dir) => `no model in ${dir}`,
};

/** Best score first; ties keep fusion order. */
function sortStable(items: RankedCandidate[]): void {
  items.sort((a, b) => b.score - a.score || a.candidate.fusion_position - b.candidate.fusion_position);
}
