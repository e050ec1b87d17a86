import type { ServedEntry } from '../behavior/served-log.ts';
import type { UserState } from '../behavior/user-state.ts';
import type { Candidate, Degraded, Surface } from '../core/candidate.ts';
import type { IndexSnapshot, SnapshotSource } from '../retrieval/index/stores.ts';
import { filterKey } from '../retrieval/index/stores.ts';
import type { Surface as RankSurface } from './features.ts';
import type { RankConfig } from './config.ts';
import type { RankInput } from './inputs.ts';
import type { RankOutcome, Ranker } from './ranker.ts';

/**
 * The ranking stage over candidates: the first `window` of the fused order scored in one batch,
 * the rest kept in fusion order after them. Each ranked candidate carries the ranker's verdict
 * (score, pCTR, pCVR, the exact feature vector) and is ordered and shown by its score from here on.
 */

/** A candidate as the ranker reads it: its recall evidence and the product's filter keys. */
export function rankInput(c: Candidate): RankInput {
  const p = c.product;
  return {
    id: c.id,
    fusion_position: c.fusion_position,
    fused_score: c.fused_rrf ?? c.fused_score,
    routes: c.routes,
    ...(p.category !== undefined && { category_key: filterKey(p.category) }),
    ...(p.brand !== undefined && { brand_key: filterKey(p.brand) }),
    ...(p.price !== undefined && { price: p.price }),
  };
}

/**
 * The ranker's surfaces are those of its feature spec: "similar items" is a recommendation
 * list, so it is scored as the feed is until a spec gives it a feature of its own.
 */
export function rankSurface(surface: Surface): RankSurface {
  return surface === 'search' ? 'search' : 'feed';
}

export interface RankDebug {
  mode: RankOutcome['mode'];
  model_version?: string;
  reason?: string;
  feature_spec: string;
  window: number;
  a: number;
  b: number;
  c: number;
  took_ms: number;
}

/** What the served log keeps of the ranking debug. */
export function servedRanking(d: RankDebug): NonNullable<ServedEntry['ranking']> {
  return {
    mode: d.mode,
    ...(d.model_version !== undefined && { model_version: d.model_version }),
    feature_spec: d.feature_spec,
  };
}

/**
 * Ranks the first `window` candidates (all in one batch) and keeps the rest in fusion order
 * after them. The whole order is returned: diversity reorders its head before the page is cut.
 */
export async function rankOrder(
  ranker: Ranker,
  req: {
    surface: Surface;
    now?: number | undefined;
    shopper?: { user: UserState | undefined } | undefined;
    snapshot?: IndexSnapshot | undefined;
    /** This request's window and score exponents (default: the ranker's settings). */
    settings?: (Pick<RankConfig, 'window' | 'a' | 'b' | 'c'> & Partial<Pick<RankConfig, 'model_version'>>) | undefined;
    /** No shopper named: the ranker reads popularity from memory only. */
    anonymous?: boolean | undefined;
  },
  candidates: readonly Candidate[],
): Promise<{ order: Candidate[]; debug: RankDebug; degraded?: Degraded }> {
  const cfg = req.settings ?? ranker.config;
  const window = cfg.window;
  const head = candidates.slice(0, window);
  const outcome = await ranker.rank(
    {
      surface: rankSurface(req.surface),
      ...(req.now !== undefined && { now: req.now }),
      shopper: req.shopper ?? { user: undefined },
      snapshot: req.snapshot,
      weights: cfg,
      anonymous: req.anonymous,
      model_version: cfg.model_version,
    },
    head.map(rankInput),
  );
  const byId = new Map(head.map((c) => [c.id, c]));
  const order: Candidate[] = [
    ...outcome.items.map((r) => ({
      ...byId.get(r.candidate.id)!,
      score: round(r.score),
      ranking: { score: r.score, p_ctr: r.p_ctr, p_cvr: r.p_cvr, features: r.features },
    })),
    ...candidates.slice(window),
  ];
  return {
    order,
    ...(outcome.popularity_unavailable !== undefined && {
      degraded: { route: 'popularity', reason: outcome.popularity_unavailable },
    }),
    debug: {
      mode: outcome.mode,
      ...(outcome.model_version !== undefined && { model_version: outcome.model_version }),
      ...(outcome.reason !== undefined && { reason: outcome.reason }),
      feature_spec: ranker.status.feature_spec,
      window,
      a: cfg.a,
      b: cfg.b,
      c: cfg.c,
      took_ms: round(outcome.took_ms),
    },
  };
}

const round = (x: number) => Math.round(x * 1e9) / 1e9;

/**
 * Products' updated_at (epoch ms) for the age feature, read from the served index and kept per
 * index generation (it only changes when the indexer writes a new one).
 */
export function productTimes(
  served: SnapshotSource,
): (ids: readonly string[], pinned?: IndexSnapshot) => Promise<Map<string, number>> {
  let generation: string | undefined;
  const cache = new Map<string, number | null>();
  return async (ids, pinned) => {
    // A request that pinned a snapshot reads that generation, whatever the searcher switched to since.
    const current = pinned ? pinned.generation : served.generation;
    if (current !== generation) {
      cache.clear();
      generation = current;
    }
    const missing = ids.filter((id) => !cache.has(id));
    if (missing.length > 0) {
      const read = (snap: IndexSnapshot | undefined) => (snap ? snap.text.get(missing) : Promise.resolve(new Map()));
      const products = await (pinned ? read(pinned) : served.withSnapshot(read));
      for (const id of missing) {
        const t = products.get(id)?.updated_at;
        const ms = t !== undefined ? Date.parse(t) : NaN;
        cache.set(id, Number.isFinite(ms) ? ms : null);
      }
    }
    const out = new Map<string, number>();
    for (const id of ids) {
      const v = cache.get(id);
      if (v !== undefined && v !== null) out.set(id, v);
    }
    return out;
  };
}
