/**
 * `search.html`: a self-contained report (no external JS or CSS) for people who run the shop
 * rather than the code: how good each search mode is, whether hybrid is worth it, and the
 * queries where hybrid did worst, with what each mode actually showed.
 */
import type { Qrels } from './datasets.ts';
import {
  METRICS,
  biggestLosses,
  hybridGain,
  type MetricName,
  type SearchEvalResult,
  type significance,
} from './evaluate.ts';
import { barChartSvg, PALETTE } from '../kit/chart.ts';
import { escapeHtml, fmt, htmlPage, pValueHtml, signed } from '../kit/html.ts';

export interface ReportContext {
  dataset: string;
  datasetDescription?: string;
  grades?: string;
  weakLabels?: boolean;
  embedder: string;
  generatedAt: string;
  /** product id → title, for the "what did each mode show" table. */
  titles: ReadonlyMap<string, string>;
  qrels: Qrels;
  significance: ReturnType<typeof significance>;
  /** How many loss rows to show. Default 20. */
  losses?: number;
}

const METRIC_TEXT: Record<MetricName, string> = {
  'ndcg@10':
    'nDCG@10 — quality of the first 10 results. Highly relevant products near the top count most; 1.0 means the best possible order.',
  'recall@100':
    'Recall@100 — share of the relevant products found anywhere in the first 100 results: how much a later re-ranking step could still use.',
  'mrr@10':
    'MRR@10 — how soon the first relevant product shows up: 1.0 = first position, 0.5 = second, 0.33 = third; 0 if none in the top 10.',
};

/** "p < 0.001" / "p = 0.042" */
const pText = (p: number): string => (p < 0.001 ? 'p &lt; 0.001' : `p = ${p.toFixed(3)}`);
const fmtP = pValueHtml;

function topList(ids: readonly string[], ctx: ReportContext, judged: ReadonlyMap<string, number> | undefined): string {
  if (ids.length === 0) return '<em>no results</em>';
  const items = ids.slice(0, 3).map((id) => {
    const grade = judged?.get(id);
    const badge =
      grade === undefined
        ? '<span class="g gu" title="not judged">?</span>'
        : `<span class="g g${grade}" title="grade ${grade} of 3">${grade}</span>`;
    return `<li>${badge} ${escapeHtml(ctx.titles.get(id) ?? id)}</li>`;
  });
  return `<ol>${items.join('')}</ol>`;
}

export function renderSearchReport(result: SearchEvalResult, ctx: ReportContext): string {
  const colors = new Map(result.modes.map((m, i) => [m, PALETTE[i % PALETTE.length]!]));
  const gain = hybridGain(result);
  const sig = ctx.significance;
  const body: string[] = [];

  body.push(`<h1>Search quality — ${escapeHtml(ctx.dataset)}</h1>`);
  body.push(
    `<p class="meta">${result.queries} queries evaluated · embedder <code>${escapeHtml(ctx.embedder)}</code> · ${escapeHtml(ctx.generatedAt)}</p>`,
  );
  if (ctx.datasetDescription) body.push(`<p>${escapeHtml(ctx.datasetDescription)}</p>`);
  if (ctx.weakLabels) {
    body.push(
      '<p class="warn"><strong>Weak labels.</strong> The relevance grades of this data set were derived from product attributes, not from human judgments. Compare modes with each other; do not read the numbers as absolute quality.</p>',
    );
  }

  if (gain) {
    const s = sig[`hybrid_vs_${gain.best_single}`];
    const verdict = gain.beats_best_single ? 'better' : 'not better';
    const sigText = s
      ? ` The difference per query averages ${signed(s.mean_diff)} (95% interval ${signed(s.ci95[0])} to ${signed(s.ci95[1])}), ${pText(s.p_value)}${
          s.p_value < 0.05 ? ' — unlikely to be chance.' : ' — could be chance.'
        }`
      : '';
    body.push(
      `<p class="headline ${gain.beats_best_single ? 'good' : 'bad'}">Hybrid search is <strong>${verdict}</strong> than the best single mode (${escapeHtml(
        gain.best_single,
      )}) on nDCG@10: ${fmt(gain.hybrid_value)} vs ${fmt(gain.best_single_value)}, ${signed(gain.abs_diff)} (${signed(gain.rel_pct, 1)}%).${sigText}</p>`,
    );
  }

  // Summary table
  body.push('<h2>Summary</h2><table class="summary"><thead><tr><th>metric</th>');
  for (const m of result.modes)
    body.push(`<th><span class="sw" style="background:${colors.get(m)}"></span>${escapeHtml(m)}</th>`);
  body.push('</tr></thead><tbody>');
  for (const metric of METRICS) {
    const vals = result.modes.map((m) => result.aggregate[metric][m]!);
    const best = Math.max(...vals);
    body.push(`<tr><th>${metric}</th>`);
    for (const v of vals) body.push(`<td${v === best ? ' class="best"' : ''}>${fmt(v)}</td>`);
    body.push('</tr>');
  }
  for (const q of ['p50', 'p99'] as const) {
    body.push(`<tr class="lat"><th>latency ${q} (ms)</th>`);
    for (const m of result.modes) body.push(`<td>${fmt(result.latency_ms[m]?.[q] ?? NaN, 1)}</td>`);
    body.push('</tr>');
  }
  body.push('</tbody></table>');
  if (Object.keys(sig).length > 0) {
    body.push(
      '<table class="sig"><thead><tr><th>comparison (nDCG@10)</th><th>mean difference</th><th>95% interval</th><th>p-value</th></tr></thead><tbody>',
    );
    for (const [name, s] of Object.entries(sig)) {
      body.push(
        `<tr><th>${escapeHtml(name.replace(/_vs_/, ' vs '))}</th><td>${signed(s.mean_diff)}</td><td>${signed(s.ci95[0])} … ${signed(
          s.ci95[1],
        )}</td><td>${fmtP(s.p_value)}</td></tr>`,
      );
    }
    body.push('</tbody></table>');
    body.push(
      '<p class="note">Paired randomization test over queries (10,000 rounds) and bootstrap interval of the mean per-query difference. p &lt; 0.05: the difference is unlikely to be chance.</p>',
    );
  }

  // Charts
  body.push('<h2>Charts</h2><div class="charts">');
  for (const metric of METRICS) {
    body.push(
      `<figure>${barChartSvg(
        metric,
        result.modes.map((m) => ({ label: m, value: result.aggregate[metric][m]!, color: colors.get(m)! })),
      )}<figcaption>${escapeHtml(METRIC_TEXT[metric])}</figcaption></figure>`,
    );
  }
  body.push('</div>');

  // Losses
  const losses = biggestLosses(result, ctx.losses ?? 20);
  if (result.modes.includes('hybrid')) {
    body.push(`<h2>Where hybrid lost most</h2>`);
    body.push(
      `<p>The ${losses.length} queries with the largest drop in nDCG@10 from the better single mode of that query to hybrid, with the top 3 titles each mode returned. Badges show the grade (3 = highly relevant, 0 = not relevant, ? = not judged).</p>`,
    );
    if (losses.length === 0)
      body.push('<p><em>Hybrid was at least as good as both single modes on every query.</em></p>');
    else {
      body.push('<table class="losses"><thead><tr><th>query</th><th>nDCG@10</th>');
      for (const m of result.modes) body.push(`<th>top 3 — ${escapeHtml(m)}</th>`);
      body.push('</tr></thead><tbody>');
      for (const { row, best_single, loss } of losses) {
        const judged = ctx.qrels.get(row.id);
        const scores = result.modes.map((m) => `${escapeHtml(m)} ${fmt(row.metrics[m]!['ndcg@10'])}`).join('<br>');
        body.push(
          `<tr><td><strong>${escapeHtml(row.query)}</strong><div class="meta">${escapeHtml(row.id)} · ${row.n_relevant} relevant judged · hybrid −${fmt(loss)} vs ${escapeHtml(
            best_single,
          )}</div></td><td class="num">${scores}</td>`,
        );
        for (const m of result.modes) body.push(`<td>${topList(row.top[m] ?? [], ctx, judged)}</td>`);
        body.push('</tr>');
      }
      body.push('</tbody></table>');
    }
  }

  body.push('<h2>How to read this</h2><ul>');
  for (const metric of METRICS) body.push(`<li>${escapeHtml(METRIC_TEXT[metric])}</li>`);
  body.push(
    '<li>bm25 = keyword search only; vector = meaning-based (embedding) search only; hybrid = both, merged by reciprocal rank fusion.</li>',
  );
  if (ctx.grades) body.push(`<li>Grades: ${escapeHtml(ctx.grades)}</li>`);
  body.push(
    `<li>Queries without any relevant judged product are not scored (${result.skipped.no_relevant + result.skipped.no_judgments} skipped).</li></ul>`,
  );

  const css = `
th,td{text-align:left}
.summary td,.sig td{text-align:right;font-variant-numeric:tabular-nums}.best{font-weight:700;background:#f2f8f0}.lat{color:#666}
.sw{display:inline-block;width:.8em;height:.8em;margin-right:.35em;border-radius:2px}
.losses{font-size:.85rem}.losses ol{margin:0;padding-left:1.2rem}.num{white-space:nowrap;font-variant-numeric:tabular-nums}
.g{display:inline-block;min-width:1.1em;text-align:center;border-radius:3px;font-size:.75rem;font-weight:700;color:#fff}
.g0{background:#bbb}.g1{background:#9cc3e6}.g2{background:#4e79a7}.g3{background:#2a9d4b}.gu{background:#fff;color:#999;border:1px solid #ccc}`;
  return htmlPage({ title: `Search quality — ${ctx.dataset}`, body, css });
}
