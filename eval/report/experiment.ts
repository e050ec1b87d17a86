import type { ServedEntry } from '../../behavior/served-log.ts';
import { controlArm, type Experiment } from '../../pipeline/experiments/experiment.ts';
import {
  liftOf,
  meanEstimate,
  ratioEstimate,
  sampleRatioCheck,
  shoppersPerArmFor,
  type Estimate,
  type Lift,
  type SampleRatioCheck,
} from '../kit/online-stats.ts';
import { attribute, type LoggedEvent } from './attribution.ts';

/**
 * The experiment report as data (experiment.json; the HTML and the console render it): per arm
 * and surface, requests, shoppers, CTR, add-to-cart rate, conversion, revenue and coupon cost per
 * shopper with 95% intervals, the lift of every arm over control with its p-value, the
 * sample-ratio-mismatch check and a verdict in one sentence. The shopper is the unit (arms are
 * assigned per shopper), so intervals are over shoppers. Pure.
 */

export const METRICS = ['ctr', 'add_to_cart', 'conversion', 'revenue_per_shopper', 'coupon_cost_per_shopper'] as const;
export type Metric = (typeof METRICS)[number];
export const METRIC_LABELS: Record<Metric, string> = {
  ctr: 'CTR (requests with a click)',
  add_to_cart: 'add-to-cart rate (shoppers)',
  conversion: 'conversion (shoppers who bought)',
  revenue_per_shopper: 'revenue per shopper',
  coupon_cost_per_shopper: 'coupon cost per shopper',
};
/** The metric the verdict is about. */
export const PRIMARY: Metric = 'conversion';
/** Below this many shoppers in an arm, no verdict: normal intervals need a few dozen. */
export const MIN_SHOPPERS = 30;
/** The smallest lift worth detecting, for "how many more shoppers". */
export const TARGET_LIFT = 0.05;

export interface ArmRow {
  arm: string;
  surface: 'all' | 'search' | 'feed' | 'similar';
  requests: number;
  shoppers: number;
  metrics: Record<Metric, Estimate>;
  /** Against the control arm on the same surface; absent for control. */
  lift?: Record<Metric, Lift>;
}

export interface Verdict {
  text: string;
  tone: 'good' | 'bad' | 'neutral' | 'wait';
}

export interface ExperimentReport {
  kind: 'experiment';
  experiment: Pick<Experiment, 'id' | 'surface' | 'status' | 'start' | 'end' | 'created_at' | 'stopped_at'> & {
    arms: Array<{ name: string; weight: number; overrides: Record<string, unknown> }>;
    control: string;
  };
  window_ms: number;
  rows: ArmRow[];
  srm: SampleRatioCheck;
  /** Shoppers per arm a 5% conversion lift needs at control's rate; null: no conversions yet. */
  shoppers_needed_per_arm: number | null;
  verdict: Verdict;
  attribution: { by_request_id: number; by_click_window: number };
}

interface ShopperTally {
  requests: number;
  clicked: number;
  carted: number;
  bought: number;
  revenue: number;
  coupon: number;
}

export function experimentReport(
  e: Experiment,
  served: readonly ServedEntry[],
  events: readonly LoggedEvent[],
  opts: { windowMs: number },
): ExperimentReport {
  const mine = served.filter((s) => s.experiment?.id === e.id);
  const att = attribute(mine, events, opts);
  // arm → surface ('all' too) → subject → tally
  const tallies = new Map<string, Map<string, Map<string, ShopperTally>>>();
  const armOfSubject = new Map<string, { arm: string; since: number }>();
  const bump = (arm: string, surface: string, subject: string, f: (t: ShopperTally) => void) => {
    const bySurface = tallies.get(arm) ?? tallies.set(arm, new Map()).get(arm)!;
    const bySubject = bySurface.get(surface) ?? bySurface.set(surface, new Map()).get(surface)!;
    const t =
      bySubject.get(subject) ??
      bySubject.set(subject, { requests: 0, clicked: 0, carted: 0, bought: 0, revenue: 0, coupon: 0 }).get(subject)!;
    f(t);
  };
  for (const o of att.outcomes.values()) {
    const { entry } = o;
    const subject = entry.subject ?? `request:${entry.request_id}`;
    const arm = entry.experiment!.arm;
    const prior = armOfSubject.get(subject);
    if (!prior || entry.ts < prior.since) armOfSubject.set(subject, { arm, since: entry.ts });
    for (const surface of ['all', entry.surface]) {
      bump(arm, surface, subject, (t) => {
        t.requests++;
        if (o.clicks.size > 0) t.clicked++;
        if (o.carts.size > 0) t.carted = 1;
        if (o.purchases.size > 0) t.bought = 1;
        t.revenue += o.revenue;
        t.coupon += o.couponCost;
      });
    }
  }
  // A redemption naming no response costs the arm its shopper is in, once exposed.
  for (const r of att.unattributedRedemptions) {
    const a = armOfSubject.get(r.subject);
    if (a && r.ts >= a.since) bump(a.arm, 'all', r.subject, (t) => (t.coupon += r.discount));
  }

  const control = controlArm(e).name;
  const surfaces = ['all', 'search', 'feed', 'similar'] as const;
  const rows: ArmRow[] = [];
  for (const surface of surfaces) {
    const bySurface = e.arms.map((a) => ({ a, t: [...(tallies.get(a.name)?.get(surface)?.values() ?? [])] }));
    if (surface !== 'all' && bySurface.every((x) => x.t.length === 0)) continue;
    const estimates = new Map<string, Record<Metric, Estimate>>();
    for (const { a, t } of bySurface) {
      estimates.set(a.name, {
        ctr: ratioEstimate(
          t.map((x) => x.clicked),
          t.map((x) => x.requests),
        ),
        add_to_cart: meanEstimate(t.map((x) => x.carted)),
        conversion: meanEstimate(t.map((x) => x.bought)),
        revenue_per_shopper: meanEstimate(t.map((x) => x.revenue)),
        coupon_cost_per_shopper: meanEstimate(t.map((x) => x.coupon)),
      });
    }
    const base = estimates.get(control)!;
    for (const { a, t } of bySurface) {
      const m = estimates.get(a.name)!;
      rows.push({
        arm: a.name,
        surface,
        requests: t.reduce((s, x) => s + x.requests, 0),
        shoppers: t.length,
        metrics: m,
        ...(a.name !== control && {
          lift: Object.fromEntries(METRICS.map((k) => [k, liftOf(base[k], m[k])])) as Record<Metric, Lift>,
        }),
      });
    }
  }
  const overall = rows.filter((r) => r.surface === 'all');
  const srm = sampleRatioCheck(
    Object.fromEntries(overall.map((r) => [r.arm, r.shoppers])),
    Object.fromEntries(e.arms.map((a) => [a.name, a.weight])),
  );
  const controlRow = overall.find((r) => r.arm === control)!;
  const needed = shoppersPerArmFor(controlRow.metrics.conversion.value, TARGET_LIFT);
  return {
    kind: 'experiment',
    experiment: {
      id: e.id,
      surface: e.surface,
      status: e.status,
      ...(e.start !== undefined && { start: e.start }),
      ...(e.end !== undefined && { end: e.end }),
      created_at: e.created_at,
      ...(e.stopped_at !== undefined && { stopped_at: e.stopped_at }),
      arms: e.arms.map((a) => ({ name: a.name, weight: a.weight, overrides: a.overrides })),
      control,
    },
    window_ms: opts.windowMs,
    rows,
    srm,
    shoppers_needed_per_arm: Number.isFinite(needed) ? needed : null,
    verdict: verdictOf(overall, control, srm, needed),
    attribution: { by_request_id: att.purchases.by_request_id, by_click_window: att.purchases.by_click_window },
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** One sentence that says what to do next. Pure. */
export function verdictOf(overall: readonly ArmRow[], control: string, srm: SampleRatioCheck, needed: number): Verdict {
  const total = overall.reduce((s, r) => s + r.shoppers, 0);
  if (total === 0)
    return { tone: 'wait', text: 'no traffic yet: no response in the logs was served by this experiment' };
  if (srm.mismatch)
    return {
      tone: 'bad',
      text: `sample ratio mismatch (p = ${srm.p_value.toExponential(1)}): the arms did not get the traffic their weights say; fix assignment or logging before reading any result`,
    };
  const smallest = Math.min(...overall.map((r) => r.shoppers));
  const others = overall.filter((r) => r.arm !== control && r.lift);
  const winners = smallest < MIN_SHOPPERS ? [] : others.filter((r) => r.lift!.conversion.p_value < 0.05);
  if (winners.length > 0) {
    const best = winners.sort((a, b) => b.lift!.conversion.relative - a.lift!.conversion.relative)[0]!;
    const l = best.lift!.conversion;
    const up = l.relative > 0;
    return {
      tone: up ? 'good' : 'bad',
      text: `${best.arm} ${up ? 'lifts' : 'lowers'} conversion by ${pct(Math.abs(l.relative))} [${pct(l.ci[0])}, ${pct(l.ci[1])}] against ${control} (p = ${l.p_value < 0.001 ? '< 0.001' : l.p_value.toFixed(3)}): ${up ? `apply ${best.arm}'s overrides as the service's settings` : `stop it and keep ${control}`}`,
    };
  }
  if (!Number.isFinite(needed))
    return { tone: 'wait', text: 'not enough data yet: no conversions in the control arm to measure a lift against' };
  const more = Math.max(0, needed - smallest) * overall.length;
  if (more > 0)
    return {
      tone: 'wait',
      text: `not enough data yet: about ${more.toLocaleString('en-US')} more shoppers needed for a 5% lift`,
    };
  return {
    tone: 'neutral',
    text: `no arm changes conversion measurably (enough shoppers to see a 5% lift): keep ${control}`,
  };
}
