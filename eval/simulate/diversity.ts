import path from 'node:path';
import { loadConfig, ROOT } from '../../src/config.ts';
import { diversify, servedVectors } from '../../diversity/apply.ts';
import { candidatesOf } from '../../core/candidate.ts';
import type { MmrSurfaceConfig } from '../../diversity/config.ts';
import { categoryCoverage, intraListDiversity } from '../../diversity/diversity.ts';
import { filterKey } from '../../retrieval/index/stores.ts';
import { comparePaired, mean } from '../kit/stats.ts';
import { DIVERSITY_SHOP } from './defaults.ts';
import { freshRequests, ndcg, openSimShop, request, shopPhase, type ShopOptions } from './run.ts';
import { buyProb, clickProb } from './world.ts';

/**
 * What λ costs and buys, on the simulator without training anything: simulated shoppers first
 * use the service (ranked by the shipped default model, models/ranker/default) so the feed has
 * history; then fresh search and feed requests are answered in ranked order (MMR off), and the
 * same diversity stage the service runs (diversity/apply.ts diversify, product vectors from the
 * served index) reorders each answer for every λ of the sweep. Per λ and surface:
 *
 *   nDCG@10   expected nDCG of purchases: gain = P(click)·P(buy | click) from the hidden
 *             preferences (no sampling noise), ideal = the best order of the compared lists' union
 *   ILD@10    mean pairwise cosine distance of the shown items' embeddings
 *   coverage@10  distinct categories among the 10 shown / 10
 *   new@10    share of the 10 shown that the ranked page did not show
 *
 * and the paired nDCG@10 difference to the ranked page (bootstrap 95% interval, randomization p).
 *
 * Sweep rows use the surface's configured category/brand weights with caps off, so only λ
 * moves; a last row is the surface's default settings (with its caps) as served.
 * All figures are SIMULATED shoppers on a real catalog.
 */
export interface DiversityOptions extends ShopOptions {
  lambdas?: number[];
  modelDir?: string;
}

export interface DiversityRow {
  label: string;
  lambda: number;
  caps: { max_per_brand: number; max_per_category: number };
  ndcg10: number;
  /** nDCG@10 minus the ranked page's, paired per request. */
  ndcg10_vs_ranked: { mean_diff: number; ci95: [number, number]; p_value: number };
  ild10: number;
  coverage10: number;
  new10: number;
}

export interface DiversityReport {
  note: string;
  ranking: { mode: string; model_version?: string | undefined };
  surfaces: Record<'search' | 'feed', { requests: number; settings: MmrSurfaceConfig; rows: DiversityRow[] }>;
  warm_up: { requests: number; impressions: number; clicks: number; purchases: number; seconds: number };
  config: {
    users: number;
    maxVisits: number;
    perVisit: number;
    evalRequests: number;
    pageSize: number;
    seed: number;
    lambdas: number[];
    catalog: string;
    taobao: string;
    model_dir: string;
  };
}

const K = 10;
export const DEFAULT_LAMBDAS = [1, 0.9, 0.7, 0.5, 0.3];

export async function runDiversityEval(o: DiversityOptions): Promise<DiversityReport> {
  const modelDir = path.resolve(o.modelDir ?? path.join(ROOT, 'models/ranker/default'));
  // Served in ranked order; the sweep below applies MMR to each answer.
  const shop = await openSimShop(o, { ...DIVERSITY_SHOP, pageSize: K, modelDir, refreshMs: 0 });
  const { log, world, shapes, service, clock } = shop;
  const cfg = { ...shop.cfg, lambdas: o.lambdas ?? DEFAULT_LAMBDAS, model_dir: modelDir };
  const defaults = loadConfig({}).diversity;
  try {
    const t0 = performance.now();
    const warm = await shopPhase(service, world, shapes, cfg, clock);
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    log(`warm-up: ${warm.requests} requests, ${warm.clicks} clicks, ${warm.purchases} purchases in ${seconds} s`);

    const vectors = servedVectors(service.searcher);
    const variants = (s: 'search' | 'feed') => [
      ...cfg.lambdas.map((lambda) => ({
        label: `λ=${lambda}`,
        settings: { ...defaults[s], enabled: true, lambda, max_per_brand: 0, max_per_category: 0 },
      })),
      { label: `default (λ=${defaults[s].lambda})`, settings: { ...defaults[s], enabled: true } },
    ];
    const sweep = { search: variants('search'), feed: variants('feed') };
    const sums = { search: newSums(sweep.search.length), feed: newSums(sweep.feed.length) };
    for (const { user, rng, surface, query } of freshRequests(world, cfg, clock)) {
      // The ranked head MMR would see: top_n items, in the ranker's order, with their scores.
      const shown = await request(service, surface, user, world, rng, defaults[surface].top_n, false, query);
      const ranked = candidatesOf(
        shown.items.map((it) => ({
          id: it.id,
          title: '',
          in_stock: true,
          score: it.score ?? 0,
          ...(it.category !== undefined && { category: it.category }),
          ...(it.brand !== undefined && { brand: it.brand }),
        })),
      );
      if (ranked.length === 0) continue;
      // One vector read per request: every variant diversifies the same head.
      const headVectors = await vectors(ranked.map((x) => x.id));
      const lists: string[][] = [];
      for (const v of sweep[surface]) {
        const d = await diversify(ranked, v.settings, { vectors: async () => headVectors, pageSize: K, depth: K });
        lists.push(d.order.slice(0, K).map((x) => x.id));
      }
      const base = new Set(ranked.slice(0, K).map((x) => x.id));
      // The ranked page is judged against the same gains and ideal as the variants, even when
      // no variant is λ = 1.
      const union = [...new Set([...base, ...lists.flat()])];
      const gain = new Map(
        union.map((id) => {
          const p = world.byId.get(id);
          return [id, p ? clickProb(user, p) * buyProb(user, p) : 0] as const;
        }),
      );
      const cats = new Map(
        shown.items.map((it) => [it.id, it.category !== undefined ? filterKey(it.category) : undefined]),
      );
      const acc = sums[surface];
      acc.ranked.push(ndcg([...base], gain, K));
      lists.forEach((ids, j) => {
        acc.ndcg[j]!.push(ndcg(ids, gain, K));
        acc.ild[j]!.push(
          intraListDiversity(
            ids.map((id) => headVectors.get(id)),
            K,
          ),
        );
        acc.coverage[j]!.push(
          categoryCoverage(
            ids.map((id) => cats.get(id)),
            K,
          ),
        );
        acc.fresh[j]!.push(ids.filter((id) => !base.has(id)).length / K);
      });
    }
    const surfaceReport = (s: 'search' | 'feed') => {
      const a = sums[s];
      const avg = (xs: number[]) => r4(mean(xs));
      return {
        requests: a.ranked.length,
        settings: defaults[s],
        rows: sweep[s].map((v, j) => ({
          label: v.label,
          lambda: v.settings.lambda,
          caps: { max_per_brand: v.settings.max_per_brand, max_per_category: v.settings.max_per_category },
          ndcg10: avg(a.ndcg[j]!),
          ndcg10_vs_ranked: vsRanked(a.ndcg[j]!, a.ranked),
          ild10: avg(a.ild[j]!),
          coverage10: avg(a.coverage[j]!),
          new10: avg(a.fresh[j]!),
        })),
      };
    };
    return {
      note: 'Every figure here comes from SIMULATED shoppers (eval/simulate/world.ts) on a real catalog with real Taobao session shapes; it measures the trade-off, not a real shop.',
      ranking: { mode: service.ranker.status.mode, model_version: service.ranker.status.model_version },
      surfaces: { search: surfaceReport('search'), feed: surfaceReport('feed') },
      warm_up: { ...warm, seconds },
      config: cfg,
    };
  } finally {
    await service.close();
  }
}

/** Per request, per variant: the figures averaged into a row. */
function newSums(n: number) {
  const z = () => Array.from({ length: n }, () => [] as number[]);
  return { ranked: [] as number[], ndcg: z(), ild: z(), coverage: z(), fresh: z() };
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** Paired difference of nDCG@10 against the ranked page, with its 95% bootstrap interval and randomization p-value. */
function vsRanked(xs: readonly number[], ranked: readonly number[]): DiversityRow['ndcg10_vs_ranked'] {
  const c = comparePaired(xs, ranked, { rounds: 2000 });
  return { mean_diff: r4(c.mean_diff), ci95: [r4(c.ci_low), r4(c.ci_high)], p_value: r4(c.p_value) };
}
