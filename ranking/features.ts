import { readFileSync } from 'node:fs';
import { fnv1a32 } from '../core/embedding/ngram-features.ts';

/**
 * The ranker's featurizer: one pure function from the raw inputs of one (request, candidate)
 * pair to the model's input vector, exactly as ranking/feature-spec.json lists it. The Python
 * side (models/ranker/features.py) implements the same list; models/ranker/feature_vectors.json
 * holds shared test vectors both check (ranking/features.test.ts runs both).
 *
 * Values are rounded to 1e-6 (half up) before they reach the model as float32, so the vector the
 * served log records is bit for bit what the model saw.
 */
export const FEATURE_SPEC_VERSION = 'rank-features-v2';
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

/**
 * What one recall route said of the candidate. `coverage` (lexical routes): the share of the
 * query's terms the product holds, absent when the store does not report it (core/candidate.ts).
 */
export interface RawRoute {
  rank: number;
  score: number;
  coverage?: number | undefined;
}

/** Everything a feature is computed from: JSON-serialisable, identical input on both sides. */
export interface RawFeatures {
  surface: Surface;
  position: number;
  hour: number;
  routes: Record<string, RawRoute>;
  fused_score: number;
  item: RawItem;
  user: RawUser | null;
}

/** Feature names in input order (spec entries with a width expand to name_0..name_{w-1}). */
export const FEATURE_NAMES: readonly string[] = [
  'bm25_present',
  'bm25_score',
  'bm25_rank',
  'bm25_coverage',
  'bm25_all_terms',
  'vector_present',
  'vector_score',
  'vector_rank',
  'image_rank',
  'uservector_rank',
  'uservector_score',
  'itemcf_rank',
  'similar_rank',
  'trending_rank',
  'category_rank',
  'fused_score',
  'route_count',
  'price',
  'price_missing',
  'popularity',
  'age',
  'age_missing',
  ...Array.from({ length: HASH_BUCKETS }, (_, i) => `category_hash_${i}`),
  ...Array.from({ length: HASH_BUCKETS }, (_, i) => `brand_hash_${i}`),
  'user_known',
  'user_cat_share',
  'user_cat_top_share',
  'user_brand_share',
  'price_gap',
  'price_gap_abs',
  'price_band_known',
  'user_views',
  'user_clicks',
  'user_carts',
  'user_purchases',
  'user_impressions',
  'user_ctr',
  'item_recent',
  'item_purchased',
  'surface_search',
  'surface_feed',
  'position',
  'hour_sin',
  'hour_cos',
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
  return spec.features.flatMap((f) =>
    f.width ? Array.from({ length: f.width }, (_, i) => `${f.name}_${i}`) : [f.name],
  );
}

const round6 = (x: number): number => {
  const r = Math.round(x * 1e6) / 1e6;
  return r === 0 ? 0 : r; // no -0 in logs
};
const clip = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const invRank = (r: { rank: number } | undefined) => (r && r.rank >= 1 ? 1 / Math.log2(1 + r.rank) : 0);
const log1p0 = (x: number) => Math.log1p(Math.max(0, x));
const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
/** A BM25 hit's term coverage in [0, 1]; 1 when the store did not say. */
const bm25Coverage = (h: RawRoute) => (typeof h.coverage === 'number' ? clip(h.coverage, 0, 1) : 1);

const bucketCache = new Map<string, number>();
export function hashBucket(key: string): number {
  let b = bucketCache.get(key);
  if (b === undefined) {
    b = fnv1a32(key) % HASH_BUCKETS;
    if (bucketCache.size > 100_000) bucketCache.clear();
    bucketCache.set(key, b);
  }
  return b;
}

/** Top-level segment of a category key ("sports/shoes" → "sports"). */
export function topCategory(categoryKey: string): string {
  const i = categoryKey.indexOf('/');
  return i < 0 ? categoryKey : categoryKey.slice(0, i);
}

/** The model input for one candidate, as plain numbers (rounded to 1e-6), in FEATURE_NAMES order. */
export function featurize(raw: RawFeatures): number[] {
  return Array.from(featurizeInto(raw, new Float64Array(FEATURE_COUNT), 0).subarray(0, FEATURE_COUNT));
}

/**
 * Writes the features of one candidate into `out` at `offset` (FEATURE_COUNT values) and returns
 * `out`: the serving path fills one buffer for a whole request without per-candidate garbage.
 */
export function featurizeInto(raw: RawFeatures, out: Float64Array, offset: number): Float64Array {
  const r = raw.routes;
  const it = raw.item;
  const u = raw.user;
  let k = offset;
  const put = (x: number) => {
    out[k++] = round6(x);
  };
  // match
  put(r.bm25 ? 1 : 0);
  put(r.bm25 ? log1p0(r.bm25.score) : 0);
  put(invRank(r.bm25));
  // BM25 score and rank cannot tell a product holding one of three query words from one holding
  // all three. A store that does not report coverage counts as a full match, as fusion does
  // (retrieval/recall/fusion.ts): unknown must not read as a weak match.
  const coverage = r.bm25 ? bm25Coverage(r.bm25) : 0;
  put(coverage);
  put(r.bm25 && coverage >= 1 ? 1 : 0);
  put(r.vector ? 1 : 0);
  put(r.vector ? clip(r.vector.score, -1, 1) : 0);
  put(invRank(r.vector));
  put(invRank(r.image));
  put(invRank(r.uservector));
  put(r.uservector ? clip(r.uservector.score, -1, 1) : 0);
  put(invRank(r.itemcf));
  put(invRank(r.similar));
  put(invRank(r.trending));
  put(invRank(r.category));
  put(clip(60 * raw.fused_score, 0, 5));
  let routes = 0;
  for (const _ in r) routes++;
  put(routes / 5);
  // item
  const priceKnown = it.price !== null && it.price >= 0;
  put(priceKnown ? log1p0(it.price!) / 10 : 0);
  put(priceKnown ? 0 : 1);
  put(log1p0(it.popularity) / 10);
  const ageKnown = it.age_days !== null;
  put(ageKnown ? log1p0(it.age_days!) / 10 : 0);
  put(ageKnown ? 0 : 1);
  out.fill(0, k, k + 2 * HASH_BUCKETS);
  if (it.category_key) out[k + hashBucket(topCategory(it.category_key))] = 1;
  k += HASH_BUCKETS;
  if (it.brand_key) out[k + hashBucket(it.brand_key)] = 1;
  k += HASH_BUCKETS;
  // user
  if (u) {
    put(1);
    put(ratio(u.cat_affinity, u.cat_total));
    put(clip(ratio(u.cat_top_affinity, u.cat_total), 0, 1));
    put(ratio(u.brand_affinity, u.brand_total));
    const gapKnown = u.price_band !== null && u.price_band > 0 && it.price !== null && it.price > 0;
    const gap = gapKnown ? clip((Math.log(it.price!) - Math.log(u.price_band!)) / 2, -3, 3) : 0;
    put(gap);
    put(Math.abs(gap));
    put(gapKnown ? 1 : 0);
    const c = u.counts;
    put(log1p0(c.view) / 5);
    put(log1p0(c.click) / 5);
    put(log1p0(c.add_to_cart) / 5);
    put(log1p0(c.purchase) / 5);
    put(log1p0(c.impression) / 5);
    put((c.click + 1) / (c.impression + 10));
    put(u.recent ? 1 : 0);
    put(u.purchased ? 1 : 0);
  } else {
    for (let i = 0; i < 12; i++) put(0);
    put(0.1);
    put(0);
    put(0);
  }
  // context
  put(raw.surface === 'search' ? 1 : 0);
  put(raw.surface === 'feed' ? 1 : 0);
  put(1 / Math.log2(2 + raw.position));
  const angle = (2 * Math.PI * raw.hour) / 24;
  put(Math.sin(angle));
  put(Math.cos(angle));
  if (k - offset !== FEATURE_COUNT)
    throw new Error(`featurizer wrote ${k - offset} features, spec has ${FEATURE_COUNT}`);
  return out;
}
