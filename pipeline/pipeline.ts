import type { BehaviorConfig } from '../behavior/config.ts';
import type { ServedEntry, ServedLog } from '../behavior/served-log.ts';
import { loadShopper, type Shopper, type StateStore } from '../behavior/state-store.ts';
import { subjectOf, type Candidate, type Degraded, type Subject, type Surface } from '../core/candidate.ts';
import type { Metrics } from '../core/metrics.ts';
import type { CouponOffers } from '../coupons/offers.ts';
import { MmrSurfaceSchema, type MmrConfig, type MmrSurfaceConfig } from '../diversity/config.ts';
import { servedRanking } from '../ranking/apply.ts';
import type { Ranker } from '../ranking/ranker.ts';
import type { FacetField } from '../retrieval/index/facets.ts';
import type { Filters } from '../retrieval/index/types.ts';
import type { SortOrder } from '../retrieval/recall/match-set.ts';
import type { FeedConfig } from '../retrieval/recall/feed-config.ts';
import type { Searcher } from '../retrieval/recall/searcher.ts';
import { fusionDebug } from '../retrieval/recall/fusion.ts';
import type { CachedSynonyms } from '../retrieval/index/synonyms.ts';
import type { LexicalMatch } from '../retrieval/index/lexical.ts';
import { couponStage } from './coupons.ts';
import {
  createContext,
  withOverrides,
  type PageWindow,
  type RequestContext,
  type RequestOverrides,
  type RequestSettings,
  type RequestTrace,
  type Stage,
} from './context.ts';
import { diversifyStage } from './diversify.ts';
import type { ExperimentTag } from './experiments/experiment.ts';
import { pageStage } from './page.ts';
import { presentItems, servedItems, type ResponseItem } from './present.ts';
import { rankStage } from './rank.ts';
import { feedRecall, searchRecall, similarRecall, type FeedAsk } from './recall.ts';
import type { SequenceModels } from '../retrieval/recall/sequence-recall.ts';

/**
 * One request through the serving pipeline, the same for every surface:
 *
 *   recall → rank → diversify → page → coupons → present (response items + served-log entry)
 *
 * Each stage is `(ctx, candidates) → candidates` over one RequestContext (the shopper's state
 * read once, one index generation pinned, one clock, the settings in force), and says how deep it
 * needs recall to go. Search, the feed and similar items differ only in their recall stage and
 * in the envelope around the items. Route handlers parse, call one of these, and return JSON.
 */
export interface PipelineDeps {
  searcher: Searcher;
  metrics: Metrics;
  /** Behaviour state: the shopper's history for the feed, the ranker and coupons. Absent: search only. */
  state?: StateStore | undefined;
  /** Undefined or mode `off`: fusion order. */
  ranker?: Ranker | undefined;
  /** The learned sequence model's deployed versions (feed route `sequence`, similar items); undefined: none. */
  sequence?: SequenceModels | undefined;
  /** Diversity per surface; undefined: off everywhere. */
  diversity?: MmrConfig | undefined;
  /** Coupons on the page; undefined: none. */
  offers?: CouponOffers | undefined;
  served?: ServedLog | undefined;
  feed: FeedConfig;
  behavior: BehaviorConfig;
  /** Running experiments: which arm (and so which overrides) a shopper's request on a surface gets. */
  experiments?: ExperimentResolver | undefined;
  /** The shop's synonyms, applied by search's BM25 route; undefined: none. */
  synonyms?: CachedSynonyms | undefined;
  /** The service's `embedder.model_version` (request-scoped; empty or undefined: each generation's own model). */
  textModelVersion?: string | undefined;
}

/** An experiment arm a request is served by, and the settings it changes. */
export interface Assignment extends ExperimentTag {
  overrides: RequestOverrides;
}

/**
 * The arm of the experiment running on `surface` that `subject` (the shopper as their state names
 * them: a session linked to a user is the user) is in; undefined: no experiment, the defaults.
 */
export type ExperimentResolver = (surface: Surface, subject: Subject) => Promise<Assignment | undefined>;

export interface SearchAsk {
  requestId: string;
  /** Changes to the settings in force for this request only (an experiment arm's). */
  overrides?: RequestOverrides | undefined;
  /** Empty: a browse (filters or a sort given; the route checks). */
  q: string;
  filters?: Filters | undefined;
  page: number;
  size: number;
  debug: boolean;
  /** Mark the lexical matches in each item's title and description. */
  highlight?: boolean | undefined;
  user_id?: string | undefined;
  session_id?: string | undefined;
  facets?: readonly FacetField[] | undefined;
  /** Values per facet (default 20). */
  max_values?: number | undefined;
  /** Default relevance; any other order sorts the whole match set and skips ranking and diversity. */
  sort?: SortOrder | undefined;
}

export interface FeedRequestAsk extends FeedAsk {
  requestId: string;
  /** Changes to the settings in force for this request only (an experiment arm's). */
  overrides?: RequestOverrides | undefined;
  subject: Subject;
  size: number;
  debug: boolean;
}

export interface SimilarAsk {
  requestId: string;
  /** Changes to the settings in force for this request only (an experiment arm's). */
  overrides?: RequestOverrides | undefined;
  productId: string;
  size: number;
  debug: boolean;
  /** The shopper, when known: only an experiment on similar items reads it (its arm). */
  user_id?: string | undefined;
  session_id?: string | undefined;
}

interface Ran {
  ctx: RequestContext;
  page: Candidate[];
  items: ResponseItem[];
  generation: string | undefined;
  tookMs: number;
  /** The experiment arm that served it. */
  experiment: ExperimentTag | undefined;
}

export class Pipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async search(a: SearchAsk) {
    const from = (a.page - 1) * a.size;
    const subject = subjectOf(a);
    const r = await this.run(
      {
        requestId: a.requestId,
        surface: 'search',
        subject,
        page: { from, to: from + a.size },
        debug: a.debug,
        overrides: a.overrides,
        sorted: a.sort !== undefined && a.sort !== 'relevance',
      },
      searchRecall(
        this.deps.searcher.embedders,
        {
          q: a.q,
          filters: a.filters,
          lexical: this.deps.synonyms?.current().then((synonyms) => ({ synonyms })),
          highlight: a.highlight,
        },
        {
          facets: a.facets,
          maxValues: a.max_values,
          sort: a.sort,
          ...(this.deps.state && { popular: (k: number) => this.deps.state!.trending('', k) }),
        },
      ),
    );
    const recallDegraded = r.ctx.trace.degraded.filter((d) => d.route !== 'coupons');
    const m = this.deps.metrics;
    m.searchLatency.observe({ mode: recallDegraded.length > 0 ? 'degraded' : 'hybrid' }, r.tookMs / 1000);
    for (const d of recallDegraded) m.degraded.inc({ route: d.route });
    this.record(r, { query: a.q, total: r.ctx.trace.total ?? 0, ...(subject !== undefined && { subject }) });
    const cfg = r.ctx.settings.retrieval;
    return {
      request_id: a.requestId,
      items: r.items,
      page: a.page,
      size: a.size,
      total: r.ctx.trace.total ?? 0,
      ...((r.ctx.trace.total ?? 0) === 0 && {
        notice: {
          code: 'no_match' as const,
          message: a.q.trim() === '' ? 'no product matches the filters' : `no product matches ${JSON.stringify(a.q)}`,
        },
      }),
      ...(a.facets !== undefined && a.facets.length > 0 && { facets: r.ctx.trace.facets ?? {} }),
      took_ms: roundMs(r.tookMs),
      ...experimentOf(r),
      ...degradedOf(r.ctx),
      ...(a.debug && {
        debug: {
          generation: r.generation,
          rrf_k: cfg.rrf_k,
          weights: cfg.weights,
          ...(r.ctx.trace.fusion && { fusion: fusionDebug(r.ctx.trace.fusion, cfg.fusion) }),
          sort: a.sort ?? 'relevance',
          ...(r.ctx.trace.textModel && { text_model: r.ctx.trace.textModel }),
          ...(r.ctx.trace.lexical && { lexical: lexicalDebug(r.ctx.trace.lexical) }),
          ...this.stageDebug(r),
        },
      }),
    };
  }

  async feed(a: FeedRequestAsk) {
    const state = this.requireState();
    const r = await this.run(
      {
        requestId: a.requestId,
        surface: 'feed',
        subject: a.subject,
        page: { from: 0, to: a.size },
        debug: a.debug,
        overrides: a.overrides,
      },
      feedRecall(state, a, this.deps.sequence),
    );
    const shopper = await r.ctx.shopper();
    const subject = shopper?.subject ?? a.subject;
    const cold = r.ctx.trace.cold_start ?? true;
    const m = this.deps.metrics;
    m.feedLatency.observe({ cold_start: String(cold) }, r.tookMs / 1000);
    for (const d of r.ctx.trace.degraded) if (d.route !== 'coupons') m.feedDegraded.inc({ route: d.route });
    this.record(r, { subject });
    const feed = r.ctx.settings.feed;
    return {
      request_id: a.requestId,
      subject,
      cold_start: cold,
      items: r.items,
      took_ms: roundMs(r.tookMs),
      ...experimentOf(r),
      ...degradedOf(r.ctx),
      ...(a.debug && {
        debug: {
          generation: r.generation,
          rrf_k: feed.rrf_k,
          weights: feed.weights,
          itemcf_gate: {
            score: feed.itemcf_confident_score,
            scale: feed.itemcf_confident_scale,
            confident: r.ctx.trace.itemcf_confident ?? false,
          },
          ...sequenceOf(r.ctx),
          ...this.stageDebug(r),
        },
      }),
    };
  }

  /** Similar items; throws ProductNotFound (recall.ts) when the product is not in the index. */
  async similar(a: SimilarAsk) {
    const state = this.requireState();
    const r = await this.run(
      {
        requestId: a.requestId,
        surface: 'similar',
        subject: subjectOf(a),
        page: { from: 0, to: a.size },
        debug: a.debug,
        overrides: a.overrides,
      },
      similarRecall(state, a.productId, this.deps.sequence),
    );
    this.record(r, r.ctx.subject !== undefined ? { subject: r.ctx.subject } : {});
    const feed = r.ctx.settings.feed;
    return {
      request_id: a.requestId,
      product_id: a.productId,
      items: r.items,
      ...experimentOf(r),
      ...degradedOf(r.ctx),
      ...(a.debug && {
        debug: {
          generation: r.generation,
          rrf_k: feed.rrf_k,
          weights: { vector: feed.weights.similar, cooc: feed.weights.itemcf },
          ...sequenceOf(r.ctx),
          ...this.stageDebug(r),
        },
      }),
    };
  }

  private requireState(): StateStore {
    if (!this.deps.state) throw new Error('this surface needs the behaviour state store');
    return this.deps.state;
  }

  /** The settings in force for a request on `surface`: the service's, with the request's overrides. */
  settingsFor(surface: Surface, overrides?: RequestOverrides): RequestSettings {
    const d = this.deps;
    const ranker = d.ranker?.config;
    const base: RequestSettings = {
      embedder: { model_version: d.textModelVersion ?? '' },
      retrieval: d.searcher.config,
      feed: d.feed,
      behavior: d.behavior,
      diversity: d.diversity?.[surface] ?? DIVERSITY_OFF,
      // A ranker switched off at run time (Ranker.setMode) is off for every request; search is
      // ranked only when `ranking.search` says so (a request's ranking.mode override still can).
      ranking: {
        mode:
          d.ranker && d.ranker.status.mode !== 'off' && (surface !== 'search' || ranker?.search === 'model')
            ? 'model'
            : 'off',
        model_version: ranker?.model_version ?? '',
        window: ranker?.window ?? 0,
        a: ranker?.a ?? 1,
        b: ranker?.b ?? 1,
        c: ranker?.c ?? 0,
      },
      sequence: { model_version: d.sequence?.config.model_version ?? '' },
      coupons: d.offers?.config ?? { min_value: 0, boost: 0 },
    };
    return withOverrides(base, overrides);
  }

  /** Resolves the settings and stages once (a mode switched mid-request cannot split them), pins the snapshot, runs. */
  private async run(
    o: {
      requestId: string;
      surface: Surface;
      subject: Subject | undefined;
      page: PageWindow;
      debug: boolean;
      overrides: RequestOverrides | undefined;
      /** The list is in a requested order (price, newest, popularity): ranking and diversity would undo it. */
      sorted?: boolean;
    },
    recall: Stage,
  ): Promise<Ran> {
    const t0 = performance.now();
    const d = this.deps;
    // An experiment's arm is chosen for the shopper as their state names them, so a session
    // linked to a user by `identify` is in the user's arm; the read is the one every stage shares.
    let shopperRead: Promise<Shopper | undefined> | undefined;
    let assignment: Assignment | undefined;
    if (d.experiments && o.subject !== undefined) {
      const state = d.state;
      shopperRead = state ? loadShopper(state, o.subject) : Promise.resolve(undefined);
      shopperRead.catch(() => {});
      const who = await shopperRead.then(
        (s) => s?.subject ?? o.subject!,
        () => o.subject!,
      );
      assignment = await d.experiments(o.surface, who);
    }
    // A request's own overrides (an explicit test) go over the arm's.
    const settings = this.settingsFor(o.surface, mergeOverrides(assignment?.overrides, o.overrides));
    const ranker = d.ranker && settings.ranking.mode !== 'off' && !o.sorted ? d.ranker : undefined;
    const mmr = o.sorted ? { ...settings.diversity, enabled: false } : settings.diversity;
    const stages: Stage[] = [
      ...(ranker ? [rankStage(ranker)] : []),
      ...(mmr.enabled ? [diversifyStage(mmr, ranker ? settings.ranking.window : undefined, d.metrics)] : []),
      pageStage,
      ...(d.offers ? [couponStage(d.offers)] : []),
    ];
    const reorderDepth = Math.max(0, ...stages.map((s) => s.depth({ page: o.page, debug: o.debug, settings })));
    return d.searcher.withSnapshot(async (snapshot) => {
      const ctx = createContext({
        ...o,
        snapshot,
        // The ranker's clock: event time when the simulator replays a shop.
        now: d.ranker ? d.ranker.clock() : Date.now(),
        reorderDepth,
        settings,
        state: d.state,
        shopperRead,
      });
      let candidates = await recall.run(ctx, []);
      for (const stage of stages) candidates = await stage.run(ctx, candidates);
      const items = presentItems(candidates, {
        surface: o.surface,
        ranked: !!ranker,
        debug: o.debug,
      });
      return {
        ctx,
        page: candidates,
        items,
        generation: snapshot?.generation,
        tookMs: performance.now() - t0,
        experiment: assignment && { id: assignment.id, arm: assignment.arm },
      };
    });
  }

  private stageDebug(r: Ran) {
    const t = r.ctx.trace;
    return {
      ranking: t.ranking ?? { mode: 'off' as const },
      mmr: t.diversity ?? { enabled: false },
      coupons: t.coupons ?? { enabled: this.deps.offers !== undefined },
    };
  }

  private record(r: Ran, who: Pick<ServedEntry, 'subject' | 'query' | 'total'>): void {
    this.deps.served?.record({
      request_id: r.ctx.requestId,
      surface: r.ctx.surface,
      ts: Date.now(),
      ...who,
      items: servedItems(r.page, r.ctx.page.from),
      ...(r.ctx.trace.ranking && { ranking: servedRanking(r.ctx.trace.ranking) }),
      ...(r.ctx.trace.sequence && { sequence: { model_version: r.ctx.trace.sequence.model_version } }),
      ...(r.ctx.trace.textModel?.version !== undefined && { text_model: r.ctx.trace.textModel.version }),
      ...(r.experiment && { experiment: r.experiment }),
    });
  }
}

/** What search debug shows of the lexical match: what was corrected, what synonyms added, and the set's version. */
function lexicalDebug(m: LexicalMatch) {
  return { corrected: m.corrected, synonyms: m.synonyms, synonyms_version: m.synonyms_version, prefixes: m.prefixes };
}

/** A surface with no diversity settings: the stage is simply off. */
const DIVERSITY_OFF: MmrSurfaceConfig = { ...MmrSurfaceSchema.parse({}), enabled: false };

function experimentOf(r: Ran): { experiment?: ExperimentTag } {
  return r.experiment ? { experiment: r.experiment } : {};
}

/** Two override sets, subtree by subtree, `over` winning. */
function mergeOverrides(
  under: RequestOverrides | undefined,
  over: RequestOverrides | undefined,
): RequestOverrides | undefined {
  if (!under || !over) return under ?? over;
  const out: Record<string, unknown> = { ...under };
  for (const [k, v] of Object.entries(over)) out[k] = { ...(out[k] as object | undefined), ...v };
  return out as RequestOverrides;
}

/** Debug: the sequence model version that served the request's `sequence` list, when one did. */
function sequenceOf(ctx: RequestContext): { sequence?: RequestTrace['sequence'] } {
  return ctx.trace.sequence ? { sequence: ctx.trace.sequence } : {};
}

function degradedOf(ctx: RequestContext): { degraded?: Degraded[] } {
  return ctx.trace.degraded.length > 0 ? { degraded: ctx.trace.degraded } : {};
}

const roundMs = (ms: number) => Math.round(ms * 1000) / 1000;
