import { readFileSync } from 'node:fs';
import { fnv1a32 } from '../src/embedding/ngram-features.ts';

/**
 * The ranker's featurizer: one pure function from the raw inputs of one (request, candidate)
 * pair to the model's input vector, exactly as ranking/feature-spec.json lists it. The Python
 * side (models/ranker/features.py) implements the same list; models/ranker/feature_vectors.json
 * holds shared test vectors both check (ranking/features.test.ts runs both).
 *
 * Values are rounded to 1e-6 (half up) before they reach the model as float32, so the vector the
 * served log records is bit for bit what the model saw.
 */
export const FEATURE_SPEC_VERSION = 'rank-features-v1';
export const HASH_BUCKETS = 16;

export type Surface = 'search' | 'feed';

export const SEARCH_ROUTES = ['bm25', 'vector', 'image'] as const;
export const FEED_ROUTES = ['uservector', 'itemcf', 'similar', 'trending', 'category'] as const;

export interface RawUser {
  cat_affinity: number;
  cat_top_affinity: number;
  cat_total: number;
  brand_affinity: number;
  brand_total: number;
  price_band: number | null;
  counts: { view: number; click: number; add_to_cart: number; purchase: number; impression: number };
  recent: boolean;
  purchased: boolean;
}

export interface RawItem {
  category_key: string | null;
  brand_key: string | null;
  price: number | null;
  popularity: number;
  age_days: number | null;
}

/** Everything a feature is computed from: JSON-serialisable, identical input on both sides. */
export interface RawFeatures {
  surface: Surface;
  position: number;
  hour: number;
  routes: Record<string, { rank: number; score: number }>;
  fused_score: number;
  item: RawItem;
  user: RawUser | null;
}

/** Feature names in input order (spec entries with a width expand to name_0..name_{w-1}). */
export const FEATURE_NAMES: readonly string[] = [
  'bm25_present', 'bm25_score', 'bm25_rank', 'vector_present', 'vector_score', 'vector_rank', 'image_rank',
  'uservector_rank', 'uservector_score', 'itemcf_rank', 'similar_rank', 'trending_rank', 'category_rank',
  'fused_score', 'route_count',
  'price', 'price_missing', 'popularity', 'age', 'age_missing',
  ...Array.from({ length: HASH_BUCKETS }, (_, i) => `category_hash_${i}`),
  ...Array.from({ length: HASH_BUCKETS }, (_, i) => `brand_hash_${i}`),
  'user_known', 'user_cat_share', 'user_cat_top_share', 'user_brand_share', 'price_gap', 'price_gap_abs', 'price_band_known',
  'user_views', 'user_clicks', 'user_carts', 'user_purchases', 'user_impressions', 'user_ctr', 'item_recent', 'item_purchased',
  'surface_search', 'surface_feed', 'position', 'hour_sin', 'hour_cos',
];
export const FEATURE_COUNT = FEATURE_NAMES.length;

export interface FeatureSpec {
  version: string;
  features: Array<{ name: string; group: string; source: string; transform: string; width?: number }>;
}

/** The spec file, for tests and tools. */
export function loadFeatureSpec(): FeatureSpec {
  return JSON.parse(readFileSync(new URL('./feature-spec.json', import.meta.url), 'utf8')) as FeatureSpec;
}

/** The spec's names expanded (width n → name_0..name_{n-1}), in order. */
export function expandSpecNames(spec: FeatureSpec): string[] {
  return spec.features.flatMap((f) => (f.width ? Array.from({ length: f.width }, (_, i) => `${f.name}_${i}`) : [f.name]));
}

const round6 = (x: number): number => {
  const r = Math.round(x * 1e6) / 1e6;
  return r === 0 ? 0 : r; // no -0 in logs
};
const clip = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const invRank = (r: { rank: number } | undefined) => (r && r.rank >= 1 ? 1 / Math.log2(1 + r.rank) : 0);
const log1p0 = (x: number) => Math.log1p(Math.max(0, x));
const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);

export function hashBucket(key: string): number {
  return fnv1a32(key) % HASH_BUCKETS;
}

/** Top-level segment of a category key ("sports/shoes" → "sports"). */
export function topCategory(categoryKey: string): string {
  return categoryKey.split('/')[0]!;
}

/** The model input for one candidate, as plain numbers (rounded to 1e-6), in FEATURE_NAMES order. */
export function featurize(raw: RawFeatures): number[] {
  const r = raw.routes;
  const it = raw.item;
  const u = raw.user;
  const out: number[] = [];
  // match
  out.push(r.bm25 ? 1 : 0, r.bm25 ? log1p0(r.bm25.score) : 0, invRank(r.bm25));
  out.push(r.vector ? 1 : 0, r.vector ? clip(r.vector.score, -1, 1) : 0, invRank(r.vector));
  out.push(invRank(r.image));
  out.push(invRank(r.uservector), r.uservector ? clip(r.uservector.score, -1, 1) : 0);
  out.push(invRank(r.itemcf), invRank(r.similar), invRank(r.trending), invRank(r.category));
  out.push(clip(60 * raw.fused_score, 0, 5), Object.keys(r).length / 5);
  // item
  const priceKnown = it.price !== null && it.price >= 0;
  out.push(priceKnown ? log1p0(it.price!) / 10 : 0, priceKnown ? 0 : 1);
  out.push(log1p0(it.popularity) / 10);
  const ageKnown = it.age_days !== null;
  out.push(ageKnown ? log1p0(it.age_days!) / 10 : 0, ageKnown ? 0 : 1);
  const cat = new Array<number>(HASH_BUCKETS).fill(0);
  if (it.category_key) cat[hashBucket(topCategory(it.category_key))] = 1;
  const brand = new Array<number>(HASH_BUCKETS).fill(0);
  if (it.brand_key) brand[hashBucket(it.brand_key)] = 1;
  out.push(...cat, ...brand);
  // user
  if (u) {
    out.push(1, ratio(u.cat_affinity, u.cat_total), clip(ratio(u.cat_top_affinity, u.cat_total), 0, 1), ratio(u.brand_affinity, u.brand_total));
    const gapKnown = u.price_band !== null && u.price_band > 0 && it.price !== null && it.price > 0;
    const gap = gapKnown ? clip((Math.log(it.price!) - Math.log(u.price_band!)) / 2, -3, 3) : 0;
    out.push(gap, Math.abs(gap), gapKnown ? 1 : 0);
    const c = u.counts;
    out.push(log1p0(c.view) / 5, log1p0(c.click) / 5, log1p0(c.add_to_cart) / 5, log1p0(c.purchase) / 5, log1p0(c.impression) / 5);
    out.push((c.click + 1) / (c.impression + 10), u.recent ? 1 : 0, u.purchased ? 1 : 0);
  } else {
    out.push(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.1, 0, 0);
  }
  // context
  out.push(raw.surface === 'search' ? 1 : 0, raw.surface === 'feed' ? 1 : 0, 1 / Math.log2(2 + raw.position));
  const angle = (2 * Math.PI * raw.hour) / 24;
  out.push(Math.sin(angle), Math.cos(angle));
  return out.map(round6);
}
