import type { Metrics } from '../core/metrics.ts';
import { diversify, mmrHead, snapshotVectors } from '../diversity/apply.ts';
import type { MmrSurfaceConfig } from '../diversity/config.ts';
import type { Stage } from './context.ts';

/**
 * The diversity stage: MMR over the head of the ranked order (diversity/). `rankWindow`: the
 * ranker's window when ranking runs in this request (MMR never reorders past it).
 */
export function diversifyStage(cfg: MmrSurfaceConfig, rankWindow: number | undefined, metrics: Metrics): Stage {
  const head = mmrHead(cfg, rankWindow);
  // A page starting past the head is the same with or without MMR (it only reorders the head):
  // skip the vector read and the picks unless debug is there to report them.
  const runs = (ctx: { page: { from: number }; debug: boolean }) => ctx.debug || ctx.page.from < head;
  return {
    name: 'diversify',
    depth: (ctx) => (runs(ctx) ? head : 0),
    async run(ctx, candidates) {
      if (!runs(ctx)) return candidates;
      const d = await diversify(candidates, cfg, {
        vectors: snapshotVectors(ctx.snapshot),
        pageSize: ctx.page.to - ctx.page.from,
        depth: ctx.page.to,
        rankWindow,
        onVectorsUnavailable: (reason) => metrics.mmrVectorsUnavailable.inc({ surface: ctx.surface, reason }),
      });
      ctx.trace.diversity = d.debug;
      return d.order;
    },
  };
}
