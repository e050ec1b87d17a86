import type { Product } from '../../../core/catalog/product.ts';
import {
  bucketOf,
  byCount,
  categoryLevels,
  pathPrefixes,
  priceRanges,
  type ExploreRequest,
  type Explored,
  type FacetCounts,
  type FacetField,
  type FacetValue,
  type PriceFacet,
  type SortedHit,
  type StoreSort,
} from '../facets.ts';
import { filterKey, underCategory } from '../stores.ts';
import { filterValues, type Filters } from '../types.ts';

/** What the table keeps of a product: its filter and facet fields. */
export type FacetRow = Pick<Product, 'id' | 'category' | 'brand' | 'price' | 'in_stock' | 'updated_at' | 'attributes'>;

/**
 * The embedded engine's facet and sort columns for one generation: every product's facet
 * values as ordinals (an index into the field's distinct values) in typed arrays, row by row.
 *
 * A request then never touches a product object or a string per row: a filter becomes a
 * lookup table over a field's distinct values (a few hundred brands, a few dozen categories),
 * and one pass over the match set tests each row against every filtered field and adds it to
 * the counts it belongs to. Disjunctive faceting (a facet's own filter does not narrow its own
 * counts) falls out of the same pass: a row that fails no filter counts everywhere, a row that
 * fails exactly one filtered field counts only for that field's facet, any other row nowhere.
 * A sort is a walk down an order of all rows computed once (or, for a small match set, the
 * match set sorted by its rows' positions in that order).
 *
 * The semantics are compileFilter's and filtersExcept's (stores.ts, facets.ts), which
 * facet-table.test.ts checks against on random filters.
 */
export class FacetTable {
  readonly ids: string[];
  private readonly byId = new Map<string, number>();
  private readonly category: Interned;
  /** The filterKey() of each distinct category, and its path prefixes (the values it counts for). */
  private readonly categoryKeys: string[];
  private readonly categoryPrefixes: string[][];
  private readonly brand: Interned;
  private readonly brandKeys: string[];
  /** 1: in stock, 0: not. */
  private readonly stock: Int32Array;
  /** NaN: no price. */
  private readonly price: Float64Array;
  private readonly updated: Array<string | undefined>;
  private readonly attributes: Array<Record<string, string> | undefined>;
  /** Attribute columns built on first use: for counting (by lowercased name, display values) and for filtering (by filterKey() of name and value). */
  private readonly attributeCounts = new Map<string, Interned>();
  private readonly attributeFilters = new Map<string, Interned>();
  private readonly postingLists = new Map<Interned, { offsets: Int32Array; rows: Int32Array }>();
  /** Row indices in a stored order, and each row's position in it. */
  private readonly orders = new Map<StoreSort | 'id', { order: Int32Array; rank: Int32Array }>();

  constructor(rows: readonly FacetRow[]) {
    const n = rows.length;
    this.ids = new Array<string>(n);
    this.stock = new Int32Array(n);
    this.price = new Float64Array(n);
    this.updated = new Array<string | undefined>(n);
    this.attributes = new Array<Record<string, string> | undefined>(n);
    const category = new Interner(n);
    const brand = new Interner(n);
    rows.forEach((p, i) => {
      this.ids[i] = p.id;
      this.byId.set(p.id, i);
      category.add(i, p.category);
      brand.add(i, p.brand);
      this.stock[i] = p.in_stock ? 1 : 0;
      this.price[i] = p.price ?? NaN;
      this.updated[i] = p.updated_at;
      this.attributes[i] = p.attributes;
    });
    this.category = category.done();
    this.categoryKeys = this.category.values.map(filterKey);
    this.categoryPrefixes = this.category.values.map(pathPrefixes);
    this.brand = brand.done();
    this.brandKeys = this.brand.values.map(filterKey);
  }

  get size(): number {
    return this.ids.length;
  }

  rowOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  /** Computes the stored orders now (about 0.1 s per 100,000 products), so no request pays for them. */
  warm(): void {
    for (const sort of ['id', 'price:asc', 'price:desc', 'newest'] as const) this.order(sort);
    this.postings(this.category);
    this.postings(this.brand);
  }

  /**
   * Facets, total and the sorted head over `matched` (row indices of the match set before
   * filters, duplicates allowed; undefined: every product).
   */
  explore(matched: ArrayLike<number> | undefined, filters: Filters | undefined, r: ExploreRequest): Explored {
    const size = this.size;
    let groups = this.compile(filters);
    // A browse filtered on one field with postings (a category or brand page): read only the
    // rows of the allowed values, and take that field's own facet from the catalog-wide counts,
    // which is what disjunctive faceting gives when no other filter applies.
    let preset: { label: string; counts: Int32Array } | undefined;
    if (!matched && groups.length === 1 && groups[0]!.values) {
      const { column, ok } = groups[0]!.values;
      const { offsets, rows } = this.postings(column);
      const parts: Int32Array[] = [];
      for (let o = 0; o + 1 < offsets.length; o++)
        if (ok[o + 1]) parts.push(rows.subarray(offsets[o]!, offsets[o + 1]!));
      const within = new Int32Array(parts.reduce((a, x) => a + x.length, 0));
      parts.reduce((at, x) => (within.set(x, at), at + x.length), 0);
      matched = within;
      preset = { label: groups[0]!.label, counts: offsets.subarray(1).map((end, o) => end - offsets[o]!) };
      groups = [];
    }
    const g = groups.length;
    const tests = groups.map((x) => x.pass);

    // Per facet: the ordinal column it counts (null: price, which collects its rows), the
    // counters, and the filter group that does not apply to it (-1: every filter applies).
    const fields = r.facets;
    const columns = fields.map((f) => this.facetColumn(f));
    const counts = columns.map((c) => (c ? new Int32Array(c.values.length) : new Int32Array(0)));
    const priceRows = columns.map((c) => (c ? undefined : new Int32Array(matched ? matched.length : size)));
    const priceLen = new Int32Array(fields.length);
    // -2: counted already (preset).
    const own = fields.map((f) =>
      preset?.label === labelOf(f) ? -2 : groups.findIndex((x) => x.label === labelOf(f)),
    );

    const hit = new Uint8Array(size);
    const seen = matched && !preset ? new Uint8Array(size) : undefined;
    const n = matched ? matched.length : size;
    let total = 0;
    const count = (j: number, row: number) => {
      const c = columns[j];
      if (c) {
        const o = c.ord[row]!;
        if (o >= 0) counts[j]![o]!++;
      } else priceRows[j]![priceLen[j]!++] = row;
    };
    for (let i = 0; i < n; i++) {
      const row = matched ? matched[i]! : i;
      if (seen) {
        if (seen[row]) continue;
        seen[row] = 1;
      }
      let failed = -1;
      let fails = 0;
      for (let t = 0; t < g; t++) {
        if (!tests[t]!(row)) {
          failed = t;
          if (++fails > 1) break;
        }
      }
      if (fails === 0) {
        hit[row] = 1;
        total++;
        for (let j = 0; j < fields.length; j++) if (own[j] !== -2) count(j, row);
      } else if (fails === 1) {
        for (let j = 0; j < fields.length; j++) if (own[j] === failed) count(j, row);
      }
    }

    const facets: FacetCounts = {};
    fields.forEach((field, j) => {
      const c = columns[j];
      (facets as Record<string, unknown>)[field] = c
        ? this.values(field, c, own[j] === -2 ? preset!.counts : counts[j]!, r.maxValues)
        : this.priceFacet(priceRows[j]!.subarray(0, priceLen[j]!));
    });
    return { total, facets, sorted: this.sorted(hit, total, r.sort, r.k) };
  }

  /** The filters as tests on a row, one per field (the unit disjunctive faceting leaves out). */
  private compile(f: Filters | undefined): FilterGroup[] {
    if (!f) return [];
    const tests: FilterGroup[] = [];
    const categories = filterValues(f.category).map(underCategory);
    if (categories.length > 0) {
      const ok = lookup(this.categoryKeys, (key) => categories.some((test) => test(key)));
      const ord = this.category.ord;
      tests.push({
        label: 'category',
        pass: (row) => ok[ord[row]! + 1] === 1,
        values: { column: this.category, ok },
      });
    }
    const brands = filterValues(f.brand).map(filterKey);
    if (brands.length > 0) {
      const ok = lookup(this.brandKeys, (key) => brands.includes(key));
      const ord = this.brand.ord;
      tests.push({ label: 'brand', pass: (row) => ok[ord[row]! + 1] === 1, values: { column: this.brand, ok } });
    }
    for (const [name, values] of Object.entries(f.attributes ?? {})) {
      const wanted = new Set(filterValues(values).map(filterKey));
      const column = this.attributeFilter(filterKey(name));
      const ok = lookup(column.values, (v) => wanted.has(v));
      const ord = column.ord;
      tests.push({ label: `attributes.${name.toLowerCase()}`, pass: (row) => ok[ord[row]! + 1] === 1 });
    }
    const { price_min, price_max, in_stock } = f;
    if (price_min !== undefined || price_max !== undefined) {
      const lo = price_min ?? -Infinity;
      const hi = price_max ?? Infinity;
      const price = this.price;
      // NaN (no price) fails both comparisons: a product without a price never passes a price filter.
      tests.push({ label: 'price', pass: (row) => price[row]! >= lo && price[row]! <= hi });
    }
    if (in_stock !== undefined) {
      const want = in_stock ? 1 : 0;
      const stock = this.stock;
      tests.push({ label: 'in_stock', pass: (row) => stock[row] === want });
    }
    // Two attribute filters whose names differ only in case are one field to a facet: one test.
    const byLabel = new Map<string, FilterGroup[]>();
    for (const t of tests) byLabel.set(t.label, [...(byLabel.get(t.label) ?? []), t]);
    return [...byLabel].map(([label, same]) =>
      same.length === 1 ? same[0]! : { label, pass: (row: number) => same.every((t) => t.pass(row)) },
    );
  }

  /** The rows of each value of a column, grouped by ordinal (offsets[o] to offsets[o + 1]); built once per column. */
  private postings(column: Interned): { offsets: Int32Array; rows: Int32Array } {
    let p = this.postingLists.get(column);
    if (!p) {
      const offsets = new Int32Array(column.values.length + 1);
      for (const o of column.ord) if (o >= 0) offsets[o + 1]!++;
      for (let o = 0; o < column.values.length; o++) offsets[o + 1]! += offsets[o]!;
      const rows = new Int32Array(offsets[column.values.length]!);
      const at = offsets.slice(0, -1);
      column.ord.forEach((o, row) => {
        if (o >= 0) rows[at[o]!++] = row;
      });
      this.postingLists.set(column, (p = { offsets, rows }));
    }
    return p;
  }

  /** The ordinal column a facet counts; undefined for price. */
  private facetColumn(field: FacetField): Interned | undefined {
    if (field === 'price') return undefined;
    if (field === 'category') return this.category;
    if (field === 'brand') return this.brand;
    if (field === 'in_stock') return { ord: this.stock, values: ['false', 'true'] };
    return this.attributeCount(field.slice('attributes.'.length).toLowerCase());
  }

  private values(field: FacetField, column: Interned, counts: Int32Array, max: number) {
    if (field === 'category') {
      const byPath = new Map<string, number>();
      counts.forEach((c, o) => {
        if (c > 0) for (const prefix of this.categoryPrefixes[o]!) byPath.set(prefix, (byPath.get(prefix) ?? 0) + c);
      });
      return categoryLevels(byPath, max);
    }
    const out: FacetValue[] = [];
    counts.forEach((c, o) => {
      if (c > 0) out.push({ value: field === 'in_stock' ? o === 1 : column.values[o]!, count: c });
    });
    out.sort(byCount);
    return field === 'in_stock' ? out : out.slice(0, max);
  }

  private priceFacet(rows: Int32Array): PriceFacet {
    let min = Infinity;
    let max = -Infinity;
    for (const row of rows) {
      const p = this.price[row]!;
      if (p < min) min = p;
      if (p > max) max = p;
    }
    if (min === Infinity) return { buckets: [] };
    const ranges = priceRanges(min, max);
    const counts = new Array<number>(ranges.length).fill(0);
    for (const row of rows) {
      const p = this.price[row]!;
      if (!Number.isNaN(p)) counts[bucketOf(ranges, p)]!++;
    }
    return { min, max, buckets: ranges.map((b, i) => ({ ...b, count: counts[i]! })) };
  }

  private sorted(hit: Uint8Array, total: number, sort: StoreSort | undefined, k: number): SortedHit[] {
    if (k <= 0 || total === 0) return [];
    const { order, rank } = this.order(sort ?? 'id');
    let rows: ArrayLike<number>;
    if (total * 16 < this.size) {
      // A small match set: sort its rows by their positions in the stored order rather than walk all of it.
      const mine = new Int32Array(total);
      let m = 0;
      for (let row = 0; m < total; row++) if (hit[row]) mine[m++] = row;
      rows = mine.sort((a, b) => rank[a]! - rank[b]!).subarray(0, k);
    } else {
      const head: number[] = [];
      for (let i = 0; i < order.length && head.length < k; i++) if (hit[order[i]!]) head.push(order[i]!);
      rows = head;
    }
    return Array.from(rows, (row) => ({ id: this.ids[row]!, key: this.keyOf(row, sort) }));
  }

  private keyOf(row: number, sort: StoreSort | undefined): number | string | null {
    if (sort === undefined) return null;
    if (sort === 'newest') return this.updated[row] ?? null;
    const p = this.price[row]!;
    return Number.isNaN(p) ? null : p;
  }

  private order(sort: StoreSort | 'id'): { order: Int32Array; rank: Int32Array } {
    let o = this.orders.get(sort);
    if (!o) {
      const order = Int32Array.from({ length: this.size }, (_, i) => i).sort(this.comparator(sort));
      const rank = new Int32Array(this.size);
      order.forEach((row, i) => (rank[row] = i));
      this.orders.set(sort, (o = { order, rank }));
    }
    return o;
  }

  private comparator(sort: StoreSort | 'id'): (a: number, b: number) => number {
    const ids = this.ids;
    if (sort === 'id') return (a, b) => cmpId(ids[a]!, ids[b]!);
    if (sort === 'newest') {
      // Most recent first; products without updated_at last; ties by id.
      const u = this.updated;
      return (a, b) => cmpDesc(u[a], u[b]) || cmpId(ids[a]!, ids[b]!);
    }
    const dir = sort === 'price:asc' ? 1 : -1;
    const p = this.price;
    return (a, b) => {
      const x = p[a]!;
      const y = p[b]!;
      if (Number.isNaN(x) || Number.isNaN(y)) {
        return Number.isNaN(x) ? (Number.isNaN(y) ? cmpId(ids[a]!, ids[b]!) : 1) : -1;
      }
      return dir * (x - y) || cmpId(ids[a]!, ids[b]!);
    };
  }

  /** Display values of attribute `name` (lowercased), as a facet counts them. */
  private attributeCount(name: string): Interned {
    let c = this.attributeCounts.get(name);
    if (!c) {
      const interner = new Interner(this.size);
      this.attributes.forEach((attrs, row) => {
        if (!attrs) return;
        let value: string | undefined;
        for (const k in attrs) if (k.toLowerCase() === name) value = attrs[k];
        interner.add(row, value);
      });
      this.attributeCounts.set(name, (c = interner.done()));
    }
    return c;
  }

  /** filterKey() values of the attribute whose filterKey() name is `key`, as a filter compares them. */
  private attributeFilter(key: string): Interned {
    let c = this.attributeFilters.get(key);
    if (!c) {
      const keys = new Map<string, string>();
      const keyOf = (s: string) => {
        let k = keys.get(s);
        if (k === undefined) keys.set(s, (k = filterKey(s)));
        return k;
      };
      const interner = new Interner(this.size);
      this.attributes.forEach((attrs, row) => {
        if (!attrs) return;
        let value: string | undefined;
        for (const k in attrs) if (keyOf(k) === key) value = keyOf(attrs[k]!);
        interner.add(row, value);
      });
      this.attributeFilters.set(key, (c = interner.done()));
    }
    return c;
  }
}

/** One filtered field as a test on a row; for category and brand, also the allowed values of its column (see lookup()). */
interface FilterGroup {
  label: string;
  pass: (row: number) => boolean;
  values?: { column: Interned; ok: Uint8Array };
}

/** A column of ordinals (-1: no value) and the distinct values they index. */
interface Interned {
  ord: Int32Array;
  values: string[];
}

class Interner {
  private readonly ord: Int32Array;
  private readonly values: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(n: number) {
    this.ord = new Int32Array(n).fill(-1);
  }

  add(row: number, value: string | undefined): void {
    if (value === undefined) return;
    let o = this.index.get(value);
    if (o === undefined) {
      o = this.values.length;
      this.index.set(value, o);
      this.values.push(value);
    }
    this.ord[row] = o;
  }

  done(): Interned {
    return { ord: this.ord, values: this.values };
  }
}

/** A filter over a column's distinct values, indexed by ordinal + 1 (slot 0: no value, which never passes). */
function lookup(values: readonly string[], pass: (value: string) => boolean): Uint8Array {
  const ok = new Uint8Array(values.length + 1);
  values.forEach((v, o) => (ok[o + 1] = pass(v) ? 1 : 0));
  return ok;
}

/** The filter group a facet's own filter belongs to (filtersExcept's rule: attribute names compare lowercased). */
function labelOf(field: FacetField): string {
  return field.startsWith('attributes.') ? `attributes.${field.slice('attributes.'.length).toLowerCase()}` : field;
}

const cmpId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Descending, undefined last. */
function cmpDesc(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a < b ? 1 : -1;
}
