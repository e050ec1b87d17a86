import type { Candidate, DiversityMove } from '../core/candidate.ts';
import { filterKey, type IndexSnapshot, type SnapshotSource } from '../retrieval/index/stores.ts';
import type { MmrSurfaceConfig } from './config.ts';
import { mmr, type MmrOptions } from './mmr.ts';

/**
 * Glue between the ranked order and the pure MMR (diversity/mmr.ts): reads the head's product
 * vectors from the served index, reorders the head, and says how it went. Vectors that cannot
 * be read never fail the request: MMR then runs on the category / brand penalties only, and
 * debug and `shelf_mmr_vectors_unavailable_total` say so.
 */
export type VectorLoader = (ids: readonly string[]) => Promise<Map<string, Float32Array>>;

export class VectorsUnavailable extends Error {}

/** Product vectors from whatever generation is served when called (offline tools; requests pin theirs). */
export function servedVectors(source: SnapshotSource): VectorLoader {
  return (ids) => source.withSnapshot((snap) => snapshotVectors(snap)(ids));
}

/** Product vectors from the request's pinned snapshot; throws VectorsUnavailable without a vector store. */
export function snapshotVectors(snapshot: IndexSnapshot | undefined): VectorLoader {
  return async (ids) => {
    const store = snapshot?.vectors;
    if (!store?.vectorsOf) throw new VectorsUnavailable('the index has no vector store');
    return store.vectorsOf(ids);
  };
}

export interface MmrDebug {
  enabled: boolean;
  lambda?: number;
  /** Items actually reordered: min(top_n, ranking window, candidates). */
  top_n?: number;
  category_weight?: number;
  brand_weight?: number;
  max_per_brand?: number;
  max_per_category?: number;
  /** `embeddings`: cosine of product vectors blended with category / brand; `keys_only`: vectors unavailable; `unused`: λ = 1 or a single item. */
  similarity?: 'embeddings' | 'keys_only' | 'unused';
  reason?: string;
  caps_relaxed?: number;
  took_ms?: number;
}

/**
 * How many ranked items MMR reorders (before capping by the candidates there are): top_n, but
 * never past the ranking window, beyond which scores are fusion scores on another scale.
 * Everything past it keeps its order, so callers size their fetch and skip pages by it.
 */
export function mmrHead(cfg: Pick<MmrSurfaceConfig, 'top_n'>, rankWindow: number | undefined): number {
  return Math.min(cfg.top_n, rankWindow ?? Infinity);
}

export interface DiversifyContext {
  vectors: VectorLoader;
  /** Caps hold per page of this size. */
  pageSize: number;
  /** End of the page shown: MMR fills slots up to here (see MmrOptions.depth). Default: the head. */
  depth?: number | undefined;
  /** Ranker window when ranking is on (see mmrHead). */
  rankWindow?: number | undefined;
  /** Called when vectors could not be read (metrics). */
  onVectorsUnavailable?: ((reason: 'no_vector_store' | 'error') => void) | undefined;
}

/**
 * Reorders the head of `order` by MMR (relevance: each candidate's current score). Candidates MMR
 * placed carry their `diversity` move; the rest keep their order after the head.
 */
export async function diversify(
  order: readonly Candidate[],
  cfg: MmrSurfaceConfig,
  ctx: DiversifyContext,
): Promise<{ order: Candidate[]; debug: MmrDebug }> {
  const t0 = performance.now();
  const n = Math.min(mmrHead(cfg, ctx.rankWindow), order.length);
  const head = order.slice(0, n);
  let vectors = new Map<string, Float32Array>();
  let reason: string | undefined;
  const needsSimilarity = cfg.lambda < 1 && n > 1;
  if (needsSimilarity) {
    try {
      vectors = await ctx.vectors(head.map((c) => c.id));
    } catch (err) {
      const unavailable = err instanceof VectorsUnavailable;
      reason = unavailable ? err.message : `vectors could not be read: ${(err as Error).message}`;
      ctx.onVectorsUnavailable?.(unavailable ? 'no_vector_store' : 'error');
    }
  }
  const result = mmr(
    head.map((c) => ({
      id: c.id,
      relevance: c.score,
      vector: vectors.get(c.id),
      ...(c.product.category !== undefined && { categoryKey: filterKey(c.product.category) }),
      ...(c.product.brand !== undefined && { brandKey: filterKey(c.product.brand) }),
    })),
    mmrOptions(cfg, n, ctx.pageSize, ctx.depth),
  );
  const out: Candidate[] = [
    ...result.items.map((p) => {
      const c = head[p.position_before]!;
      // Slots past `depth` are placed in ranked order without an MMR pick: no relevance, no move to report.
      if (p.relevance === undefined) return c;
      const move = {
        relevance: p.relevance,
        penalty: p.penalty ?? 0,
        position_before: p.position_before,
        position_after: p.position_after,
        ...(p.cap_relaxed && { cap_relaxed: true }),
      };
      return { ...c, diversity: move };
    }),
    ...order.slice(n),
  ];
  return {
    order: out,
    debug: {
      enabled: true,
      lambda: cfg.lambda,
      top_n: n,
      category_weight: cfg.category_weight,
      brand_weight: cfg.brand_weight,
      max_per_brand: cfg.max_per_brand,
      max_per_category: cfg.max_per_category,
      similarity: !needsSimilarity ? 'unused' : reason === undefined ? 'embeddings' : 'keys_only',
      ...(reason !== undefined && { reason }),
      caps_relaxed: result.caps_relaxed,
      took_ms: Math.round((performance.now() - t0) * 1000) / 1000,
    },
  };
}

/** A surface's MMR settings as mmr() takes them; a cap of 0 means no cap. */
export function mmrOptions(
  cfg: MmrSurfaceConfig,
  topN: number,
  pageSize: number,
  depth: number | undefined,
): MmrOptions {
  return {
    lambda: cfg.lambda,
    top_n: topN,
    category_weight: cfg.category_weight,
    brand_weight: cfg.brand_weight,
    page_size: pageSize,
    ...(depth !== undefined && { depth }),
    caps: {
      ...(cfg.max_per_brand > 0 && { per_brand: cfg.max_per_brand }),
      ...(cfg.max_per_category > 0 && { per_category: cfg.max_per_category }),
    },
  };
}

/** Per-item debug fields (rounded) for a diversified slot. */
export function mmrItemDebug(p: DiversityMove | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  const r = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    mmr: {
      relevance: r(p.relevance),
      penalty: r(p.penalty ?? 0),
      position_before: p.position_before,
      position_after: p.position_after,
      ...(p.cap_relaxed && { cap_relaxed: true }),
    },
  };
}
