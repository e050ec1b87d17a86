import { rankOrder } from '../ranking/apply.ts';
import type { Ranker } from '../ranking/ranker.ts';
import type { Stage } from './context.ts';

/**
 * The ranking stage: the ranker orders the request's window of the fused candidates (ranking/),
 * with the request's exponents. Not in the list at all when ranking is off for the request.
 */
export function rankStage(ranker: Ranker): Stage {
  return {
    name: 'rank',
    depth: (ctx) => ctx.settings.ranking.window,
    async run(ctx, candidates) {
      const shopper = await ctx.shopper();
      const ranked = await rankOrder(
        ranker,
        {
          surface: ctx.surface,
          now: ctx.now,
          shopper: { user: shopper?.user },
          snapshot: ctx.snapshot,
          settings: ctx.settings.ranking,
          anonymous: ctx.subject === undefined,
        },
        candidates,
      );
      ctx.trace.ranking = ranked.debug;
      if (ranked.degraded) ctx.trace.degraded.push(ranked.degraded);
      return ranked.order;
    },
  };
}
