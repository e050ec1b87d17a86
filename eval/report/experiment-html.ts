import { escapeHtml, fmt, htmlTable, pValueHtml } from '../kit/html.ts';
import { chartRow, reportPage } from '../kit/report-shell.ts';
import { intervalChart, vegaSvg } from '../kit/vega-chart.ts';
import { METRIC_LABELS, METRICS, type ExperimentReport, type Metric } from './experiment.ts';

const money = new Set<Metric>(['revenue_per_shopper', 'coupon_cost_per_shopper']);
const val = (m: Metric, x: number) => (money.has(m) ? fmt(x, 2) : fmt(x, 4));
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');

/** experiment.html: the report shell over experiment.json. */
export async function experimentHtml(r: ExperimentReport): Promise<string> {
  const e = r.experiment;
  const warnings: string[] = [];
  const overall = r.rows.filter((x) => x.surface === 'all');
  const smallest = Math.min(...overall.map((x) => x.shoppers));
  if (r.shoppers_needed_per_arm !== null && smallest < r.shoppers_needed_per_arm)
    warnings.push(
      `too little data: the smallest arm has ${smallest} shoppers, a 5% conversion lift needs about ${r.shoppers_needed_per_arm} per arm; intervals are wide`,
    );
  if (r.srm.mismatch) warnings.push(`sample ratio mismatch: p = ${r.srm.p_value.toExponential(2)}`);

  const charts: string[] = [];
  for (const m of ['conversion', 'ctr', 'revenue_per_shopper'] as const) {
    charts.push(
      await vegaSvg(
        intervalChart({
          title: `${METRIC_LABELS[m]}, 95% CI`,
          x: METRIC_LABELS[m],
          y: 'arm',
          points: overall.map((x) => ({
            label: x.arm,
            value: x.metrics[m].value,
            lo: x.metrics[m].ci[0],
            hi: x.metrics[m].ci[1],
          })),
        }),
      ),
    );
  }
  const lifts = overall.filter((x) => x.lift);
  if (lifts.length > 0)
    charts.push(
      await vegaSvg(
        intervalChart({
          title: `Lift in conversion vs ${e.control}, 95% CI`,
          x: 'relative lift',
          y: 'arm',
          format: '.0%',
          rule: 0,
          points: lifts.map((x) => ({
            label: x.arm,
            value: x.lift!.conversion.relative,
            lo: x.lift!.conversion.ci[0],
            hi: x.lift!.conversion.ci[1],
          })),
        }),
      ),
    );

  const rows = r.rows.map((x) => [
    { html: escapeHtml(x.arm), header: true },
    escapeHtml(x.surface),
    String(x.requests),
    String(x.shoppers),
    ...METRICS.map((m) => {
      const est = x.metrics[m];
      const l = x.lift?.[m];
      return `<span class="num">${val(m, est.value)}</span> <span class="note">[${val(m, est.ci[0])}, ${val(m, est.ci[1])}]</span>${
        l
          ? `<br><span class="note">${pct(l.relative)} [${pct(l.ci[0])}, ${pct(l.ci[1])}], p ${Number.isFinite(l.p_value) ? pValueHtml(l.p_value) : '–'}</span>`
          : ''
      }`;
    }),
  ]);
  const arms = htmlTable({
    head: ['arm', 'weight', 'overrides'],
    rows: e.arms.map((a) => [
      { html: escapeHtml(a.name), header: true },
      String(a.weight),
      `<code>${escapeHtml(Object.keys(a.overrides).length ? JSON.stringify(a.overrides) : 'the defaults')}</code>`,
    ]),
  });
  return reportPage({
    title: `Experiment ${e.id}`,
    meta: `surface ${e.surface}, status ${e.status}, control ${e.control}; purchases credited by request_id (${r.attribution.by_request_id}) or within ${Math.round(r.window_ms / 3_600_000)} h of a click (${r.attribution.by_click_window})`,
    verdict: r.verdict,
    warnings,
    sections: [
      { title: 'Arms', html: arms },
      { title: 'Per arm (all surfaces)', html: chartRow(charts) },
      {
        title: 'Per arm and surface',
        html:
          htmlTable({
            head: ['arm', 'surface', 'requests', 'shoppers', ...METRICS.map((m) => METRIC_LABELS[m])],
            rows,
          }) +
          '<p class="note">Each cell: value [95% CI]; under it, for a treatment arm, its relative lift over control [95% CI] and the p-value. Intervals are over shoppers (the unit of assignment).</p>',
      },
      {
        title: 'Sample ratio',
        html: `<p>${escapeHtml(
          Object.entries(r.srm.observed)
            .map(([a, n]) => `${a}: ${n} shoppers (expected ${(r.srm.expected_share[a]! * 100).toFixed(1)}%)`)
            .join('; '),
        )}; χ² = ${fmt(r.srm.chi2, 2)}, p = ${pValueHtml(r.srm.p_value)}${r.srm.mismatch ? ' — <strong>mismatch</strong>' : ' — as assigned'}.</p>`,
      },
    ],
  });
}
