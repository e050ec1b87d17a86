import type { BehaviorConfig } from '../behavior/config.ts';
import { loadShopper, type Shopper, type StateStore } from '../behavior/state-store.ts';
import type { Candidate, Degraded, Subject, Surface } from '../core/candidate.ts';
import type { CouponConfig } from '../coupons/config.ts';
import type { CouponPage } from '../coupons/offers.ts';
import type { MmrDebug } from '../diversity/apply.ts';
import type { MmrSurfaceConfig } from '../diversity/config.ts';
import type { RankDebug } from '../ranking/apply.ts';
import type { RankConfig } from '../ranking/config.ts';
import type { RetrievalConfig } from '../retrieval/index/config.ts';
import type { FacetCounts } from '../retrieval/index/facets.ts';
import type { LexicalMatch } from '../retrieval/index/lexical.ts';
import type { IndexSnapshot } from '../retrieval/index/stores.ts';
import type { FeedConfig } from '../retrieval/recall/feed-config.ts';
import type { FusionPlan } from '../retrieval/recall/fusion.ts';
import type { SequenceConfig } from '../retrieval/recall/sequence-recall.ts';
import type { TextModelUsed } from '../retrieval/recall/hybrid.ts';

/**
 * The settings in force for one request: the service's, or an experiment arm's overrides of them.
 * Only request-scoped settings live here; stores, models and servers are the service's.
 */
export interface RequestSettings {
  /** The text model search's vector route uses (its id; empty: the pinned generation's own). */
  embedder: { model_version: string };
  retrieval: RetrievalConfig;
  feed: FeedConfig;
  behavior: BehaviorConfig;
  /** Diversity for this request's surface; disabled: no diversity stage. */
  diversity: MmrSurfaceConfig;
  /**
   * `off`: fusion order (no ranking stage); else the ranker scores `window` candidates with these
   * exponents, by the model `model_version` names (empty: the served one).
   */
  ranking: Pick<RankConfig, 'mode' | 'model_version' | 'window' | 'a' | 'b' | 'c'>;
  /** The sequence model version behind the feed's `sequence` route and similar items' list (empty: the followed one). */
  sequence: Pick<SequenceConfig, 'model_version'>;
  coupons: Pick<CouponConfig, 'min_value' | 'boost'>;
}

/**
 * Per-request changes to the settings in force, subtree by subtree (an experiment arm's). Values
 * are validated where they are made (src/settings/overrides.ts), not here.
 */
export type RequestOverrides = { [K in keyof RequestSettings]?: Partial<RequestSettings[K]> };

/** The settings in force: `base`, each subtree merged with its override. Pure. */
export function withOverrides(base: RequestSettings, overrides: RequestOverrides | undefined): RequestSettings {
  if (!overrides) return base;
  const out = { ...base } as Record<keyof RequestSettings, unknown>;
  for (const key of Object.keys(overrides) as Array<keyof RequestSettings>) {
    const o = overrides[key];
    if (o) out[key] = { ...base[key], ...o };
  }
  return out as RequestSettings;
}

/** [from, to) of the final order, 0-based: the page the response shows. */
export interface PageWindow {
  from: number;
  to: number;
}

/** What the stages report about themselves as they run: debug views and the served log read it. */
export interface RequestTrace {
  degraded: Degraded[];
  /** Size of the match set (search's `total`; retrieval/recall/match-set.ts). */
  total?: number;
  /** Search: how the routes were fused for this query. */
  fusion?: FusionPlan;
  /** Facet counts over the match set, when the search asked for them. */
  facets?: FacetCounts;
  cold_start?: boolean;
  itemcf_confident?: boolean;
  ranking?: RankDebug;
  diversity?: MmrDebug;
  coupons?: CouponPage<unknown>['debug'];
  /** What search's BM25 route matched with: corrections, synonyms and their version, terms. */
  lexical?: LexicalMatch;
  /** Feed and similar items: the sequence model version that served the `sequence` list (and why not the one asked for). */
  sequence?: SequenceTrace;
  /** The text model search's vector route used (and the version asked for, when it was not that). */
  textModel?: TextModelUsed;
}

/**
 * One request as every stage sees it, created once: who is shopping (their state read once, on
 * first use, and shared by every stage that needs it), the index generation pinned for the whole
 * request, the clock, the page, debug and the settings in force.
 */
export interface RequestContext {
  readonly requestId: string;
  readonly surface: Surface;
  /** The shopper as the request named them; undefined: anonymous. */
  readonly subject: Subject | undefined;
  /** The shopper's state under the subject it belongs to (a linked session reads its user's); read once. */
  readonly shopper: () => Promise<Shopper | undefined>;
  /** Pinned for the whole request: an index switch mid-request cannot give stages different generations. */
  readonly snapshot: IndexSnapshot | undefined;
  /** Request time, epoch ms (event time under the simulator). */
  readonly now: number;
  readonly page: PageWindow;
  /**
   * The slice of the fused order recall hydrates: the page itself when no stage reorders, else from
   * the top down to the deepest stage's need.
   */
  readonly recall: PageWindow;
  readonly debug: boolean;
  readonly settings: RequestSettings;
  readonly trace: RequestTrace;
}

export interface ContextInput {
  requestId: string;
  surface: Surface;
  subject: Subject | undefined;
  snapshot: IndexSnapshot | undefined;
  now: number;
  page: PageWindow;
  /** How deep the stages after recall reorder (0: none reorders). */
  reorderDepth: number;
  debug: boolean;
  settings: RequestSettings;
  /** Undefined: no behaviour state (search-only service). */
  state: StateStore | undefined;
  /** The shopper's state already being read (an experiment's assignment needed it first). */
  shopperRead?: Promise<Shopper | undefined> | undefined;
}

export function createContext(i: ContextInput): RequestContext {
  const trace: RequestTrace = { degraded: [] };
  // Started now (or by the caller, who needed it first, e.g. for an experiment's assignment), so
  // the state read runs beside recall; every stage awaits the same read. A state store that fails
  // or misses its budget (core/dependency-guard.ts) makes this the anonymous answer, said once in
  // `degraded`: a shopper's history improves a page, it never blocks one.
  const started =
    i.shopperRead ??
    (i.subject !== undefined && i.state ? loadShopper(i.state, i.subject) : Promise.resolve(undefined));
  const read = started.catch((err: unknown) => {
    trace.degraded.push({ route: 'shopper', reason: (err as Error).message });
    return undefined;
  });
  return {
    requestId: i.requestId,
    surface: i.surface,
    subject: i.subject,
    shopper: () => read,
    snapshot: i.snapshot,
    now: i.now,
    page: i.page,
    recall: i.reorderDepth > 0 ? { from: 0, to: Math.max(i.reorderDepth, i.page.to) } : i.page,
    debug: i.debug,
    settings: i.settings,
    trace,
  };
}

/** The sequence model a request used: the response's debug and the served log say it. */
export interface SequenceTrace {
  model_version: string;
  reason?: string;
}

/** A stage of the serving pipeline: `(ctx, candidates) → candidates`, declaring how deep it looks. */
export interface Stage {
  readonly name: 'recall' | 'rank' | 'diversify' | 'page' | 'coupons';
  /**
   * How many candidates from the top of the fused order this stage needs for the request's page
   * (0: it does not reorder, so recall may hydrate just the page).
   */
  depth(ctx: Pick<RequestContext, 'page' | 'debug' | 'settings'>): number;
  run(ctx: RequestContext, candidates: Candidate[]): Promise<Candidate[]>;
}
