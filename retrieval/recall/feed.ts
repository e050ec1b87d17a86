import type { BehaviorConfig } from '../../behavior/config.ts';
import type { Shopper, StateStore } from '../../behavior/state-store.ts';
import type { Candidate, Degraded } from '../../core/candidate.ts';
import type { UserState } from '../../behavior/user-state.ts';
import type { FeedConfig, FeedRoute } from './feed-config.ts';
import {
  categoryScope,
  feedSources,
  itemCfRoute,
  itemCfSeeds,
  sequenceRoute,
  similarRoute,
  userVectorRoute,
  type FeedSources,
  type SequenceSource,
} from './feed-routes.ts';
import { firstAccepted, toCandidate } from './hydrate.ts';
import { reciprocalRankFusion, type FusedHit, type RankedList } from './rrf.ts';
import { compileFilter, filterPayload, type IndexSnapshot } from '../index/stores.ts';
import type { Filters, Product, RouteHit } from '../index/types.ts';

/** Where a feed item came from: a fused route, or the catalog when nothing else filled the page. */
export type FeedSource = FeedRoute | 'catalog';

export interface FeedRequest {
  /** Candidates wanted: the page, or the deeper window ranking and MMR reorder. */
  size: number;
  /**
   * The page the shopper sees (default `size`): what the catalog fills when every route together
   * found fewer, so a ranking window is never padded with catalog items.
   */
  page?: number | undefined;
  context?: { category?: string | undefined; product_id?: string | undefined } | undefined;
  exclude?: readonly string[] | undefined;
  /** Event time to decay state to; defaults to the wall clock. */
  now?: number | undefined;
}

export interface FeedResult {
  /** In fusion order, each with every route (or fallback) that offered it. */
  candidates: Candidate[];
  /** True when the shopper has no history yet (popular items only). */
  cold_start: boolean;
  /** Whether the item-CF confidence gate scaled the other routes down. */
  itemcf_confident: boolean;
  degraded?: Degraded[];
}

/** Route lists plus which items must not be shown; shared by the service and offline eval. */
export interface FeedCandidates {
  lists: Partial<Record<FeedRoute, RouteHit[]>>;
  excluded: Set<string>;
  degraded: Array<{ route: FeedSource; reason: string }>;
}

/** Runs every feed route concurrently; a failing route is left out and reported. */
export async function feedCandidates(
  src: FeedSources,
  user: UserState | undefined,
  req: Pick<FeedRequest, 'context' | 'exclude' | 'now'>,
  cfg: FeedConfig,
  behavior: BehaviorConfig,
  filters: Filters,
): Promise<FeedCandidates> {
  const now = req.now ?? Date.now();
  const contextProduct = req.context?.product_id;
  const scope = categoryScope(req.context?.category, user);
  const routes: Record<FeedRoute, () => Promise<RouteHit[]>> = {
    uservector: () => userVectorRoute(src, user, now, cfg, behavior, filters),
    itemcf: () => itemCfRoute(src, itemCfSeeds(user, contextProduct, cfg.seeds), cfg),
    similar: () => similarRoute(src, contextProduct, cfg.recall_k, filters),
    trending: () => src.trending('', cfg.recall_k),
    category: async () => (scope !== undefined ? src.trending(scope, cfg.recall_k) : []),
    sequence: () => sequenceRoute(src, user, cfg),
  };
  const names = Object.keys(routes) as FeedRoute[];
  const degraded: FeedCandidates['degraded'] = [];
  const results = await Promise.all(
    names.map((r) =>
      cfg.weights[r] > 0
        ? routes[r]().catch((err: Error) => {
            degraded.push({ route: r, reason: err.message });
            return undefined;
          })
        : Promise.resolve(undefined),
    ),
  );
  const lists: FeedCandidates['lists'] = {};
  names.forEach((r, i) => {
    if (results[i]) lists[r] = results[i];
  });

  const excluded = new Set<string>(req.exclude ?? []);
  if (contextProduct !== undefined) excluded.add(contextProduct);
  if (user) {
    if (cfg.exclude_purchased) for (const id of user.purchased) excluded.add(id);
    for (const id of user.shown.slice(0, cfg.exclude_shown)) excluded.add(id);
    for (const r of user.recent.slice(0, cfg.exclude_recent)) excluded.add(r.id);
  }
  return { lists, excluded, degraded };
}

/** Weighted RRF of the route lists, excluded items removed; the item-CF confidence gate applied. */
export function fuseFeed(
  c: Pick<FeedCandidates, 'lists' | 'excluded'>,
  cfg: FeedConfig,
  /** Whether the gate fires, when the caller already decided it (it also reports it). */
  confident: boolean = itemCfConfident(c, cfg),
): FusedHit[] {
  const others = confident ? cfg.itemcf_confident_scale : 1;
  const lists: RankedList[] = [];
  for (const [route, hits] of Object.entries(c.lists) as Array<[FeedRoute, RouteHit[]]>) {
    const ids = hits.map((h) => h.id).filter((id) => !c.excluded.has(id));
    const weight = route === 'itemcf' ? cfg.weights.itemcf : cfg.weights[route] * others;
    if (ids.length > 0) lists.push({ route, ids, weight });
  }
  return reciprocalRankFusion(lists, cfg.rrf_k);
}

/** Whether item-CF's best showable candidate scores at least `itemcf_confident_score` (0: gate off). */
export function itemCfConfident(c: Pick<FeedCandidates, 'lists' | 'excluded'>, cfg: FeedConfig): boolean {
  if (!(cfg.itemcf_confident_score > 0)) return false;
  const top = c.lists.itemcf?.find((h) => !c.excluded.has(h.id));
  return top !== undefined && top.score >= cfg.itemcf_confident_score;
}

/** The feed: recall, fuse, hydrate, drop what is out of stock or outside the context. */
export async function recommend(
  snapshot: IndexSnapshot | undefined,
  state: StateStore,
  shopper: Pick<Shopper, 'user'>,
  req: FeedRequest,
  cfg: FeedConfig,
  behavior: BehaviorConfig,
  /** The learned sequence model, when the service serves one. */
  sequence?: SequenceSource,
): Promise<FeedResult> {
  const { user } = shopper;
  const cold = !user || user.recent.length === 0;
  if (!snapshot) return { candidates: [], cold_start: cold, itemcf_confident: false };
  const filters: Filters = {
    in_stock: true,
    ...(req.context?.category !== undefined && { category: req.context.category }),
  };
  const src = feedSources(state, snapshot, sequence);
  const cands = await feedCandidates(src, user, req, cfg, behavior, filters);
  // Decided once: fusion applies it and the response reports it.
  const confident = itemCfConfident(cands, cfg);
  const fused = fuseFeed(cands, cfg, confident);
  const scores = new Map<string, Partial<Record<FeedSource, number>>>();
  for (const [route, hits] of Object.entries(cands.lists) as Array<[FeedRoute, RouteHit[]]>) {
    for (const h of hits) scores.set(h.id, { ...scores.get(h.id), [route]: h.score });
  }

  const pass = compileFilter(filters);
  const accept = (p: Product) => pass(filterPayload(p));
  let page = await firstAccepted(snapshot.text, fused, req.size, accept);
  // Fallbacks for a page the routes left short once out-of-stock and out-of-context items are
  // dropped, in order, each after everything offered before it. `read(need)` gets how many are missing.
  let offered: FusedHit[] = fused;
  const fallBack = async (
    route: 'trending' | 'catalog',
    limit: number,
    read: (need: number) => Promise<RouteHit[]>,
  ) => {
    if (page.length >= limit) return;
    try {
      const before = offered.length;
      offered = withFallback(offered, await read(limit - page.length), cands.excluded, route);
      page = [...page, ...(await firstAccepted(snapshot.text, offered.slice(before), limit - page.length, accept))];
    } catch (err) {
      cands.degraded.push({ route, reason: (err as Error).message });
    }
  };
  // Settings tuned on shoppers with a history (the feed eval's) may leave trending out; a shopper
  // the other routes know nothing about must still get a page, so it is topped up with best-sellers.
  // Only when trending is switched off: a trending route that ran and failed is already reported as degraded.
  if (cfg.weights.trending === 0) {
    const scope = req.context?.category !== undefined ? categoryScope(req.context.category, undefined)! : '';
    await fallBack('trending', req.size, () => src.trending(scope, cfg.recall_k));
  }
  // Last resort: a shop with no behaviour yet has no best-sellers either. The page the shopper sees
  // (never the deeper ranking window) is filled from the catalog: in stock, in context, by id.
  // Ranking and MMR still apply. Browsed deep enough to skip what is on the page or excluded.
  await fallBack('catalog', Math.min(req.page ?? req.size, req.size), (need) =>
    snapshot.text.browse(need + page.length + cands.excluded.size, filters),
  );
  const candidates = page.map(({ hit, product }, i) => {
    const routeScores = scores.get(hit.id) ?? {};
    const routes: Candidate['routes'] = {};
    for (const [route, rank] of Object.entries(hit.ranks) as Array<[FeedSource, number]>)
      routes[route] = { rank, score: routeScores[route] ?? 0 };
    return toCandidate(product, hit.score, i, routes);
  });
  return {
    candidates,
    cold_start: cold,
    itemcf_confident: confident,
    ...(cands.degraded.length > 0 && { degraded: cands.degraded }),
  };
}

/** `fused` followed by the fallback items it lacks, at score 0 (they come after every fused item). */
export function withFallback(
  fused: readonly FusedHit[],
  more: readonly RouteHit[],
  excluded: ReadonlySet<string>,
  route: FeedSource,
): FusedHit[] {
  const have = new Set(fused.map((h) => h.id));
  const extra = more
    .filter((h) => !have.has(h.id) && !excluded.has(h.id))
    .map((h, i) => ({ id: h.id, score: 0, ranks: { [route]: i + 1 } }));
  return [...fused, ...extra];
}
