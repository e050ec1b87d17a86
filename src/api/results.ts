import type { ServedEntry } from '../../behavior/served-log.ts';
import type { UserState } from '../../behavior/user-state.ts';
import { fusionOrder, presentPage, rankOrder, type RankDebug } from '../../ranking/apply.ts';
import type { Surface } from '../../ranking/features.ts';
import type { Candidate } from '../../ranking/inputs.ts';
import type { Ranker } from '../../ranking/ranker.ts';
import {
  diversify,
  mmrHead,
  mmrItemDebug,
  type Diversified,
  type MmrDebug,
  type VectorLoader,
} from '../../diversity/apply.ts';
import type { MmrSurfaceConfig } from '../../diversity/config.ts';
import type { SearchItem } from '../../retrieval/index/types.ts';
import type { Metrics } from '../../core/metrics.ts';

/**
 * Everything between fusion and the response, shared by /v1/search and /v1/feed:
 *
 *   fused order → rank (ranking/, unless off) → diversify the head (rerank/, MMR) → page
 *
 * The whole order is kept until the page is cut, so MMR can pull a diverse item up from below
 * the page and the served log records final positions.
 */
export interface ResultStages {
  /** Undefined or mode `off`: fusion order. */
  ranker?: Ranker | undefined;
  /** Undefined or disabled: no diversity stage. */
  mmr?: MmrSurfaceConfig | undefined;
  vectors: VectorLoader;
  metrics: Metrics;
}

export interface ResultPage<T> {
  items: T[];
  served: ServedEntry['items'];
  ranking?: RankDebug | undefined;
  /** Undefined when MMR is on but was skipped (a page past its head, without debug). */
  mmr?: MmrDebug | undefined;
}

/**
 * The stages as one request runs them: `ranker` and `mmr` left out when off. Resolved once per
 * request and passed on, so a mode switched mid-request (Ranker.setMode, a model deploy) cannot
 * fetch candidates for one set of stages and then order them with another.
 */
export function activeStages(s: ResultStages): ResultStages {
  return {
    ...s,
    ranker: s.ranker?.status.mode === 'off' ? undefined : s.ranker,
    mmr: s.mmr?.enabled ? s.mmr : undefined,
  };
}

/**
 * How many fused candidates the stages need to see for a page ending at `pageEnd`: the ranking
 * window and the MMR head (which lies within the window when ranking is on). Undefined when
 * neither stage is on (retrieval pages by itself). `s`: the request's activeStages().
 */
export function candidateDepth(
  { ranker, mmr }: Pick<ResultStages, 'ranker' | 'mmr'>,
  pageEnd: number,
): number | undefined {
  if (!ranker && !mmr) return undefined;
  const window = ranker?.config.window;
  return Math.max(window ?? 0, mmr ? mmrHead(mmr, window) : 0, pageEnd);
}

/** `stages`: the request's activeStages(). */
export async function orderAndPage<T extends SearchItem>(
  stages: ResultStages,
  req: {
    surface: Surface;
    subject?: string | undefined;
    shopper?: { user: UserState | undefined } | undefined;
    debug: boolean;
    from: number;
    to: number;
  },
  fused: readonly T[],
  toCandidate: (item: T, position: number) => Candidate,
): Promise<ResultPage<T>> {
  const { ranker, mmr } = stages;
  const ranked = ranker ? await rankOrder(ranker, req, fused, toCandidate) : undefined;
  let order: Array<Diversified<T>> = ranked?.order ?? fusionOrder(fused);
  let mmrDebug: MmrDebug | undefined;
  // A page starting past the head is the same with or without MMR (it only reorders the head):
  // skip the vector read and the picks unless debug is there to report them.
  if (mmr && (req.debug || req.from < mmrHead(mmr, ranker?.config.window))) {
    const d = await diversify(order, mmr, {
      vectors: stages.vectors,
      pageSize: req.to - req.from,
      depth: req.to,
      rankWindow: ranker?.config.window,
      onVectorsUnavailable: (reason) => stages.metrics.mmrVectorsUnavailable.inc({ surface: req.surface, reason }),
    });
    order = d.order;
    mmrDebug = d.debug;
  }
  const page = presentPage<T, Diversified<T>>(
    order,
    { debug: req.debug, from: req.from, to: req.to, ranked: !!ranker },
    (o) => {
      if (!o.mmr || o.mmr.relevance === undefined) return undefined;
      return { debug: req.debug ? mmrItemDebug(o.mmr) : undefined, served: { rank_position: o.mmr.position_before } };
    },
  );
  return { ...page, ranking: ranked?.debug, mmr: mmr ? mmrDebug : { enabled: false } };
}
