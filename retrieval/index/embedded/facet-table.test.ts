import { describe, expect, it } from 'vitest';
import { mulberry32, type Rng } from '../../../core/rng.ts';
import {
  bucketOf,
  byCount,
  categoryLevels,
  filtersExcept,
  pathPrefixes,
  priceRanges,
  type FacetField,
  type FacetValue,
  type PriceFacet,
  type StoreSort,
} from '../facets.ts';
import { compileFilter, filterPayload } from '../stores.ts';
import type { Filters } from '../types.ts';
import { FacetTable, type FacetRow } from './facet-table.ts';

/**
 * The facet table's one-pass disjunctive counts and stored orders against the plainest
 * reference there is: per facet, every product of the match set tested with compileFilter on
 * filtersExcept (the semantics both back ends share), counted one by one; the match set
 * sorted with a comparator. Random catalogs, match sets and filters, with the awkward cases
 * drawn on purpose: missing fields, brands and attribute names differing in case or spacing,
 * parent categories, products without a price, duplicates in the match set.
 */
const CATEGORIES = [
  'Sports',
  'Sports/Footwear',
  'Sports/Footwear/Running',
  'Sports/Outdoor',
  'Home/Kitchen',
  '运动户外/跑步',
];
const BRANDS = ['Nike', 'nike', 'Adidas', ' ADIDAS', 'Puma', 'Ｎｉｋｅ'];
const COLORS = ['red', 'Red', 'blue', 'green', 'black'];
const FACETS: FacetField[] = ['category', 'brand', 'price', 'in_stock', 'attributes.color', 'attributes.Material'];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const maybe = <T>(rng: Rng, p: number, f: () => T): T | undefined => (rng() < p ? f() : undefined);

function catalog(rng: Rng, n: number): FacetRow[] {
  return Array.from({ length: n }, (_, i) => {
    const attributes: Record<string, string> = {};
    if (rng() < 0.7) attributes[pick(rng, ['color', 'Color'])] = pick(rng, COLORS);
    if (rng() < 0.5) attributes.material = pick(rng, ['cotton', 'Wool', 'wool']);
    const category = maybe(rng, 0.9, () => pick(rng, CATEGORIES));
    const brand = maybe(rng, 0.85, () => pick(rng, BRANDS));
    const price = maybe(rng, 0.9, () => Math.round(rng() * 50000) / 100);
    const updated_at = maybe(rng, 0.8, () => `2026-0${1 + Math.floor(rng() * 9)}-1${Math.floor(rng() * 10)}`);
    return {
      // Ids out of insertion order, so "ties by id" is not "ties by row".
      id: `p${String((i * 7919) % n).padStart(4, '0')}`,
      in_stock: rng() < 0.7,
      ...(category !== undefined && { category }),
      ...(brand !== undefined && { brand }),
      ...(price !== undefined && { price }),
      ...(updated_at !== undefined && { updated_at }),
      ...(Object.keys(attributes).length > 0 && { attributes }),
    };
  });
}

function randomFilters(rng: Rng): Filters | undefined {
  if (rng() < 0.1) return undefined;
  const some = <T>(xs: readonly T[]) => xs.filter(() => rng() < 0.3);
  const f: Filters = {};
  if (rng() < 0.5) f.category = rng() < 0.5 ? pick(rng, CATEGORIES) : some([...CATEGORIES, 'sports/', 'Nowhere']);
  if (rng() < 0.5) f.brand = rng() < 0.5 ? pick(rng, BRANDS) : some([...BRANDS, 'Unknown']);
  if (rng() < 0.4) f.price_min = Math.round(rng() * 300);
  if (rng() < 0.4) f.price_max = Math.round(100 + rng() * 400);
  if (rng() < 0.3) f.in_stock = rng() < 0.5;
  if (rng() < 0.4) {
    f.attributes = { [pick(rng, ['color', 'COLOR'])]: some(COLORS) };
    if (rng() < 0.3) f.attributes = { ...f.attributes, Color: pick(rng, COLORS) };
    if (rng() < 0.3) f.attributes = { ...f.attributes, material: 'WOOL' };
  }
  return f;
}

function referenceCount(products: readonly FacetRow[], field: FacetField, max: number): FacetValue[] | PriceFacet {
  if (field === 'price') {
    const prices = products.flatMap((p) => (p.price === undefined ? [] : [p.price]));
    if (prices.length === 0) return { buckets: [] };
    const min = Math.min(...prices);
    const maxPrice = Math.max(...prices);
    const ranges = priceRanges(min, maxPrice);
    const counts = ranges.map(() => 0);
    for (const p of prices) counts[bucketOf(ranges, p)]!++;
    return { min, max: maxPrice, buckets: ranges.map((b, i) => ({ ...b, count: counts[i]! })) };
  }
  const counts = new Map<string, number>();
  const add = (v: string) => counts.set(v, (counts.get(v) ?? 0) + 1);
  if (field === 'category') {
    for (const p of products) if (p.category !== undefined) pathPrefixes(p.category).forEach(add);
    return categoryLevels(counts, max);
  }
  if (field === 'in_stock') {
    const yes = products.filter((p) => p.in_stock).length;
    const out: FacetValue[] = [
      { value: true, count: yes },
      { value: false, count: products.length - yes },
    ];
    return out.filter((v) => v.count > 0).sort(byCount);
  }
  for (const p of products) {
    let v: string | undefined;
    if (field === 'brand') v = p.brand;
    else {
      const name = field.slice('attributes.'.length).toLowerCase();
      for (const [k, value] of Object.entries(p.attributes ?? {})) if (k.toLowerCase() === name) v = value;
    }
    if (v !== undefined) add(v);
  }
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort(byCount)
    .slice(0, max);
}

function referenceOrder(sort: StoreSort | undefined): (a: FacetRow, b: FacetRow) => number {
  const byId = (a: FacetRow, b: FacetRow) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (sort === undefined) return byId;
  if (sort === 'newest') {
    return (a, b) => {
      if (a.updated_at === b.updated_at) return byId(a, b);
      if (a.updated_at === undefined) return 1;
      if (b.updated_at === undefined) return -1;
      return a.updated_at < b.updated_at ? 1 : -1;
    };
  }
  const dir = sort === 'price:asc' ? 1 : -1;
  return (a, b) => {
    if (a.price === undefined || b.price === undefined) {
      return a.price === undefined ? (b.price === undefined ? byId(a, b) : 1) : -1;
    }
    return dir * (a.price - b.price) || byId(a, b);
  };
}

describe('FacetTable', () => {
  it('counts, totals and sorts as the reference does, on random catalogs, match sets and filters', () => {
    const rng = mulberry32(14);
    for (let round = 0; round < 6; round++) {
      const products = catalog(rng, 300 + Math.floor(rng() * 300));
      const table = new FacetTable(products);
      if (round % 2 === 0) table.warm();
      const payloads = products.map(filterPayload);
      for (let trial = 0; trial < 40; trial++) {
        const filters = randomFilters(rng);
        // A query's match set (a small or a large one, duplicates included) or a browse.
        const density = pick(rng, [0.01, 0.05, 0.5]);
        const matched =
          rng() < 0.3
            ? undefined
            : products.flatMap((_, row) => (rng() < density ? [row, ...(rng() < 0.1 ? [row] : [])] : []));
        const inMatch = [...new Set(matched ?? products.map((_, row) => row))];
        const sort = pick(rng, [undefined, 'price:asc', 'price:desc', 'newest'] as const);
        const k = pick(rng, [0, 1, 10, 1000]);
        const maxValues = pick(rng, [1, 3, 20]);

        const got = table.explore(matched, filters, { facets: FACETS, maxValues, sort, k });

        const pass = compileFilter(filters);
        const hits = inMatch.filter((row) => pass(payloads[row]!)).map((row) => products[row]!);
        expect(got.total).toBe(hits.length);
        for (const field of FACETS) {
          const own = compileFilter(filtersExcept(filters, field));
          const counted = inMatch.filter((row) => own(payloads[row]!)).map((row) => products[row]!);
          expect(got.facets[field as 'brand'], `${field} with ${JSON.stringify(filters)}`).toEqual(
            referenceCount(counted, field, maxValues),
          );
        }
        const key = (p: FacetRow) =>
          sort === undefined ? null : sort === 'newest' ? (p.updated_at ?? null) : (p.price ?? null);
        expect(got.sorted).toEqual(
          [...hits]
            .sort(referenceOrder(sort))
            .slice(0, k)
            .map((p) => ({ id: p.id, key: key(p) })),
        );
      }
    }
  });

  it('counts a browse filtered on one category or brand (read from postings) as the reference does', () => {
    const products = catalog(mulberry32(7), 400);
    const table = new FacetTable(products);
    const payloads = products.map(filterPayload);
    const pages: Filters[] = [
      ...CATEGORIES.map((category) => ({ category })),
      ...BRANDS.map((brand) => ({ brand })),
      { category: ['Sports/Outdoor', 'Home'] },
      { brand: ['nike', 'Puma', 'Unknown'] },
      { category: 'Nowhere' },
    ];
    for (const filters of pages) {
      const got = table.explore(undefined, filters, { facets: FACETS, maxValues: 20, sort: 'price:desc', k: 5 });
      const pass = compileFilter(filters);
      expect(got.total).toBe(payloads.filter(pass).length);
      for (const field of FACETS) {
        const own = compileFilter(filtersExcept(filters, field));
        expect(got.facets[field as 'brand'], `${field} with ${JSON.stringify(filters)}`).toEqual(
          referenceCount(
            products.filter((_, row) => own(payloads[row]!)),
            field,
            20,
          ),
        );
      }
      expect(got.sorted.map((h) => h.id)).toEqual(
        products
          .filter((_, row) => pass(payloads[row]!))
          .sort(referenceOrder('price:desc'))
          .slice(0, 5)
          .map((p) => p.id),
      );
    }
  });

  it('finds nothing in an empty match set and counts nothing for it', () => {
    const table = new FacetTable(catalog(mulberry32(1), 50));
    const got = table.explore([], undefined, { facets: FACETS, maxValues: 5, sort: 'price:asc', k: 10 });
    expect(got).toEqual({
      total: 0,
      sorted: [],
      facets: {
        category: [],
        brand: [],
        price: { buckets: [] },
        in_stock: [],
        'attributes.color': [],
        'attributes.Material': [],
      },
    });
  });
});
