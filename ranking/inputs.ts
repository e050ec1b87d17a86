import { priceBand, type UserState } from '../behavior/user-state.ts';
import { topCategory, type RawFeatures, type RawRoute, type RawUser, type Surface } from './features.ts';

/** One fused candidate as the ranker sees it: what recall found and the product's attributes. */
export interface RankInput {
  id: string;
  /** 0-based slot in fusion order. */
  fusion_position: number;
  fused_score: number;
  /** Every route that found it; a lexical route's `coverage` becomes the term-coverage features. */
  routes: Record<string, RawRoute>;
  category_key?: string | undefined;
  brand_key?: string | undefined;
  price?: number | undefined;
  /** Epoch ms of the product's updated_at, when the catalog gives one. */
  updated_ms?: number | undefined;
}

export interface RankContext {
  surface: Surface;
  /** Request time, epoch ms. */
  now: number;
}

const DAY_MS = 86_400_000;

/**
 * The per-request part of the user features, computed once: totals, top-level category sums,
 * price band, and the sets membership is checked against. Pure.
 */
export interface UserContext {
  state: UserState;
  catTotal: number;
  brandTotal: number;
  topSums: Map<string, number>;
  band: number | null;
  recent: Set<string>;
  purchased: Set<string>;
}

export function userContext(state: UserState | undefined): UserContext | undefined {
  if (!state) return undefined;
  const topSums = new Map<string, number>();
  let catTotal = 0;
  for (const [k, v] of Object.entries(state.categories)) {
    catTotal += v;
    const top = topCategory(k);
    topSums.set(top, (topSums.get(top) ?? 0) + v);
  }
  let brandTotal = 0;
  for (const v of Object.values(state.brands)) brandTotal += v;
  return {
    state,
    catTotal,
    brandTotal,
    topSums,
    band: priceBand(state) ?? null,
    recent: new Set(state.recent.map((r) => r.id)),
    purchased: new Set(state.purchased),
  };
}

function rawUser(u: UserContext, c: RankInput): RawUser {
  const cat = c.category_key;
  // Affinities are kept per full category path; prefixes of it count as the same top level.
  const catAff = cat !== undefined ? (u.state.categories[cat] ?? 0) : 0;
  const top = cat !== undefined ? (u.topSums.get(topCategory(cat)) ?? 0) : 0;
  return {
    cat_affinity: catAff,
    cat_top_affinity: top,
    cat_total: u.catTotal,
    brand_affinity: c.brand_key !== undefined ? (u.state.brands[c.brand_key] ?? 0) : 0,
    brand_total: u.brandTotal,
    price_band: u.band,
    counts: u.state.counts,
    recent: u.recent.has(c.id),
    purchased: u.purchased.has(c.id),
  };
}

/** The raw feature inputs of one candidate (ranking/feature-spec.json, "raw_input"). Pure. */
export function rawInputs(
  ctx: RankContext,
  c: RankInput,
  user: UserContext | undefined,
  popularity: number,
): RawFeatures {
  return {
    surface: ctx.surface,
    position: c.fusion_position,
    hour: Math.floor((((ctx.now % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000),
    routes: c.routes,
    fused_score: c.fused_score,
    item: {
      category_key: c.category_key ?? null,
      brand_key: c.brand_key ?? null,
      price: c.price ?? null,
      popularity,
      age_days: c.updated_ms !== undefined ? Math.max(0, (ctx.now - c.updated_ms) / DAY_MS) : null,
    },
    user: user && hasHistory(user.state) ? rawUser(user, c) : null,
  };
}

function hasHistory(s: UserState): boolean {
  const c = s.counts;
  return c.view + c.click + c.add_to_cart + c.purchase + c.impression > 0;
}
