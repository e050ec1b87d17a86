import type { Product } from '../../core/catalog/product.ts';
import type { TextEmbedder } from '../../core/embedding/embedder.ts';
import type { ExploreRequest, Explored, MatchQuery } from './facets.ts';
import type { LexicalOptions, LexicalResult } from './lexical.ts';
import { filterValues, type Filters, type RouteHit } from './types.ts';

/**
 * The two store interfaces every back end implements: the embedded default (SQLite FTS5 +
 * hnswlib) and the production engines (Elasticsearch + Qdrant). The indexer writes both;
 * the searcher reads both; neither knows which implementation it holds.
 */

/** A product plus the content hash the indexer computed: stores keep it so drift can be found. */
export interface StoredProduct {
  product: Product;
  hash: string;
}

export interface TextStore {
  readonly kind: string;
  upsert(docs: StoredProduct[]): Promise<void>;
  delete(ids: string[]): Promise<void>;
  /** BM25 top-k with filters applied inside the query. Best first. */
  search(query: string, k: number, filters?: Filters): Promise<RouteHit[]>;
  /**
   * BM25 top-k like search(), with the query's synonyms, typo corrections and last-word prefix
   * (retrieval/index/lexical.ts), and what it matched with: for debug and highlighting.
   */
  lexical(
    query: string,
    k: number,
    filters: Filters | undefined,
    opts: LexicalOptions,
  ): Promise<LexicalResult<RouteHit>>;
  /**
   * Products without a query, by id, filters applied (score 0). The feed's last resort when a
   * shop has no behaviour yet: a new shopper's page is filled from the catalog, not left empty.
   */
  browse(k: number, filters?: Filters): Promise<RouteHit[]>;
  /**
   * Over the whole match set (see MatchQuery): its size, disjunctive facet counts, and its first
   * k in a stored order (price, newest, or id). What a search page shows beside the results and
   * how a sorted or browsed page is filled.
   */
  explore(match: MatchQuery, request: ExploreRequest): Promise<Explored>;
  /**
   * Builds what explore() keeps in memory for this generation (the embedded facet columns and
   * sort orders) before the generation serves, so no search pays for it. Optional: a server
   * engine keeps nothing.
   */
  warm?(): Promise<void>;
  /** Full products for hydration of a result page. */
  get(ids: string[]): Promise<Map<string, Product>>;
  /** id → content hash of every stored product. */
  hashes(): Promise<Map<string, string>>;
  /**
   * id → content hash of these products only (ids not stored are left out): what an incremental
   * write (a price change) diffs against, without reading every hash of a large index. Optional:
   * without it the indexer reads them all.
   */
  hashesOf?(ids: readonly string[]): Promise<Map<string, string>>;
  count(): Promise<number>;
  close(): Promise<void>;
}

export interface VectorPoint extends StoredProduct {
  vector: Float32Array;
}

export interface VectorStore {
  readonly kind: string;
  readonly dim: number;
  upsert(points: VectorPoint[]): Promise<void>;
  delete(ids: string[]): Promise<void>;
  /** Nearest neighbours by cosine similarity, filters applied inside the search. Best first. */
  search(vector: Float32Array, k: number, filters?: Filters): Promise<RouteHit[]>;
  /** Stored vectors of these products (absent ids are left out): user vectors and "similar" need them. */
  vectorsOf?(ids: readonly string[]): Promise<Map<string, Float32Array>>;
  hashes(): Promise<Map<string, string>>;
  count(): Promise<number>;
  close(): Promise<void>;
}

/** What a searcher opens: one consistent snapshot (generation) of both stores. */
export interface IndexSnapshot {
  readonly generation: string;
  /** The text model `vectors` were embedded with (its id: name, version and a hash of its weights). */
  readonly embedderId: string | undefined;
  readonly text: TextStore;
  readonly vectors: VectorStore | undefined;
  /**
   * One more vector set per extra text model (embedder.extra_models), by model id: a request that
   * names one (embedder.model_version) searches it with that model's query encoder.
   */
  readonly extraVectors?: ReadonlyMap<string, VectorStore> | undefined;
  /**
   * The query encoders of this generation's vector sets, by model id, loaded by the searcher before
   * it serves the generation: encoder and vectors are pinned together for a request, so a model
   * switch can never encode a query with one model and search another's vectors.
   */
  readonly encoders?: ReadonlyMap<string, TextEmbedder> | undefined;
  /** Why a model of this generation has no encoder here (model id → reason). */
  readonly encoderErrors?: ReadonlyMap<string, string> | undefined;
  /** Image vectors (CLIP space), when the catalog was indexed with an image model. */
  readonly images?: VectorStore | undefined;
  readonly imageEmbedderId?: string | undefined;
  close(): Promise<void>;
}

/**
 * The served index as readers see it: `withSnapshot` pins one generation until `fn` settles, so
 * everything read inside it comes from one generation (the searcher follows the indexer's
 * switches; readers below recall, such as the behaviour consumer's item lookup, only need this).
 */
export interface SnapshotSource {
  withSnapshot<T>(fn: (snapshot: IndexSnapshot | undefined) => Promise<T>): Promise<T>;
  readonly generation: string | undefined;
}

/** Lowercased, trimmed key used for brand and category equality in every store. */
export function filterKey(value: string): string {
  return value.normalize('NFKC').trim().toLowerCase();
}

/** Filter-relevant fields, with brand and category already passed through filterKey(). */
export interface FilterPayload {
  categoryKey?: string;
  brandKey?: string;
  price?: number;
  in_stock: boolean;
  /** Attribute names and values through filterKey(). */
  attributeKeys?: Record<string, string>;
}

export function filterPayload(
  p: Pick<Product, 'category' | 'brand' | 'price' | 'in_stock'> & { attributes?: Record<string, string> | undefined },
): FilterPayload {
  const attributeKeys = p.attributes ? attributeKeysOf(p.attributes) : undefined;
  return { in_stock: p.in_stock, ...productKeys(p), ...(attributeKeys && { attributeKeys }) };
}

/** A product's attributes as filters compare them: names and values through filterKey(). */
export function attributeKeysOf(attributes: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(attributes)) out[filterKey(k)] = filterKey(v);
  return out;
}

/** Category, brand and price as filters (and coupon eligibility) compare them. */
export function productKeys(p: {
  category?: string | undefined;
  brand?: string | undefined;
  price?: number | undefined;
}): Omit<FilterPayload, 'in_stock'> {
  return {
    ...(p.category !== undefined && { categoryKey: filterKey(p.category) }),
    ...(p.brand !== undefined && { brandKey: filterKey(p.brand) }),
    ...(p.price !== undefined && { price: p.price }),
  };
}

/**
 * "A category key is under this category path": the path itself or anything below it, so
 * "Sports" covers "sports/footwear" but not "sportswear". Normalised once: the returned test
 * runs per point or per item.
 */
export function underCategory(path: string): (categoryKey: string | undefined) => boolean {
  const cat = filterKey(path).replace(/^\/+|\/+$/g, '');
  const below = cat + '/';
  return (key) => key !== undefined && (key === cat || key.startsWith(below));
}

/**
 * The reference filter semantics every store must match, compiled once per query so that a
 * scan over every point does no string normalisation.
 */
export function compileFilter(f: Filters | undefined): (p: FilterPayload) => boolean {
  if (!f) return () => true;
  const categories = filterValues(f.category).map(underCategory);
  const inCategory =
    categories.length > 0 ? (key: string | undefined) => categories.some((test) => test(key)) : undefined;
  const brands = filterValues(f.brand).map(filterKey);
  const attributes = Object.entries(f.attributes ?? {}).map(
    ([k, v]) => [filterKey(k), new Set(filterValues(v).map(filterKey))] as const,
  );
  const { price_min, price_max, in_stock } = f;
  return (p) => {
    if (inCategory && !inCategory(p.categoryKey)) return false;
    if (brands.length > 0 && (p.brandKey === undefined || !brands.includes(p.brandKey))) return false;
    for (const [k, values] of attributes) {
      const v = p.attributeKeys?.[k];
      if (v === undefined || !values.has(v)) return false;
    }
    if (price_min !== undefined && (p.price === undefined || p.price < price_min)) return false;
    if (price_max !== undefined && (p.price === undefined || p.price > price_max)) return false;
    if (in_stock !== undefined && p.in_stock !== in_stock) return false;
    return true;
  };
}

export function hasFilters(f: Filters | undefined): f is Filters {
  return (
    f !== undefined &&
    Object.entries(f).some(([k, v]) =>
      k === 'attributes' ? Object.keys(v ?? {}).length > 0 : Array.isArray(v) ? v.length > 0 : v !== undefined,
    )
  );
}
