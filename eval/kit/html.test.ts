import { describe, expect, it } from 'vitest';
import { renderCouponReport } from '../coupons/report.ts';
import type { CouponEvalResult } from '../coupons/run.ts';
import { renderDiversityReport } from '../simulate/diversity-report.ts';
import type { DiversityReport } from '../simulate/diversity.ts';
import { barChartSvg, chartFigure } from './chart.ts';
import { BASE_CSS, escapeHtml, htmlPage, htmlTable } from './html.ts';

describe('report shell', () => {
  it('builds a self-contained page with an escaped title and the shared styles', () => {
    const html = htmlPage({ title: 'a <b> & c', body: ['<p>x</p>'], css: '.x{color:red}' });
    expect(html).toMatch(/^<!doctype html>\n<html lang="en"><head><meta charset="utf-8">/);
    expect(html).toContain('<title>a &lt;b&gt; &amp; c</title>');
    expect(html).toContain(BASE_CSS + '\n.x{color:red}</style>');
    expect(html).toContain('<body>\n<p>x</p>\n</body></html>\n');
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it('renders tables with header cells and classes', () => {
    expect(
      htmlTable({
        head: ['', 'a'],
        rows: [
          [
            { html: 'r', header: true },
            { html: '1', className: 'best' },
          ],
          ['x', 'y'],
        ],
      }),
    ).toBe(
      '<table><thead><tr><th></th><th>a</th></tr></thead><tbody><tr><th>r</th><td class="best">1</td></tr><tr><td>x</td><td>y</td></tr></tbody></table>',
    );
    expect(escapeHtml(`"'`)).toBe('&quot;&#39;');
  });

  it('wraps a chart in a figure with an escaped caption', () => {
    const bars = [{ label: 'a', value: 0.5, color: '#000' }];
    expect(chartFigure('t', bars, 'x < y')).toBe(
      `<figure>${barChartSvg('t', bars)}<figcaption>x &lt; y</figcaption></figure>`,
    );
  });

  it('is the one shell and chart helper of different reports (coupons.html, diversity.html)', () => {
    const arm = { offered: 10, claimed: 5, redeemed: 2, redemption_rate: 0.2, incremental_gmv: 100, cost: 20, net: 80 };
    const coupons = renderCouponReport(
      {
        affinity: arm,
        affinity_with_pcvr: arm,
        everyone: arm,
        random: { ...arm, net: 10 },
        oracle: arm,
        data: { shoppers: 3, held_out_occasions: 4 },
        coupon: { value: 10 },
        config: { seed: 1 },
        note: 'simulated',
      } as unknown as CouponEvalResult,
      { generatedAt: 'now' },
    );
    const row = {
      label: 'λ 1',
      caps: { max_per_brand: 0, max_per_category: 0 },
      ndcg10: 0.5,
      ndcg10_vs_ranked: { mean_diff: 0, ci95: [0, 0] },
      ild10: 0.3,
      coverage10: 0.4,
      new10: 0,
    };
    const diversity = renderDiversityReport(
      {
        ranking: { mode: 'heuristic' },
        config: { users: 2, seed: 1 },
        note: 'simulated',
        surfaces: { search: { requests: 1, rows: [row] }, feed: { requests: 1, rows: [row] } },
      } as unknown as DiversityReport,
      'now',
    );
    for (const [html, title] of [
      [coupons, 'Coupon targeting — simulated'],
      [diversity, 'Diversity (MMR)'],
    ] as const) {
      // Same head and styles as htmlPage builds; every chart is barChartSvg's.
      const shell = htmlPage({ title, body: [] });
      expect(html.startsWith(shell.slice(0, shell.indexOf('</style>')))).toBe(true);
      expect(html.endsWith('\n</body></html>\n')).toBe(true);
      const svgs = html.match(/<svg [^>]*>/g) ?? [];
      expect(svgs.length).toBeGreaterThan(0);
      for (const svg of svgs) expect(svg).toMatch(/role="img" aria-label=/);
    }
    expect(coupons).toContain(
      barChartSvg('Redemption rate', [
        { label: 'affinity', value: 0.2, color: '#59a14f' },
        { label: 'affinity_with_pcvr', value: 0.2, color: '#76b7b2' },
        { label: 'everyone', value: 0.2, color: '#4e79a7' },
        { label: 'random', value: 0.2, color: '#bab0ac' },
        { label: 'oracle', value: 0.2, color: '#f28e2b' },
      ]),
    );
  });
});
