/**
 * The domain vocabulary every serving stage shares: which surface a request is for, who is
 * shopping, and the candidate that travels from recall to the page. A candidate carries its own
 * provenance as typed fields — which routes found it at which rank and score, where fusion put
 * it, what the ranker said, how diversity moved it, which coupon it shows — so each stage reads
 * what the stages before it wrote, and debug output is only ever a view of it.
 */

/** Where a list is shown: the search results page, the "guess you like" feed, "similar items". */
export type Surface = 'search' | 'feed' | 'similar';

/** Who is shopping: `u:<user_id>` or `s:<session_id>`. */
export type Subject = string;

export function subjectOf(ids: { user_id?: string | undefined; session_id?: string | undefined }): Subject | undefined {
  return ids.user_id !== undefined
    ? `u:${ids.user_id}`
    : ids.session_id !== undefined
      ? `s:${ids.session_id}`
      : undefined;
}

/** The product fields every result list shows. */
export interface ProductSummary {
  id: string;
  title: string;
  price?: number;
  currency?: string;
  category?: string;
  brand?: string;
  in_stock: boolean;
  image?: string;
}

/** What one recall route said of a candidate: its 1-based rank in the route's list and the route's own score. */
export interface Evidence {
  rank: number;
  score: number;
  /** Lexical routes: the share of the query's terms the product holds, when the store knows it. */
  coverage?: number | undefined;
}

/** The ranker's verdict (ranking/). */
export interface RankVerdict {
  score: number;
  p_ctr?: number | undefined;
  p_cvr?: number | undefined;
  /** The exact model input, in the feature spec's order: what the served log records for training. */
  features: Float64Array;
}

/** How diversity (MMR) moved a candidate within the head it reordered (diversity/). */
export interface DiversityMove {
  relevance: number;
  penalty: number;
  /** 0-based slot in the ranked order before diversity, and after. */
  position_before: number;
  position_after: number;
  /** A per-page brand or category cap could not be met, so this item broke it rather than leave a hole. */
  cap_relaxed?: boolean | undefined;
}

/** The coupon a candidate shows (coupons/), and why, for debug. */
export interface CouponShown {
  id: string;
  name: string;
  /** fixed amount off, percent off, or threshold (满减: so much off above a minimum spend). */
  type: 'fixed' | 'percent' | 'threshold';
  discount: number;
  expected_value: number;
}

/** The coupon stage's reasoning for the best offer it considered, shown or not (debug only). */
export type CouponAffinity = Record<string, number | string | boolean>;

/** Where the lexical match is in the product's text: HTML-escaped, matches in <em> (search with highlight). */
export interface Highlight {
  title: string;
  description?: string | undefined;
}

export interface Candidate {
  id: string;
  product: ProductSummary;
  /** Every route that found it (search: bm25, vector, image; feed: uservector, itemcf, …, catalog). */
  routes: Record<string, Evidence>;
  fused_score: number;
  /**
   * Search fused by score: the fusion order on the weighted-RRF scale (k 60) the ranker's feature
   * spec reads as `fused_score`, 2 / (61 + fusion_position), so a model trained on RRF scores and
   * the heuristic (fusion order for an anonymous shopper) see what they were built for.
   */
  fused_rrf?: number | undefined;
  /** 0-based slot in fusion order. */
  fusion_position: number;
  /** The score the list is ordered by at this stage, and the one shown. */
  score: number;
  ranking?: RankVerdict | undefined;
  diversity?: DiversityMove | undefined;
  coupon?: CouponShown | undefined;
  coupon_affinity?: CouponAffinity | undefined;
  highlight?: Highlight | undefined;
}

/** A recall route that failed and was left out of this answer, with why. */
export interface Degraded {
  route: string;
  reason: string;
}

/**
 * A list already shown (an answer's items, best first) as candidates in that order, each scored
 * as shown: for running a later stage again offline (the diversity sweep, its tests).
 */
export function candidatesOf(items: ReadonlyArray<ProductSummary & { score: number }>): Candidate[] {
  return items.map(({ score, ...product }, i) => ({
    id: product.id,
    product,
    routes: {},
    fused_score: score,
    fusion_position: i,
    score,
  }));
}
