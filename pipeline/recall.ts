import type { StateStore } from '../behavior/state-store.ts';
import type { Candidate } from '../core/candidate.ts';
import type { LexicalOptions } from '../retrieval/index/lexical.ts';
import type { Filters } from '../retrieval/index/types.ts';
import { recommend } from '../retrieval/recall/feed.ts';
import { hybridRecall, type Embedders, type Explore } from '../retrieval/recall/hybrid.ts';
import { similarItems } from '../retrieval/recall/similar.ts';
import type { SequenceModels, SequencePick } from '../retrieval/recall/sequence-recall.ts';
import type { RequestContext, Stage } from './context.ts';

/**
 * The recall stage of each surface: candidates with their provenance, from the context's pinned
 * snapshot, as deep as `ctx.recall` asks. Routes that fail are left out and named in
 * `ctx.trace.degraded`; they never fail the request.
 */

const recallStage = (run: Stage['run']): Stage => ({ name: 'recall', depth: () => 0, run });

/** Search: BM25, vector and image routes fused by weighted RRF. */
export function searchRecall(
  embedders: Embedders,
  query: {
    q: string;
    filters?: Filters | undefined;
    /** Synonyms, typo tolerance and prefix of the BM25 route; or a promise of them (the synonym set is read beside the state). */
    lexical?: LexicalOptions | Promise<LexicalOptions> | undefined;
    highlight?: boolean | undefined;
  },
  explore?: Explore,
): Stage {
  return recallStage(async (ctx) => {
    const r = await hybridRecall(
      ctx.snapshot,
      embedders,
      {
        q: query.q,
        ...(query.filters && { filters: query.filters }),
        lexical: await query.lexical,
        highlight: query.highlight,
        model_version: ctx.settings.embedder.model_version,
      },
      ctx.settings.retrieval,
      ctx.recall,
      explore,
    );
    if (r.lexical) ctx.trace.lexical = r.lexical;
    if (r.textModel) ctx.trace.textModel = r.textModel;
    ctx.trace.total = r.total;
    if (r.fusion) ctx.trace.fusion = r.fusion;
    if (r.facets) ctx.trace.facets = r.facets;
    ctx.trace.degraded.push(...(r.degraded ?? []));
    return r.candidates;
  });
}

export interface FeedAsk {
  context?: { category?: string | undefined; product_id?: string | undefined } | undefined;
  exclude?: readonly string[] | undefined;
}

/** The feed: the shopper's routes fused, then best-sellers and the catalog for a page left short. */
export function feedRecall(state: StateStore, ask: FeedAsk, sequence?: SequenceModels): Stage {
  return recallStage(async (ctx) => {
    const seq = pickSequence(ctx, sequence);
    const shopper = await ctx.shopper();
    const r = await recommend(
      ctx.snapshot,
      state,
      { user: shopper?.user },
      {
        size: ctx.recall.to,
        // The catalog fills the page the shopper sees, never the deeper window ranking reorders.
        page: ctx.page.to,
        context: ask.context,
        exclude: ask.exclude,
        now: ctx.now,
      },
      ctx.settings.feed,
      ctx.settings.behavior,
      seq?.source,
    );
    ctx.trace.cold_start = r.cold_start;
    ctx.trace.itemcf_confident = r.itemcf_confident;
    ctx.trace.degraded.push(...(r.degraded ?? []));
    return r.candidates;
  });
}

export class ProductNotFound extends Error {
  constructor(readonly id: string) {
    super(`no product "${id}" in the index`);
  }
}

/** Similar items: the product's embedding neighbours fused with what shoppers engage with beside it. */
export function similarRecall(state: StateStore, productId: string, sequence?: SequenceModels): Stage {
  return recallStage(async (ctx): Promise<Candidate[]> => {
    const seq = pickSequence(ctx, sequence);
    const r = await similarItems(ctx.snapshot, state, productId, ctx.recall.to, ctx.settings.feed, seq?.source);
    if (!r) throw new ProductNotFound(productId);
    ctx.trace.degraded.push(...(r.degraded ?? []));
    return r.candidates;
  });
}

/**
 * The sequence model version this request uses (`sequence.model_version`, an experiment arm's),
 * picked once so a hot reload mid-request cannot split it, and named in the trace. None when the
 * `sequence` route is weighted 0 (it does not run) or no model serves.
 */
function pickSequence(ctx: RequestContext, models: SequenceModels | undefined): SequencePick | undefined {
  if (!models || !(ctx.settings.feed.weights.sequence > 0)) return undefined;
  const pick = models.pick(ctx.settings.sequence.model_version);
  if (pick)
    ctx.trace.sequence = {
      model_version: pick.model_version,
      ...(pick.reason !== undefined && { reason: pick.reason }),
    };
  return pick;
}
