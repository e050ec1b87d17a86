import type { Stage } from './context.ts';

/** The page cut: [from, to) of the final order, however deep recall went for the stages before. */
export const pageStage: Stage = {
  name: 'page',
  depth: () => 0,
  async run(ctx, candidates) {
    const offset = ctx.recall.from;
    return candidates.slice(ctx.page.from - offset, ctx.page.to - offset);
  },
};
