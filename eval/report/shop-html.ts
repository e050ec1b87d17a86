import { escapeHtml, fmt, htmlTable } from '../kit/html.ts';
import { chartRow, reportPage } from '../kit/report-shell.ts';
import { barChart, intervalChart, vegaSvg } from '../kit/vega-chart.ts';
import type { QueryRow, ShopReport } from './shop.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const when = (t: number | null) => (t === null ? '…' : new Date(t).toISOString().slice(0, 16).replace('T', ' '));

const queryTable = (rows: readonly QueryRow[]) =>
  htmlTable({
    head: ['query', 'searches', 'CTR', 'conversion'],
    rows: rows.map((q) => [
      { html: escapeHtml(q.query), header: true },
      String(q.searches),
      pct(q.ctr),
      pct(q.conversion),
    ]),
  });

/** The next thing a merchandiser should look at, from the numbers. Pure. */
export function shopVerdict(r: ShopReport): { text: string; tone: 'good' | 'bad' | 'neutral' | 'wait' } {
  if (r.search.searches === 0 && r.surfaces.length === 0)
    return { tone: 'wait', text: 'no traffic in the period: nothing to report yet' };
  const z = r.search.top_zero_result[0];
  if (z && r.search.zero_result_rate >= 0.05)
    return {
      tone: 'bad',
      text: `${pct(r.search.zero_result_rate)} of searches find nothing; start with "${z.query}" (${z.searches} searches): add synonyms or products for it`,
    };
  const f = r.search.few_clicks[0];
  if (f && f.ctr < 0.1)
    return {
      tone: 'bad',
      text: `"${f.query}" is searched ${f.searches} times with ${pct(f.ctr)} CTR: check what it returns in the search playground`,
    };
  return {
    tone: 'good',
    text: `searches find results and get clicked; attributed revenue ${fmt(r.attributed_revenue, 2)}`,
  };
}

/** shop.html: the report shell over shop.json. */
export async function shopHtml(r: ShopReport): Promise<string> {
  const charts = [
    await vegaSvg(
      barChart({
        title: 'CTR by position',
        x: 'position (1 = top)',
        y: 'CTR (clicks / impressions)',
        ordered: true,
        bars: r.ctr_by_position.map((p) => ({ label: String(p.position + 1), value: p.ctr })),
      }),
    ),
  ];
  if (r.surfaces.length > 0)
    charts.push(
      await vegaSvg(
        intervalChart({
          title: 'CTR per surface, 95% CI',
          x: 'CTR (requests with a click)',
          y: 'surface',
          points: r.surfaces.map((s) => ({ label: s.surface, value: s.ctr.value, lo: s.ctr.ci[0], hi: s.ctr.ci[1] })),
        }),
      ),
    );
  if (r.search.top_queries.length > 0)
    charts.push(
      await vegaSvg(
        barChart({
          title: 'Top queries',
          x: 'query',
          y: 'searches',
          format: 'd',
          bars: r.search.top_queries.slice(0, 15).map((q) => ({ label: q.query, value: q.searches })),
        }),
      ),
    );
  return reportPage({
    title: 'Shop report',
    meta: `${when(r.from)} – ${when(r.to)} (UTC), from the served log and the behaviour events`,
    verdict: shopVerdict(r),
    warnings: r.warnings,
    sections: [
      {
        title: 'Search',
        html: `<p>${r.search.searches} searches, ${r.search.distinct_queries} distinct queries, zero-result rate ${pct(r.search.zero_result_rate)}.</p>${chartRow(charts)}`,
      },
      { title: 'Top queries', html: queryTable(r.search.top_queries) },
      {
        title: 'Zero-result queries',
        html: htmlTable({
          head: ['query', 'searches'],
          rows: r.search.top_zero_result.map((q) => [{ html: escapeHtml(q.query), header: true }, String(q.searches)]),
        }),
      },
      { title: 'Searched often, clicked rarely', html: queryTable(r.search.few_clicks) },
      {
        title: 'Surfaces',
        html: htmlTable({
          head: ['surface', 'requests', 'shoppers', 'CTR [95% CI]', 'conversion [95% CI]', 'attributed revenue'],
          rows: r.surfaces.map((s) => [
            { html: s.surface, header: true },
            String(s.requests),
            String(s.shoppers),
            `${pct(s.ctr.value)} [${pct(s.ctr.ci[0])}, ${pct(s.ctr.ci[1])}]`,
            `${pct(s.conversion.value)} [${pct(s.conversion.ci[0])}, ${pct(s.conversion.ci[1])}]`,
            fmt(s.revenue, 2),
          ]),
        }),
      },
      {
        title: 'Coupons',
        html:
          `<p>${r.coupons.claims} claims, ${r.coupons.redemptions} redemptions, ${fmt(r.coupons.spend, 2)} spent.</p>` +
          htmlTable({
            head: ['coupon', 'budget', 'spent', 'budget left'],
            rows: r.coupons.budgets.map((b) => [
              { html: escapeHtml(b.id), header: true },
              b.budget === null ? 'none' : fmt(b.budget, 2),
              fmt(b.spent, 2),
              b.budget_left === null ? '–' : fmt(b.budget_left, 2),
            ]),
          }),
      },
    ],
  });
}
