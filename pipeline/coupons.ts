import type { Candidate } from '../core/candidate.ts';
import type { CouponOffers } from '../coupons/offers.ts';
import type { Stage } from './context.ts';

/**
 * The coupon stage, on the final page (order and positions settled): the best coupon each item
 * can carry for this shopper, valued with the ranker's pCVR when a model scored it (coupons/).
 * The boost may reorder the page. A failing ledger serves the page without coupons, degraded.
 */
export function couponStage(offers: CouponOffers): Stage {
  return {
    name: 'coupons',
    depth: () => 0,
    async run(ctx, candidates) {
      if (candidates.length === 0) return candidates;
      const pCvr = new Map<string, number>();
      for (const c of candidates) if (c.ranking?.p_cvr !== undefined) pCvr.set(c.id, c.ranking.p_cvr);
      // The coupon stage reads items by their shown fields; each keeps a handle on its candidate.
      const items = candidates.map((c) => ({
        id: c.id,
        score: c.score,
        price: c.product.price,
        category: c.product.category,
        brand: c.product.brand,
        of: c,
      }));
      let shopper;
      try {
        shopper = ctx.subject !== undefined ? ((await ctx.shopper()) ?? ctx.subject) : undefined;
      } catch (err) {
        ctx.trace.degraded.push({ route: 'coupons', reason: (err as Error).message });
        return candidates;
      }
      const page = await offers.apply(items, {
        surface: ctx.surface,
        shopper,
        debug: ctx.debug,
        settings: ctx.settings.coupons,
        // Coupon validity is wall-clock time, whatever clock the ranker reads.
        ...(pCvr.size > 0 && { pCvr }),
      });
      if (page.degraded) ctx.trace.degraded.push(page.degraded);
      if (page.debug) ctx.trace.coupons = page.debug;
      return page.items.map((it): Candidate => {
        const shown = it as typeof it & Pick<Candidate, 'coupon' | 'coupon_affinity'>;
        return {
          ...it.of,
          score: it.score,
          ...(shown.coupon && { coupon: shown.coupon }),
          ...(shown.coupon_affinity && { coupon_affinity: shown.coupon_affinity }),
        };
      });
    },
  };
}
