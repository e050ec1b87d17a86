import { rankOrder } from '../ranking/apply.ts';
import type { Ranker } from '../ranking/ranker.ts';
import type { Stage } from './context.ts';

/**
 * The ranking stage: the ranker orders its window of the fused candidates (ranking/). `ranker`
 * is the one resolved for this request (undefined or mode `off`: no stage at all).
 */
export function rankStage(ranker: Ranker): Stage {
  return {
    name: 'rank',
    depth: () => ranker.config.window,
    async run(ctx, candidates) {
      const shopper = await ctx.shopper();
      const ranked = await rankOrder(
        ranker,
        { surface: ctx.surface, now: ctx.now, shopper: { user: shopper?.user }, snapshot: ctx.snapshot },
        candidates,
      );
      ctx.trace.ranking = ranked.debug;
      return ranked.order;
    },
  };
}
