/**
 * One user, one phase: run the feed's own recall (feedCandidates) and fusion (fuseFeed) and
 * score every route and the fused feed on the held-out item, full and sampled-100.
 */
import type { BehaviorConfig } from '../../behavior/config.ts';
import type { UserState } from '../../behavior/user-state.ts';
import type { FeedConfig, FeedRoute } from '../../retrieval/recall/feed-config.ts';
import { feedCandidates, fuseFeed, type FeedCandidates } from '../../retrieval/recall/feed.ts';
import type { FeedSources } from '../../retrieval/recall/feed-routes.ts';
import { fullMetrics, sampledMetrics, type HitMetrics } from './sampled.ts';

/** Names in feed.json; `popularity` is the feed's trending route. */
export const ROUTE_OF = {
  popularity: 'trending',
  itemcf: 'itemcf',
  uservector: 'uservector',
  category: 'category',
  sequence: 'sequence',
} as const satisfies Record<string, FeedRoute>;
export type EvalRoute = keyof typeof ROUTE_OF;
export type Scored = EvalRoute | 'feed';

export interface UserCase {
  user: string;
  /** The state the feed reads (undefined: nothing replayed for this user). */
  state: UserState | undefined;
  target: string;
  /** Request time: the held-out interaction's own time. */
  now: number;
  /** The user's items before the target: never recommended, as SASRec's "rated" items. */
  history: string[];
  negatives: string[];
}

export interface CaseScore {
  full: HitMetrics;
  sampled100: HitMetrics;
}

export function scoreRanking(ranking: readonly string[], c: UserCase): CaseScore {
  return { full: fullMetrics(ranking, c.target), sampled100: sampledMetrics(ranking, c.target, c.negatives) };
}

/** Every route list for one user (only routes with weight > 0 in `cfg` run, as in serving). */
export function candidatesFor(
  src: FeedSources,
  c: UserCase,
  cfg: FeedConfig,
  behavior: BehaviorConfig,
): Promise<FeedCandidates> {
  return feedCandidates(src, c.state, { now: c.now, exclude: c.history }, cfg, behavior, {});
}

/** One route's list with the excluded items removed: what that route alone would show. */
export function routeRanking(cands: FeedCandidates, route: FeedRoute): string[] {
  return (cands.lists[route] ?? []).map((h) => h.id).filter((id) => !cands.excluded.has(id));
}

/**
 * The fused feed under `cfg`. Routes whose weight is 0 in `cfg` are left out first: the service
 * does not run them at all (feedCandidates skips weight 0), so they must not even contribute
 * zero-score tail items here.
 */
export function fusedRanking(cands: FeedCandidates, cfg: FeedConfig): string[] {
  const lists: FeedCandidates['lists'] = {};
  for (const [route, hits] of Object.entries(cands.lists) as Array<
    [FeedRoute, NonNullable<FeedCandidates['lists'][FeedRoute]>]
  >) {
    if (cfg.weights[route] > 0) lists[route] = hits;
  }
  return fuseFeed({ lists, excluded: cands.excluded }, cfg).map((h) => h.id);
}
