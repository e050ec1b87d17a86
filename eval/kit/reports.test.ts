import { describe, expect, it } from 'vitest';
import { couponVerdict, renderCouponReport } from '../coupons/report.ts';
import type { CouponEvalResult } from '../coupons/run.ts';
import { feedVerdict, feedWarnings, renderFeedReport } from '../feed/feed-report.ts';
import type { FeedJson } from '../feed/feed-json.ts';
import { diversityVerdict, renderDiversityReport } from '../simulate/diversity-report.ts';
import type { DiversityReport, DiversityRow } from '../simulate/diversity.ts';
import { rankingVerdict, renderRankingReport, type RankingReport } from '../simulate/ranking-report.ts';
import type { NdcgReport } from '../simulate/run.ts';
import { searchVerdict } from '../search/report.ts';
import type { SearchEvalResult } from '../search/evaluate.ts';
import { externalReferences } from './report-shell.ts';

/**
 * The offline reports (search.html is tested with its eval) in the one report shell: each page is
 * self-contained, every chart axis has a title, the "too little data" warning shows where it
 * applies, and the verdict names the better arm or setting in both directions.
 */

const verdictOf = (html: string) => html.match(/data-verdict="(\w+)">([^<]*)</)!.slice(1);

/** Every axis of every chart says what it measures (Vega writes the title into the axis label). */
function expectAxisTitles(html: string) {
  const axes = html.match(/aria-roledescription="axis" aria-label="[^"]*"/g) ?? [];
  expect(axes.length).toBeGreaterThan(0);
  for (const a of axes) expect(a).toMatch(/axis titled '[^']+'/);
}

function expectShell(html: string) {
  expect(html).toMatch(/^<!doctype html>/);
  expect(externalReferences(html)).toEqual([]);
  expect(html).toContain('<svg');
  expectAxisTitles(html);
}

// ------------------------------------------------------------------------------------ coupons

const arm = (offered: number, net: number) => ({
  offered,
  claimed: offered / 2,
  redeemed: offered / 5,
  redemption_rate: 0.2,
  incremental_gmv: net + 100,
  cost: 100,
  net,
});
function coupons(o: { affinity: number; everyone: number; vsEveryone: [number, number]; occasions?: number }) {
  const ci = (x: number): [number, number] => [x - 50, x + 50];
  return {
    affinity: arm(300, o.affinity),
    affinity_with_pcvr: arm(280, o.affinity - 10),
    everyone: arm(1200, o.everyone),
    random: arm(300, o.affinity / 3),
    oracle: arm(400, o.affinity * 2),
    net_ci95: {
      affinity: ci(o.affinity),
      affinity_with_pcvr: ci(o.affinity - 10),
      everyone: ci(o.everyone),
      random: ci(o.affinity / 3),
      oracle: ci(o.affinity * 2),
    },
    net_vs_affinity_ci95: {
      affinity: [0, 0],
      affinity_with_pcvr: [-30, 10],
      everyone: o.vsEveryone,
      random: [-400, -200],
      oracle: [100, 300],
    },
    data: { shoppers: 300, held_out_occasions: o.occasions ?? 1200, history_events: 1, history_visits_per_shopper: 1 },
    coupon: { type: 'percent', value: 15, valid_for_days: 7 },
    config: { seed: 1, min_value: 0 },
    note: 'SIMULATED',
  } as unknown as CouponEvalResult;
}

describe('coupons.html', () => {
  it('says giving the coupon to everyone nets more when it does, with the setting that does it', async () => {
    const r = coupons({ affinity: 500, everyone: 900, vsEveryone: [250, 550] });
    const v = couponVerdict(r);
    expect(v.tone).toBe('bad');
    expect(v.text).toMatch(/^Giving the coupon to everyone nets more/);
    expect(v.text).toContain('SHELF__COUPONS__TARGETING__MIN_VALUE=-1000000000');
    const html = await renderCouponReport(r, { generatedAt: 'now' });
    expectShell(html);
    expect(verdictOf(html)[0]).toBe('bad');
    expect(html).not.toContain('too little data');
  });

  it('keeps targeting when targeting nets more, and waits when the interval spans 0', () => {
    const good = couponVerdict(coupons({ affinity: 900, everyone: 500, vsEveryone: [-550, -250] }));
    expect(good.tone).toBe('good');
    expect(good.text).toMatch(/^Targeting by affinity nets more/);
    expect(good.text).toContain('keep SHELF__COUPONS__TARGETING__MIN_VALUE=0');
    expect(couponVerdict(coupons({ affinity: 500, everyone: 520, vsEveryone: [-40, 80] })).tone).toBe('wait');
  });

  it('warns on too little data', async () => {
    const html = await renderCouponReport(coupons({ affinity: 5, everyone: 9, vsEveryone: [-3, 10], occasions: 40 }), {
      generatedAt: 'now',
    });
    expect(html).toMatch(/<p class="warn">too little data: 40 held-out clicks/);
  });
});

// --------------------------------------------------------------------------------------- feed

const hit = (x: number) => ({ 'hr@10': x * 2, 'ndcg@10': x });
const sig = (d: number, lo: number, hi: number) => ({
  'ndcg@10': { metric: 'ndcg@10' as const, mean_diff: d, ci95: [lo, hi] as [number, number], p_value: 0.01, n: 500 },
  'hr@10': { metric: 'hr@10' as const, mean_diff: d, ci95: [lo, hi] as [number, number], p_value: 0.01, n: 500 },
});
function feed(o: { users: number; feed: number; itemcf: number; itemcfDiff: [number, number] }): FeedJson {
  const table = { popularity: hit(o.feed / 3), itemcf: hit(o.itemcf), uservector: hit(o.feed / 2), feed: hit(o.feed) };
  const significance = {
    feed_vs_popularity: sig(o.feed - o.feed / 3, 0.001, 0.02),
    feed_vs_itemcf: sig(o.feed - o.itemcf, ...o.itemcfDiff),
    feed_vs_uservector: sig(o.feed / 2, 0.001, 0.02),
  };
  return {
    full: table,
    sampled100: table,
    users: o.users,
    dataset: 'synthetic',
    protocol: { split: 'leave-last-out' },
    chosen: {
      weights: { itemcf: 1, uservector: 0.25, trending: 0.05, similar: 0, category: 0, sequence: 0 },
      rrf_k: 10,
      recall_k: 1000,
      seeds: 5,
      cooc_alpha: 0.25,
      short_weight: 0.5,
      itemcf_confident_score: undefined,
      itemcf_confident_scale: 0.2,
    },
    beats: { full: {}, sampled100: {} },
    significance: { full: significance, sampled100: significance },
    validation: { users: 10, full: table, sampled100: table, tuning: {} },
    item_vectors: { source: 'cooc' },
    behavior: {},
    replay: {},
    timing_ms: {},
  } as unknown as FeedJson;
}

describe('feed.html', () => {
  it('warns and waits on a tiny data set whose figures are all zero', async () => {
    const j = feed({ users: 3, feed: 0, itemcf: 0, itemcfDiff: [0, 0] });
    expect(feedWarnings(j)[0]).toMatch(/^too little data: 3 test users .*every route scored 0/);
    const html = await renderFeedReport(j, { generatedAt: 'now' });
    expectShell(html);
    expect(html).toContain('<p class="warn">too little data: 3 test users');
    expect(verdictOf(html)).toEqual(['wait', expect.stringMatching(/^Not enough data to choose feed settings/)]);
  });

  it('applies the chosen settings when the feed beats every route, and not when a route holds', () => {
    const good = feedVerdict(feed({ users: 800, feed: 0.05, itemcf: 0.04, itemcfDiff: [0.004, 0.016] }), 'out/f.json');
    expect(good.tone).toBe('good');
    expect(good.text).toContain('SHELF_FEED_CONFIG=out/f.json');
    expect(good.text).toContain('SHELF__FEED__WEIGHTS__USERVECTOR=0.25');
    expect(good.text).not.toContain('RECALL_K');
    expect(feedWarnings(feed({ users: 800, feed: 0.05, itemcf: 0.04, itemcfDiff: [0.004, 0.016] }))).toEqual([]);
    const bad = feedVerdict(feed({ users: 800, feed: 0.05, itemcf: 0.052, itemcfDiff: [-0.01, 0.006] }));
    expect(bad.tone).toBe('bad');
    expect(bad.text).toMatch(/does not reliably beat itemcf \(full/);
    expect(bad.text).not.toContain('SHELF_FEED_CONFIG=');
  });
});

// ---------------------------------------------------------------------------------- diversity

const row = (lambda: number, d: number, lo: number, hi: number, ild: number, label = `λ=${lambda}`): DiversityRow => ({
  label,
  lambda,
  caps: { max_per_brand: 0, max_per_category: 0 },
  ndcg10: 0.3 + d,
  ndcg10_vs_ranked: { mean_diff: d, ci95: [lo, hi], p_value: 0.5 },
  ild10: ild,
  coverage10: ild / 2,
  new10: 1 - lambda,
});
const diversity = (rows: DiversityRow[], requests = 400): DiversityReport =>
  ({
    note: 'simulated',
    ranking: { mode: 'model', model_version: 'v1' },
    surfaces: {
      search: { requests, settings: { lambda: 0.85 }, rows },
      feed: { requests, settings: { lambda: 0.7 }, rows },
    },
    config: { users: 20, seed: 1 },
  }) as unknown as DiversityReport;

describe('diversity.html', () => {
  it('sets the most varied λ whose relevance cost is not reliable', async () => {
    const r = diversity([
      row(1, 0, 0, 0, 0.3),
      row(0.9, -0.001, -0.004, 0.002, 0.33),
      row(0.5, -0.002, -0.006, 0.001, 0.4),
      row(0.3, -0.03, -0.04, -0.02, 0.5),
      row(0.85, -0.001, -0.003, 0.001, 0.32, 'default (λ=0.85)'),
    ]);
    const v = diversityVerdict(r);
    expect(v.tone).toBe('good');
    expect(v.text).toContain('SHELF__DIVERSITY__SEARCH__LAMBDA=0.5 SHELF__DIVERSITY__FEED__LAMBDA=0.5');
    const html = await renderDiversityReport(r, 'now');
    expectShell(html);
    expect(html).not.toContain('too little data');
  });

  it('keeps the current λ when every lower one costs relevance, and warns on few requests', async () => {
    // The current setting itself costs relevance reliably and only the ranked page is free: back to λ 1.
    expect(
      diversityVerdict(diversity([row(1, 0, 0, 0, 0.3), row(0.85, -0.02, -0.03, -0.01, 0.34, 'default (λ=0.85)')]))
        .text,
    ).toContain('SHELF__DIVERSITY__SEARCH__LAMBDA=1');
    const r = diversity(
      [
        row(1, 0, 0, 0, 0.3),
        row(0.7, -0.02, -0.03, -0.01, 0.4),
        row(0.85, -0.002, -0.005, 0.001, 0.34, 'default (λ=0.85)'),
      ],
      12,
    );
    const v = diversityVerdict(r);
    expect(v.tone).toBe('neutral');
    expect(v.text).toContain('nothing to change');
    expect(v.text).not.toContain('SHELF__');
    expect(await renderDiversityReport(r, 'now')).toContain('<p class="warn">too little data: 12 feed requests');
  });
});

// ------------------------------------------------------------------------------------ ranking

const ndcg = (d: [number, number, number], requests = 300): NdcgReport => ({
  requests,
  judged: requests / 3,
  fusion: 0.2,
  heuristic: 0.22,
  model: 0.22 + d[0],
  expected: { fusion: 0.2, heuristic: 0.21, model: 0.21 + d[0] },
  model_vs: {
    heuristic: { mean_diff: d[0], ci95: [d[1], d[2]], p_value: 0.01 },
    fusion: { mean_diff: d[0] + 0.01, ci95: [d[1] + 0.01, d[2] + 0.01], p_value: 0.01 },
  },
});
const ranking = (search: NdcgReport, feedR: NdcgReport): RankingReport => ({
  note: 'simulated',
  model_version: 'ranker-abc',
  multitask: { auc: { ctr: 0.71, cvr: 0.55, cvr_all: 0.62, ctcvr: 0.68 } },
  ctr_only: { auc: { ctr: 0.7 } },
  cvr_clicked_only: { auc: { cvr: 0.56, cvr_all: 0.6 } },
  ctr_only_x_cvr_clicked_only: { auc: { ctr: 0.7, cvr: 0.56, cvr_all: 0.6, ctcvr: 0.67 } },
  data: {},
  simulator: {
    ndcg10_purchases: { search, feed: feedR },
    log_phase: {},
    deployed: {},
    served_after_deploy: {},
    config: { users: 150, seed: 7 } as RankingReport['simulator']['config'],
  },
});

describe('ranking.html', () => {
  it('deploys a model that beats the heuristic on both surfaces, with the folder setting', async () => {
    const r = ranking(ndcg([0.02, 0.01, 0.03]), ndcg([0.01, 0.002, 0.02]));
    const v = rankingVerdict(r, '/out/model');
    expect(v.tone).toBe('good');
    expect(v.text).toContain('SHELF__RANKING__MODEL_DIR=/out/model');
    const html = await renderRankingReport(r, { generatedAt: 'now' });
    expectShell(html);
    expect(html).not.toContain('too little data');
  });

  it('refuses a model that is worse on one surface, and warns on few requests', async () => {
    const r = ranking(ndcg([0.02, 0.01, 0.03]), ndcg([-0.02, -0.03, -0.01], 40));
    const v = rankingVerdict(r);
    expect(v.tone).toBe('bad');
    expect(v.text).toMatch(/worse than the heuristic on feed .*do not deploy it/);
    expect(await renderRankingReport(r, { generatedAt: 'now' })).toContain(
      '<p class="warn">too little data: 40 feed requests',
    );
    expect(rankingVerdict(ranking(ndcg([0.001, -0.01, 0.012]), ndcg([0.01, 0.002, 0.02]))).tone).toBe('wait');
  });
});

// ------------------------------------------------------------------------------------- search

describe('search.html verdict', () => {
  const result = (hybrid: number) =>
    ({
      modes: ['bm25', 'vector', 'hybrid'],
      queries: 400,
      aggregate: { 'ndcg@10': { bm25: 0.4, vector: 0.3, hybrid } },
    }) as unknown as SearchEvalResult;
  const sigOf = (d: number, lo: number, hi: number) =>
    ({
      hybrid_vs_bm25: { metric: 'ndcg@10', mean_diff: d, ci95: [lo, hi], p_value: 0.01, n: 400 },
    }) as unknown as Parameters<typeof searchVerdict>[1];

  it('keeps hybrid when it beats the best single mode, naming the evaluated fusion to apply', () => {
    const v = searchVerdict(result(0.43), sigOf(0.03, 0.01, 0.05), { fusion: { all_terms: 0.5 } });
    expect(v.tone).toBe('good');
    expect(v.text).toMatch(/^Hybrid beats bm25 by \+0\.0300/);
    expect(v.text).toContain('SHELF__RETRIEVAL__FUSION__ALL_TERMS=0.5');
    expect(searchVerdict(result(0.43), sigOf(0.03, 0.01, 0.05)).text).toContain('nothing to change');
  });

  it('serves the better single mode alone when hybrid loses to it, and waits when unsure', () => {
    const v = searchVerdict(result(0.37), sigOf(-0.03, -0.05, -0.01));
    expect(v.tone).toBe('bad');
    expect(v.text).toMatch(/^Hybrid loses to bm25/);
    expect(v.text).toContain('SHELF__RETRIEVAL__WEIGHTS__VECTOR=0');
    expect(searchVerdict(result(0.401), sigOf(0.001, -0.01, 0.012)).tone).toBe('wait');
  });
});
