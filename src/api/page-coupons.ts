import type { ServedEntry } from '../../behavior/served-log.ts';
import type { AttachedCoupon } from '../../coupons/attach.ts';
import type { CouponOffers, CouponPage, CouponPageRequest } from '../../coupons/offers.ts';
import type { SearchItem } from '../../retrieval/index/types.ts';

/**
 * The coupon stage of /v1/search and /v1/feed, on the final page (after ranking, diversity and
 * the page cut): the ranker's pCVR per item goes to the affinity; the served-log entries follow
 * the final order (the coupon boost may reorder the page) and record the coupon each item showed.
 */
export async function couponsOnPage<T extends SearchItem>(
  offers: CouponOffers | undefined,
  req: { surface: 'search' | 'feed'; shopper: CouponPageRequest['shopper']; debug: boolean; from: number },
  items: T[],
  served: ServedEntry['items'] | undefined,
): Promise<CouponPage<T> & { served?: ServedEntry['items'] | undefined }> {
  if (!offers) return { items, served };
  const pCvr = new Map<string, number>();
  for (const s of served ?? []) if (s.p_cvr !== undefined) pCvr.set(s.id, s.p_cvr);
  const page = await offers.apply(items, {
    surface: req.surface,
    shopper: req.shopper,
    debug: req.debug,
    ...(pCvr.size > 0 && { pCvr }),
  });
  if (page.items === items) return { ...page, served };
  const byId = new Map((served ?? []).map((s) => [s.id, s]));
  const logged = page.items.map((it, i) => {
    const c = (it as { coupon?: AttachedCoupon }).coupon;
    return {
      ...(byId.get(it.id) ?? { id: it.id }),
      position: req.from + i,
      score: it.score,
      ...(c && { coupon: { id: c.id, discount: c.discount, expected_value: c.expected_value } }),
    };
  });
  return { ...page, served: logged };
}

/** The response's `degraded` list: retrieval's routes, then the coupon stage when it failed. */
export function withCouponDegraded<D extends { route: string; reason: string }>(
  degraded: D[] | undefined,
  page: Pick<CouponPage<unknown>, 'degraded'>,
): Array<D | { route: 'coupons'; reason: string }> | undefined {
  if (!page.degraded) return degraded;
  return [...(degraded ?? []), page.degraded];
}
