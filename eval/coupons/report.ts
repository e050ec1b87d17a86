/**
 * `coupons.html`: the arms of the simulated coupon targeting experiment side by side, in the
 * report shell (eval/kit/report-shell.ts): net value per arm with bootstrap intervals, each arm
 * against targeting, and a verdict naming the threshold to set.
 */
import { escapeHtml, htmlTable } from '../kit/html.ts';
import { chartRow, reportPage, type Verdict } from '../kit/report-shell.ts';
import { settingsLine } from '../kit/settings-line.ts';
import { barChart, intervalChart, vegaSvg } from '../kit/vega-chart.ts';
import type { ArmResult, CouponEvalResult } from './run.ts';

const ARMS = [
  ['affinity', 'Targeted by affinity'],
  ['affinity_with_pcvr', 'Affinity with a ranker pCVR (stand-in)'],
  ['everyone', 'Everyone'],
  ['random', 'Random group, same size'],
  ['oracle', 'Oracle (knows the hidden truth)'],
] as const;

/** Fewer held-out occasions than this: the report warns that the intervals are too wide to act on. */
export const MIN_OCCASIONS = 1000;

/** The threshold that offers the coupon on every occasion (coupons.targeting.min_value's floor). */
export const OFFER_TO_EVERYONE = -1e9;

const money = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
const signedMoney = (x: number) => (x >= 0 ? '+' : '−') + money(Math.abs(x));
const perCoupon = (a: ArmResult) => (a.offered > 0 ? (a.net / a.offered).toFixed(2) : '–');

/**
 * What the numbers say about the two arms a shop can serve (targeting at the evaluated
 * threshold, or the coupon for everyone) and the exact setting to apply. Pure.
 */
export function couponVerdict(r: CouponEvalResult): Verdict {
  const [lo, hi] = r.net_vs_affinity_ci95.everyone;
  const d = r.everyone.net - r.affinity.net;
  const diff = `${signedMoney(d)} USD [${signedMoney(lo)}, ${signedMoney(hi)}]`;
  const keep = settingsLine({ 'coupons.targeting.min_value': r.config.min_value });
  if (lo > 0)
    return {
      tone: 'bad',
      text: `Giving the coupon to everyone nets more than targeting by affinity: ${money(r.everyone.net)} vs ${money(r.affinity.net)} USD (${diff}); offer it to every shopper with ${settingsLine({ 'coupons.targeting.min_value': OFFER_TO_EVERYONE })}, unless coupon stock or budget is limited (per coupon: ${perCoupon(r.everyone)} vs ${perCoupon(r.affinity)} targeted)`,
    };
  if (hi < 0)
    return {
      tone: 'good',
      text: `Targeting by affinity nets more than giving the coupon to everyone: ${money(r.affinity.net)} vs ${money(r.everyone.net)} USD (everyone ${diff}) with ${r.affinity.offered} coupons instead of ${r.everyone.offered}; keep ${keep}`,
    };
  return {
    tone: 'wait',
    text: `No reliable difference in net value between targeting and everyone (everyone ${diff}); keep ${keep}: it hands out ${r.affinity.offered} coupons instead of ${r.everyone.offered}`,
  };
}

export async function renderCouponReport(r: CouponEvalResult, ctx: { generatedAt: string }): Promise<string> {
  const arm = (k: (typeof ARMS)[number][0]): ArmResult => r[k];
  const warnings = [`simulated data: ${r.note}`];
  if (r.data.held_out_occasions < MIN_OCCASIONS)
    warnings.unshift(
      `too little data: ${r.data.held_out_occasions} held-out clicks from ${r.data.shoppers} shoppers (at least ${MIN_OCCASIONS} are needed); the intervals are wide`,
    );
  const table = htmlTable({
    head: [
      '',
      'offered',
      'redeemed',
      'redemption rate',
      'incremental GMV',
      'cost',
      'net [95% CI]',
      'net − affinity [95% CI]',
      'net per coupon',
    ],
    rows: ARMS.map(([k, label]) => {
      const a = arm(k);
      const [lo, hi] = r.net_ci95[k];
      const [dlo, dhi] = r.net_vs_affinity_ci95[k];
      return [
        { html: escapeHtml(label), header: true },
        String(a.offered),
        a.redeemed.toFixed(1),
        a.redemption_rate.toFixed(4),
        money(a.incremental_gmv),
        money(a.cost),
        `${money(a.net)} <span class="note">[${money(lo)}, ${money(hi)}]</span>`,
        k === 'affinity'
          ? '–'
          : `${signedMoney(a.net - r.affinity.net)} <span class="note">[${signedMoney(dlo)}, ${signedMoney(dhi)}]</span>`,
        perCoupon(a),
      ];
    }),
  });
  const charts = [
    await vegaSvg(
      intervalChart({
        title: 'Net value per arm, 95% CI',
        x: 'net value (incremental GMV − coupon cost), USD',
        y: 'arm',
        format: ',.0f',
        points: ARMS.map(([k]) => ({ label: k, value: arm(k).net, lo: r.net_ci95[k][0], hi: r.net_ci95[k][1] })),
      }),
    ),
    await vegaSvg(
      intervalChart({
        title: 'Net value minus targeting by affinity, 95% CI',
        x: 'difference in net value, USD (> 0: better than affinity)',
        y: 'arm',
        format: ',.0f',
        rule: 0,
        points: ARMS.filter(([k]) => k !== 'affinity').map(([k]) => ({
          label: k,
          value: arm(k).net - r.affinity.net,
          lo: r.net_vs_affinity_ci95[k][0],
          hi: r.net_vs_affinity_ci95[k][1],
        })),
      }),
    ),
    await vegaSvg(
      barChart({
        title: 'Redemption rate',
        x: 'arm',
        y: 'redemptions per coupon offered',
        ordered: true,
        bars: ARMS.map(([k]) => ({ label: k, value: arm(k).redemption_rate })),
      }),
    ),
  ];
  return reportPage({
    title: 'Coupon targeting — simulated shoppers',
    meta: `${r.data.shoppers} shoppers · ${r.data.held_out_occasions} held-out clicks · ${r.coupon.value}% off · seed ${r.config.seed} · ${ctx.generatedAt}`,
    verdict: couponVerdict(r),
    warnings,
    sections: [
      {
        title: 'Arms',
        html:
          table +
          '<p class="note">Intervals: percentile bootstrap over shoppers (2,000 resamples). Net per coupon is what matters when stock is limited.</p>',
      },
      { title: 'Charts', html: chartRow(charts) },
      {
        title: 'Settings',
        html: `<pre>${escapeHtml(JSON.stringify({ coupon: r.coupon, data: r.data, config: r.config }, null, 2))}</pre>`,
      },
    ],
  });
}
