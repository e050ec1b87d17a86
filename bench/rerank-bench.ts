import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emptyUserState } from '../behavior/user-state.ts';
import { attachCoupons, bestOffers, offerable, type CouponPageItem } from '../coupons/attach.ts';
import { CouponConfigSchema } from '../coupons/config.ts';
import { CouponSchema, type Coupon } from '../coupons/coupon.ts';
import type { CouponStatus } from '../coupons/ledger.ts';
import { mulberry32 } from '../core/rng.ts';
import { mmrOptions } from '../diversity/apply.ts';
import { MmrConfigSchema } from '../diversity/config.ts';
import { filterKey } from '../retrieval/index/stores.ts';
import { mmr, type MmrItem } from '../diversity/mmr.ts';
import { summarize } from './stats.ts';

export interface RerankBenchOptions {
  outDir: string;
  /** Ranked items per request. */
  items?: number;
  /** How many of them MMR reorders (diversity/mmr.ts top_n); default all of them. */
  topN?: number;
  dim?: number;
  /** Page the coupons are scored for. */
  page?: number;
  coupons?: number;
  iterations?: number;
  seed?: number;
  quiet?: boolean;
}

const CATEGORIES = [
  'sports/footwear/running',
  'sports/footwear/trail',
  'home & kitchen/cookware',
  'electronics/audio',
  'books',
  'toys/blocks',
];
const BRANDS = ['nike', 'adidas', 'sony', 't-fal', 'lego', 'penguin', '小米', 'asics'];

/** One category and brand per item, as MMR (keys) and coupon eligibility (names) both see them. */
const keyed = (category: string, brand: string) => ({
  category,
  brand,
  categoryKey: filterKey(category),
  brandKey: filterKey(brand),
});

/**
 * The stages after ranking, per request: MMR over the ranked head (default 200 items with
 * 128-d vectors, the feed's settings: λ 0.7, at most 3 per brand per page of 20) and coupon
 * targeting on the 20-item page (10 live coupons: status and claims filter, eligibility,
 * affinity for every item × coupon, best pick, attach). In memory: no ledger or state reads,
 * which are cached (coupon list) or one batched read per request. `iterations` requests after
 * 100 warm-up, cycling through 16 seeded candidate sets.
 */
export function runRerankBench(opts: RerankBenchOptions) {
  const n = opts.items ?? 200;
  const dim = opts.dim ?? 128;
  const pageSize = opts.page ?? 20;
  const nCoupons = opts.coupons ?? 10;
  const iterations = opts.iterations ?? 1000;
  const rnd = mulberry32(opts.seed ?? 42);
  const NOW = Date.UTC(2026, 0, 1);

  const requests = Array.from({ length: 16 }, () =>
    Array.from({ length: n }, (_, i): MmrItem & CouponPageItem => {
      const vector = new Float32Array(dim);
      for (let d = 0; d < dim; d++) vector[d] = rnd() - 0.5;
      const relevance = 1 / (1 + i) + 0.01 * rnd();
      return {
        id: `p${i}`,
        relevance,
        score: relevance,
        vector,
        ...keyed(CATEGORIES[Math.floor(rnd() * CATEGORIES.length)]!, BRANDS[Math.floor(rnd() * BRANDS.length)]!),
        price: 5 + rnd() * 300,
      };
    }),
  );
  const mmrCfg = MmrConfigSchema.parse({}).feed;
  // As the service calls it: slots filled up to the end of the page shown (first page here).
  const mmrOpts = mmrOptions(mmrCfg, opts.topN ?? n, pageSize, pageSize);

  const coupons: Coupon[] = Array.from({ length: nCoupons }, (_, i) =>
    CouponSchema.parse({
      id: `c${i}`,
      name: `coupon ${i}`,
      ...(i % 3 === 0
        ? { type: 'percent', value: 5 + i }
        : i % 3 === 1
          ? { type: 'fixed', value: 3 + i }
          : { type: 'threshold', value: 10, min_spend: 50 + 10 * i }),
      eligibility: {
        categories: i % 4 === 1 ? [CATEGORIES[i % CATEGORIES.length]!.split('/')[0]!] : [],
        brands: i % 5 === 2 ? [BRANDS[i % BRANDS.length]!] : [],
        segments: i % 7 === 3 ? ['vip'] : [],
      },
      valid_from: NOW - 86_400_000,
      valid_until: NOW + (1 + i) * 86_400_000,
      stock: 1000,
      per_user_limit: 2,
      ...(i % 2 === 0 && { budget: 5000 }),
    }),
  );
  const status = new Map<string, CouponStatus>(
    coupons.map((c) => [
      c.id,
      { stock_left: 500, claimed: 500, redeemed: 100, spent: 100, budget_left: c.budget !== undefined ? 4900 : null },
    ]),
  );
  const claims = new Map(coupons.map((c, i) => [c.id, i % 4 === 0 ? 1 : 0]));
  const user = emptyUserState('u:bench');
  user.coupons = { claimed: 4, redeemed: 3, coupon_purchases: 3 };
  user.counts = { view: 40, click: 12, add_to_cart: 3, purchase: 6, impression: 300 };
  user.price = { w: 2, log_sum: 2 * Math.log(80) };
  const couponCfg = CouponConfigSchema.parse({ boost: 0.5 });

  const once = (items: Array<MmrItem & CouponPageItem>) => {
    const t0 = performance.now();
    const order = mmr(items, mmrOpts);
    const byId = new Map(items.map((it) => [it.id, it]));
    const page = order.items.slice(0, pageSize).map((p) => byId.get(p.id)!);
    const t1 = performance.now();
    const available = offerable(coupons, status, claims, NOW);
    const offers = bestOffers(page, available, { user, now: NOW, status }, couponCfg);
    const out = attachCoupons(page, offers, couponCfg, false);
    const t2 = performance.now();
    return {
      mmr: t1 - t0,
      coupons: t2 - t1,
      total: t2 - t0,
      attached: out.filter((it) => (it as { coupon?: unknown }).coupon).length,
    };
  };
  for (let i = 0; i < 100; i++) once(requests[i % requests.length]!);
  const ms = { mmr: [] as number[], coupons: [] as number[], total: [] as number[] };
  let attached = 0;
  for (let i = 0; i < iterations; i++) {
    const r = once(requests[i % requests.length]!);
    ms.mmr.push(r.mmr);
    ms.coupons.push(r.coupons);
    ms.total.push(r.total);
    attached += r.attached;
  }
  const total = summarize(ms.total);
  const result = {
    items: n,
    top_n: mmrOpts.top_n,
    dim,
    page: pageSize,
    coupons: nCoupons,
    p50_ms: total.p50_ms,
    p99_ms: total.p99_ms,
    target_p99_ms: 2,
    total: { ...total, iterations },
    mmr: {
      ...summarize(ms.mmr),
      includes: `mmr() over ${n} items (top ${mmrOpts.top_n} candidates, ${mmrOpts.depth} slots picked), λ ${mmrOpts.lambda}, at most ${mmrCfg.max_per_brand} per brand per page of ${pageSize}, then the page cut`,
    },
    coupon_affinity: {
      ...summarize(ms.coupons),
      includes: `status/claims filter, eligibility, affinity for ${pageSize} items × ${nCoupons} coupons, best pick, attach with boost`,
      attached_per_page: Math.round((attached / iterations) * 10) / 10,
    },
    machine: { cpus: os.cpus().length, node: process.version, loadavg_1m: Math.round(os.loadavg()[0]! * 100) / 100 },
  };
  if (!opts.quiet)
    console.error(
      `rerank: MMR ${n} items p50 ${result.mmr.p50_ms} / p99 ${result.mmr.p99_ms} ms; coupons ${pageSize}×${nCoupons} p50 ${result.coupon_affinity.p50_ms} / p99 ${result.coupon_affinity.p99_ms} ms; together p50 ${total.p50_ms} / p99 ${total.p99_ms} ms`,
    );
  fs.mkdirSync(opts.outDir, { recursive: true });
  fs.writeFileSync(path.join(opts.outDir, 'bench-rerank.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
