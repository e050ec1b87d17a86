import type { ServedEntry } from '../../behavior/served-log.ts';
import { meanEstimate, ratioEstimate, type Estimate } from '../kit/online-stats.ts';
import { attribute, type LoggedEvent } from './attribution.ts';

/**
 * The shop report as data (shop.json; shop.html and the console render it), from the shop's own
 * logs over [from, to): search volume and zero-result rate, top queries with their CTR and
 * conversion, zero-result queries, queries searched often and rarely clicked, CTR by position,
 * feed and similar-items CTR and conversion, attributed revenue, and coupons (claims, redemptions,
 * spend, budget left). Pure: budgets come from the ledger through the caller.
 */

export interface QueryRow {
  query: string;
  searches: number;
  /** Share of its searches with a click / with a purchase. */
  ctr: number;
  conversion: number;
}

export interface SurfaceRow {
  surface: 'search' | 'feed' | 'similar';
  requests: number;
  shoppers: number;
  ctr: Estimate;
  conversion: Estimate;
  revenue: number;
}

export interface ShopReport {
  kind: 'shop';
  from: number | null;
  to: number | null;
  search: {
    searches: number;
    distinct_queries: number;
    zero_result_rate: number;
    top_zero_result: Array<{ query: string; searches: number }>;
    top_queries: QueryRow[];
    /** At least `min` searches and the lowest CTR: what shoppers look for and do not find. */
    few_clicks: QueryRow[];
  };
  ctr_by_position: Array<{ position: number; impressions: number; clicks: number; ctr: number }>;
  surfaces: SurfaceRow[];
  attributed_revenue: number;
  coupons: {
    claims: number;
    redemptions: number;
    spend: number;
    budgets: Array<{ id: string; budget: number | null; budget_left: number | null; spent: number }>;
  };
  warnings: string[];
}

const norm = (q: string) => q.trim().toLowerCase().replace(/\s+/g, ' ');

export function shopReport(
  served: readonly ServedEntry[],
  events: readonly LoggedEvent[],
  opts: {
    windowMs: number;
    from?: number | undefined;
    to?: number | undefined;
    budgets?: ShopReport['coupons']['budgets'];
    top?: number;
    minSearches?: number;
  },
): ShopReport {
  const inRange = (ts: number) =>
    (opts.from === undefined || ts >= opts.from) && (opts.to === undefined || ts < opts.to);
  const tsOf = (e: LoggedEvent) => (typeof e.ts === 'number' ? e.ts : Date.parse(e.ts));
  const entries = served.filter((s) => inRange(s.ts));
  const att = attribute(
    entries,
    events.filter((e) => inRange(tsOf(e))),
    { windowMs: opts.windowMs },
  );
  const top = opts.top ?? 20;
  const outcomes = [...att.outcomes.values()];

  const queries = new Map<string, { searches: number; clicked: number; bought: number; zero: number }>();
  let zero = 0;
  const searches = outcomes.filter((o) => o.entry.surface === 'search');
  for (const o of searches) {
    const q = norm(o.entry.query ?? '');
    const t = queries.get(q) ?? queries.set(q, { searches: 0, clicked: 0, bought: 0, zero: 0 }).get(q)!;
    t.searches++;
    if (o.clicks.size > 0) t.clicked++;
    if (o.purchases.size > 0) t.bought++;
    if (o.entry.items.length === 0) {
      t.zero++;
      zero++;
    }
  }
  const qrows: QueryRow[] = [...queries].map(([query, t]) => ({
    query,
    searches: t.searches,
    ctr: t.clicked / t.searches,
    conversion: t.bought / t.searches,
  }));
  const byVolume = (a: { searches: number; query: string }, b: { searches: number; query: string }) =>
    b.searches - a.searches || a.query.localeCompare(b.query);
  const min = opts.minSearches ?? 3;

  const pos = new Map<number, { impressions: number; clicks: number }>();
  for (const o of outcomes) {
    for (const it of o.entry.items) {
      const p = pos.get(it.position) ?? pos.set(it.position, { impressions: 0, clicks: 0 }).get(it.position)!;
      p.impressions++;
    }
    for (const p of o.clickedPositions) pos.get(p)!.clicks++;
  }

  const surfaces: SurfaceRow[] = [];
  for (const surface of ['search', 'feed', 'similar'] as const) {
    const mine = outcomes.filter((o) => o.entry.surface === surface);
    if (mine.length === 0) continue;
    const by = new Map<string, { requests: number; clicked: number; bought: number }>();
    for (const o of mine) {
      const s = o.entry.subject ?? `request:${o.entry.request_id}`;
      const t = by.get(s) ?? by.set(s, { requests: 0, clicked: 0, bought: 0 }).get(s)!;
      t.requests++;
      if (o.clicks.size > 0) t.clicked++;
      if (o.purchases.size > 0) t.bought = 1;
    }
    const t = [...by.values()];
    surfaces.push({
      surface,
      requests: mine.length,
      shoppers: t.length,
      ctr: ratioEstimate(
        t.map((x) => x.clicked),
        t.map((x) => x.requests),
      ),
      conversion: meanEstimate(t.map((x) => x.bought)),
      revenue: mine.reduce((s, o) => s + o.revenue, 0),
    });
  }

  const warnings: string[] = [];
  if (searches.length < 100)
    warnings.push(`too little data: ${searches.length} searches in the period; rates below are noisy`);
  for (const s of surfaces)
    if (s.shoppers < 30) warnings.push(`too little data on ${s.surface}: ${s.shoppers} shoppers`);

  return {
    kind: 'shop',
    from: opts.from ?? null,
    to: opts.to ?? null,
    search: {
      searches: searches.length,
      distinct_queries: queries.size,
      zero_result_rate: searches.length ? zero / searches.length : 0,
      top_zero_result: [...queries]
        .filter(([, t]) => t.zero > 0)
        .map(([query, t]) => ({ query, searches: t.zero }))
        .sort(byVolume)
        .slice(0, top),
      top_queries: [...qrows].sort(byVolume).slice(0, top),
      few_clicks: qrows
        .filter((q) => q.searches >= min)
        .sort((a, b) => a.ctr - b.ctr || b.searches - a.searches)
        .slice(0, top),
    },
    ctr_by_position: [...pos]
      .sort((a, b) => a[0] - b[0])
      .slice(0, 20)
      .map(([position, p]) => ({ position, ...p, ctr: p.impressions ? p.clicks / p.impressions : 0 })),
    surfaces,
    attributed_revenue: outcomes.reduce((s, o) => s + o.revenue, 0),
    coupons: { ...att.coupons, budgets: opts.budgets ?? [] },
    warnings,
  };
}
