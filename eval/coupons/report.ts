/**
 * `coupons.html`: a self-contained page (no external scripts or styles) with the arms of the
 * simulated coupon targeting experiment side by side.
 */
import { barChartSvg } from '../kit/chart.ts';
import { escapeHtml, htmlPage } from '../kit/html.ts';
import type { ArmResult, CouponEvalResult } from './run.ts';

const ARMS = [
  ['affinity', 'Targeted by affinity', '#59a14f'],
  ['affinity_with_pcvr', 'Affinity with a ranker pCVR (stand-in)', '#76b7b2'],
  ['everyone', 'Everyone', '#4e79a7'],
  ['random', 'Random group, same size', '#bab0ac'],
  ['oracle', 'Oracle (knows the hidden truth)', '#f28e2b'],
] as const;

const money = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
const perCoupon = (a: ArmResult) => (a.offered > 0 ? (a.net / a.offered).toFixed(2) : '–');

export function renderCouponReport(r: CouponEvalResult, ctx: { generatedAt: string }): string {
  const arm = (k: (typeof ARMS)[number][0]): ArmResult => r[k];
  const best = Math.max(...ARMS.map(([k]) => arm(k).net), 1e-9);
  const beats = r.affinity.net > r.random.net;
  const body: string[] = [
    `<h1>Coupon targeting — simulated shoppers</h1>`,
    `<p class="meta">${r.data.shoppers} shoppers · ${r.data.held_out_occasions} held-out clicks · ${r.coupon.value}% off · seed ${r.config.seed} · ${escapeHtml(ctx.generatedAt)}</p>`,
    `<p class="warn"><strong>Simulated data.</strong> ${escapeHtml(r.note)}</p>`,
    `<p class="headline ${beats ? 'good' : 'bad'}">Targeting by affinity ${beats ? 'beats' : 'does <strong>not</strong> beat'} a random group of the same size on net value (incremental GMV − coupon cost): ${money(r.affinity.net)} vs ${money(r.random.net)} USD; everyone: ${money(r.everyone.net)} USD with ${r.everyone.offered} coupons instead of ${r.affinity.offered}. Per coupon handed out (what matters when stock is limited): ${perCoupon(r.affinity)} vs ${perCoupon(r.random)} (random) and ${perCoupon(r.everyone)} (everyone).</p>`,
    '<table><thead><tr><th></th><th>offered</th><th>redeemed</th><th>redemption rate</th><th>incremental GMV</th><th>cost</th><th>net</th><th>net per coupon</th></tr></thead><tbody>',
    ...ARMS.map(([k, label]) => {
      const a = arm(k);
      return `<tr><th>${escapeHtml(label)}</th><td>${a.offered}</td><td>${a.redeemed.toFixed(1)}</td><td>${a.redemption_rate.toFixed(4)}</td><td>${money(a.incremental_gmv)}</td><td>${money(a.cost)}</td><td>${money(a.net)}</td><td>${perCoupon(a)}</td></tr>`;
    }),
    '</tbody></table>',
    '<div class="charts">',
    barChartSvg(
      'Net value, share of the best arm',
      ARMS.map(([k, , color]) => ({ label: k, value: Math.max(0, arm(k).net) / best, color })),
    ),
    barChartSvg(
      'Redemption rate',
      ARMS.map(([k, , color]) => ({ label: k, value: arm(k).redemption_rate, color })),
    ),
    '</div>',
    '<h2>Settings</h2>',
    `<pre>${escapeHtml(JSON.stringify({ coupon: r.coupon, data: r.data, config: r.config }, null, 2))}</pre>`,
  ];
  return htmlPage({ title: 'Coupon targeting — simulated', body });
}
