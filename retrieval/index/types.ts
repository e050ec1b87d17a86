import type { ProductSummary } from '../../core/candidate.ts';
import type { Product } from '../../core/catalog/product.ts';
import type { LexicalOptions } from './lexical.ts';

/** Filters every recall route applies inside its own search (not after), so top-K stays full. */
export interface Filters {
  /**
   * Category path prefix: "Sports" matches "Sports/Footwear/Running Shoes". Several: any of them
   * (OR within a field, AND across fields).
   */
  category?: string | readonly string[];
  /** Case-insensitive; several: any of them. */
  brand?: string | readonly string[];
  price_min?: number;
  price_max?: number;
  in_stock?: boolean;
  /** `{color: ["red", "blue"]}`: the attribute is one of the values (case-insensitive); AND across keys. */
  attributes?: Readonly<Record<string, string | readonly string[]>>;
}

/** A filter field's values as a list: a single value, several, or none. */
export function filterValues(v: string | readonly string[] | undefined): readonly string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : v;
}

export type RouteName = 'bm25' | 'vector' | 'image';

/** One route's ranked answer: ids best first, with the route's own score. */
export interface RouteHit {
  id: string;
  score: number;
  /**
   * Lexical routes: the share of the query's distinct terms the document holds (1 = every term),
   * when the store knows it. Query-adaptive fusion reads it as lexical evidence.
   */
  coverage?: number;
}

export interface SearchQuery {
  q: string;
  size: number;
  /** 1-based. */
  page?: number;
  filters?: Filters;
  /** Which recall routes to run; default: every route the index has. */
  routes?: RouteName[];
  debug?: boolean;
  /** Typo tolerance, prefix and synonyms of the BM25 route (default: typos and prefix on, no synonyms). */
  lexical?: LexicalOptions | undefined;
  /** Mark the lexical matches in each item's title and description. */
  highlight?: boolean | undefined;
  /**
   * The text model (its id) the vector route encodes the query with and searches the vectors of:
   * the generation's own (empty or absent) or one of its extra models (embedder.model_version).
   */
  model_version?: string | undefined;
}

export interface ItemDebug {
  bm25_rank?: number;
  bm25_score?: number;
  /** Share of the query's terms the product holds (embedded BM25). */
  bm25_coverage?: number;
  vector_rank?: number;
  vector_score?: number;
  image_rank?: number;
  image_score?: number;
  fused_score: number;
}

/** One result of the index's own search API (Searcher.search): the product as shown, its fused score, its evidence. */
export interface SearchItem extends ProductSummary {
  score: number;
  debug?: ItemDebug;
}

export interface SearchResult {
  items: SearchItem[];
  /** Number of distinct fused candidates (before paging). */
  total_candidates: number;
  /** Routes that failed and were left out (graceful degradation), with the reason. */
  degraded?: Array<{ route: RouteName; reason: string }>;
  /** The text model the vector route searched with (its id), when it ran. */
  text_model?: string | undefined;
}

export type { Product };
