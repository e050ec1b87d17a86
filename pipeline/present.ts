import type { ServedEntry } from '../behavior/served-log.ts';
import type { Candidate, ProductSummary, Surface } from '../core/candidate.ts';
import { mmrItemDebug } from '../diversity/apply.ts';
import { routeDebug } from '../retrieval/recall/hybrid.ts';

/**
 * One presenter for both things a page becomes: the response's items and the served-log entry
 * that training joins clicks and purchases to. Debug output is a view of the candidates, never an
 * input to any stage.
 */

export type ServedItem = ServedEntry['items'][number];

export interface ResponseItem extends ProductSummary {
  score: number;
  coupon?: Candidate['coupon'];
  /** Feed and similar items, under debug: every route that found the item, at which rank and score. */
  routes?: Candidate['routes'];
  /** Search with highlight: the lexical matches in the title (and description), HTML-escaped. */
  highlight?: Candidate['highlight'];
  debug?: Record<string, unknown>;
}

/** How a page shows: the surface, whether ranking ran (rank_score is then shown, null for the unranked tail), debug. */
export interface PresentOptions {
  surface: Surface;
  ranked: boolean;
  debug: boolean;
}

export function presentItems(page: readonly Candidate[], o: PresentOptions): ResponseItem[] {
  return page.map((c) => {
    const item: ResponseItem = {
      ...c.product,
      score: c.score,
      ...(c.coupon && { coupon: c.coupon }),
      ...(c.highlight && { highlight: c.highlight }),
    };
    if (!o.debug) return item;
    const r = c.ranking;
    // Search shows each route flat (bm25_rank, …); the feed and similar items name their routes.
    if (o.surface !== 'search') item.routes = c.routes;
    item.debug = {
      ...(o.surface === 'search' ? routeDebug(c) : { fused_score: c.fused_score }),
      fusion_position: c.fusion_position,
      ...(r?.p_ctr !== undefined && { p_ctr: round(r.p_ctr), p_cvr: round(r.p_cvr!) }),
      ...(o.ranked && { rank_score: r ? round(r.score) : null }),
      ...mmrItemDebug(c.diversity),
      ...(c.coupon_affinity && { coupon_affinity: c.coupon_affinity }),
    };
    return item;
  });
}

/** The served log's items: final positions, with the ranker's exact inputs and outputs and the coupon shown. */
export function servedItems(page: readonly Candidate[], from: number): ServedItem[] {
  return page.map((c, i) => {
    const r = c.ranking;
    return {
      id: c.id,
      position: from + i,
      score: c.score,
      fusion_position: c.fusion_position,
      ...(r?.p_ctr !== undefined && { p_ctr: r.p_ctr, p_cvr: r.p_cvr! }),
      ...(r && { features: Array.from(r.features) }),
      ...(c.diversity && { rank_position: c.diversity.position_before }),
      ...(c.coupon && {
        coupon: { id: c.coupon.id, discount: c.coupon.discount, expected_value: c.coupon.expected_value },
      }),
    };
  });
}

const round = (x: number) => Math.round(x * 1e9) / 1e9;
