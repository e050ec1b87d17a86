import type { Filters } from './types.ts';

/**
 * Facets and sorted browsing over a match set: the vocabulary every text store speaks, and the
 * pure pieces (price buckets, disjunctive filter sets, value order) both back ends share so their
 * answers are the same to the count.
 */

/** `category`, `brand`, `price`, `in_stock`, or `attributes.<name>`. */
export type FacetField = 'category' | 'brand' | 'price' | 'in_stock' | `attributes.${string}`;

export const FACET_FIELDS = ['category', 'brand', 'price', 'in_stock'] as const;

export function isFacetField(s: string): s is FacetField {
  return (FACET_FIELDS as readonly string[]).includes(s) || /^attributes\.[^.\s]{1,100}$/.test(s);
}

export interface FacetValue {
  value: string | boolean;
  count: number;
}

/** A category value is a path prefix; `level` 1 is the top of the tree. */
export interface CategoryFacetValue extends FacetValue {
  value: string;
  level: number;
}

export interface PriceBucket {
  /** Inclusive. */
  from: number;
  /** Exclusive, except for the last bucket, which holds `max`. */
  to: number;
  count: number;
}

export interface PriceFacet {
  /** Absent when no matching product has a price. */
  min?: number;
  max?: number;
  buckets: PriceBucket[];
}

export interface FacetCounts {
  category?: CategoryFacetValue[];
  brand?: FacetValue[];
  in_stock?: FacetValue[];
  price?: PriceFacet;
  [attribute: `attributes.${string}`]: FacetValue[];
}

/** Orders of a whole match set the stores can sort by (popularity lives in the behaviour state, not the index). */
export type StoreSort = 'price:asc' | 'price:desc' | 'newest';

/**
 * The products a query matches. Built by retrieval/recall/match-set.ts, the one place that says
 * what "matching" means; stores only evaluate it:
 *   (no `q` and no `ids`: every product) or (every analysed term of `q` in some text field) or
 *   (id in `ids`), and then `filters`, and (when given) id in `only`.
 */
export interface MatchQuery {
  q?: string | undefined;
  ids?: readonly string[] | undefined;
  filters?: Filters | undefined;
  /** Restrict to these ids (popularity sort asks which of the best-sellers match). */
  only?: readonly string[] | undefined;
}

export interface ExploreRequest {
  facets: readonly FacetField[];
  /** Values per facet (per level for category). */
  maxValues: number;
  /** Omitted: the `sorted` list is by id. */
  sort?: StoreSort | undefined;
  /** How many of the sorted match set to return. */
  k: number;
}

export interface SortedHit {
  id: string;
  /** The sort key (price, or updated_at); null when the product has none (sorted last). */
  key: number | string | null;
}

export interface Explored {
  /** Size of the match set, all filters applied. */
  total: number;
  facets: FacetCounts;
  /** The first k of the match set, all filters applied, in the requested order (ties by id). */
  sorted: SortedHit[];
}

/** The filters a facet's counts apply: all but its own (Algolia's disjunctive faceting). */
export function filtersExcept(filters: Filters | undefined, field: FacetField): Filters | undefined {
  if (!filters) return undefined;
  const out: Filters = { ...filters };
  if (field === 'price') {
    delete out.price_min;
    delete out.price_max;
  } else if (field.startsWith('attributes.')) {
    const name = field.slice('attributes.'.length);
    const attrs = Object.fromEntries(
      Object.entries(filters.attributes ?? {}).filter(([k]) => k.toLowerCase() !== name.toLowerCase()),
    );
    if (Object.keys(attrs).length > 0) out.attributes = attrs;
    else delete out.attributes;
  } else delete out[field as 'category' | 'brand' | 'in_stock'];
  return out;
}

/** Most frequent first, then by value in code-unit order (as Elasticsearch orders keys): the same on every back end. */
export function byCount(a: FacetValue, b: FacetValue): number {
  const x = String(a.value);
  const y = String(b.value);
  return b.count - a.count || (x < y ? -1 : x > y ? 1 : 0);
}

/** The top `max` of each level of the category tree, counts per path prefix, ordered by level then count. */
export function categoryLevels(counts: ReadonlyMap<string, number>, max: number): CategoryFacetValue[] {
  const levels = new Map<number, CategoryFacetValue[]>();
  for (const [value, count] of counts) {
    const level = value.split('/').length;
    let list = levels.get(level);
    if (!list) levels.set(level, (list = []));
    list.push({ value, count, level });
  }
  return [...levels.keys()].sort((a, b) => a - b).flatMap((l) => levels.get(l)!.sort(byCount).slice(0, max));
}

/** Every '/'-prefix of a category path, itself included: "A/B/C" → ["A", "A/B", "A/B/C"]. */
export function pathPrefixes(path: string): string[] {
  const parts = path.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** How many price buckets a facet shows at most. */
export const PRICE_BUCKETS = 5;

/**
 * Bucket edges over [min, max]: a "nice" width (1, 2, 2.5 or 5 × 10^n), the first edge a
 * multiple of it, as few buckets as cover the range (at most about PRICE_BUCKETS + 1).
 * Bucket i is [base + i·step, base + (i+1)·step); the last one holds max.
 */
export function priceEdges(min: number, max: number): { base: number; step: number; n: number } {
  const span = max - min;
  if (!(span > 0)) return { base: min, step: Math.max(1, Math.abs(min)), n: 1 };
  const raw = span / PRICE_BUCKETS;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const base = Math.floor(min / step) * step;
  const n = Math.floor((max - base) / step) + 1;
  return { base, step, n };
}

/** The bucket ranges, [from, to), the last one open-ended in the query (it holds max). */
export function priceRanges(min: number, max: number): Array<{ from: number; to: number }> {
  const { base, step, n } = priceEdges(min, max);
  return Array.from({ length: n }, (_, i) => ({ from: round(base + i * step), to: round(base + (i + 1) * step) }));
}

/** Which of `ranges` a price falls in (ranges from priceRanges). */
export function bucketOf(ranges: ReadonlyArray<{ from: number; to: number }>, price: number): number {
  for (let i = ranges.length - 1; i >= 0; i--) if (price >= ranges[i]!.from) return i;
  return 0;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
