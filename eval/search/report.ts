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
  perQuery,
  type MetricName,
  type SearchEvalResult,
  type significance,
} from './evaluate.ts';
import { escapeHtml, fmt, pValueHtml, signed } from '../kit/html.ts';
import { reportPage, type Verdict } from '../kit/report-shell.ts';
import { settingsLine } from '../kit/settings-line.ts';
import { bootstrapMeanCI } from '../kit/stats.ts';
import { intervalChart, vegaSvg } from '../kit/vega-chart.ts';

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
  /** The `--retrieval` override the run searched with (the verdict names it as settings to apply). */
  retrieval?: Readonly<Record<string, unknown>>;
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

/** Fewer judged queries than this: the report warns that the intervals are too wide to act on. */
export const MIN_QUERIES = 50;

/** The settings path that switches a single route off, so the other one serves alone. */
const ROUTE_OFF: Record<string, Record<string, number>> = {
  bm25: { 'retrieval.weights.vector': 0 },
  vector: { 'retrieval.weights.bm25': 0 },
};

/**
 * The one-line verdict of search.html: hybrid against the better single mode on nDCG@10, by the
 * paired test's 95% interval, and the exact settings to apply. `evaluated` is the `--retrieval`
 * override the run searched with (empty: the service's defaults). Pure.
 */
export function searchVerdict(
  result: SearchEvalResult,
  sig: ReportContext['significance'],
  evaluated: Readonly<Record<string, unknown>> = {},
): Verdict {
  const gain = hybridGain(result);
  if (!gain) return { tone: 'neutral', text: `only ${result.modes.join(', ')} evaluated: nothing to compare` };
  const best = gain.best_single;
  const s = sig[`hybrid_vs_${best}`];
  if (!s) return { tone: 'neutral', text: 'no paired test: nothing to compare' };
  const d = `${signed(s.mean_diff, 4)} nDCG@10 [${signed(s.ci95[0], 4)}, ${signed(s.ci95[1], 4)}], p ${s.p_value < 0.001 ? '< 0.001' : '= ' + s.p_value.toFixed(3)}`;
  const tried = Object.keys(evaluated).length > 0 ? settingsLine(evaluated, ['retrieval']) : '';
  if (s.ci95[0] > 0)
    return {
      tone: 'good',
      text: tried
        ? `Hybrid beats ${best} by ${d}: apply the evaluated fusion, ${tried}`
        : `Hybrid beats ${best} by ${d}: keep hybrid search with the default fusion (nothing to change)`,
    };
  if (s.ci95[1] < 0)
    return {
      tone: 'bad',
      text: `Hybrid loses to ${best} by ${d}: serve ${best} alone with ${settingsLine(ROUTE_OFF[best] ?? {})}, or tune the fusion for this catalog (npm run eval -- tune-fusion)`,
    };
  return {
    tone: 'wait',
    text: `No reliable difference between hybrid and ${best} (${d}): keep the current settings; ${s.n < MIN_QUERIES ? `judge more queries (${s.n} of at least ${MIN_QUERIES})` : 'a difference this small is not worth a change'}`,
  };
}

const CI_ROUNDS = 2000;

export async function renderSearchReport(result: SearchEvalResult, ctx: ReportContext): Promise<string> {
  const sig = ctx.significance;
  const warnings: string[] = [];
  if (result.queries < MIN_QUERIES)
    warnings.push(
      `too little data: ${result.queries} judged queries (at least ${MIN_QUERIES} are needed); the intervals are wide and small differences cannot be told apart`,
    );
  if (ctx.weakLabels)
    warnings.push(
      'weak labels: the relevance grades of this data set were derived from product attributes, not from human judgments; compare modes with each other, do not read the numbers as absolute quality',
    );
  const sections: Array<{ title: string; html: string }> = [];
  if (ctx.datasetDescription) sections.push({ title: 'Data', html: `<p>${escapeHtml(ctx.datasetDescription)}</p>` });

  // Summary table
  const summary: string[] = ['<table class="summary"><thead><tr><th>metric</th>'];
  for (const m of result.modes) summary.push(`<th>${escapeHtml(m)}</th>`);
  summary.push('</tr></thead><tbody>');
  for (const metric of METRICS) {
    const vals = result.modes.map((m) => result.aggregate[metric][m]!);
    const best = Math.max(...vals);
    summary.push(`<tr><th>${metric}</th>`);
    for (const v of vals) summary.push(`<td${v === best ? ' class="best"' : ''}>${fmt(v)}</td>`);
    summary.push('</tr>');
  }
  for (const q of ['p50', 'p99'] as const) {
    summary.push(`<tr class="lat"><th>latency ${q} (ms)</th>`);
    for (const m of result.modes) summary.push(`<td>${fmt(result.latency_ms[m]?.[q] ?? NaN, 1)}</td>`);
    summary.push('</tr>');
  }
  summary.push('</tbody></table>');
  if (Object.keys(sig).length > 0) {
    summary.push(
      '<table class="sig"><thead><tr><th>comparison (nDCG@10)</th><th>mean difference</th><th>95% interval</th><th>p-value</th></tr></thead><tbody>',
    );
    for (const [name, s] of Object.entries(sig)) {
      summary.push(
        `<tr><th>${escapeHtml(name.replace(/_vs_/, ' vs '))}</th><td>${signed(s.mean_diff)}</td><td>${signed(s.ci95[0])} … ${signed(
          s.ci95[1],
        )}</td><td>${fmtP(s.p_value)}</td></tr>`,
      );
    }
    summary.push('</tbody></table>');
    summary.push(
      '<p class="note">Paired randomization test over queries (10,000 rounds) and bootstrap interval of the mean per-query difference. p &lt; 0.05: the difference is unlikely to be chance.</p>',
    );
  }
  sections.push({ title: 'Summary', html: summary.join('') });

  // Charts: every mode's mean with its bootstrap interval, and hybrid's paired differences.
  const charts: string[] = [];
  for (const metric of METRICS) {
    const points = result.modes.map((m) => {
      const ci = bootstrapMeanCI(perQuery(result, m, metric), { rounds: CI_ROUNDS });
      return { label: m, value: ci.mean, lo: ci.low, hi: ci.high };
    });
    charts.push(
      `<figure>${await vegaSvg(intervalChart({ title: `${metric}, 95% CI`, x: `mean ${metric} over queries`, y: 'mode', points }))}<figcaption>${escapeHtml(METRIC_TEXT[metric])}</figcaption></figure>`,
    );
  }
  const diffs = Object.entries(sig);
  if (diffs.length > 0)
    charts.push(
      `<figure>${await vegaSvg(
        intervalChart({
          title: 'Hybrid minus each mode, nDCG@10, 95% CI',
          x: 'difference in nDCG@10 (> 0: hybrid better)',
          y: 'compared with',
          rule: 0,
          points: diffs.map(([name, s]) => ({
            label: name.replace(/^hybrid_vs_/, ''),
            value: s.mean_diff,
            lo: s.ci95[0],
            hi: s.ci95[1],
          })),
        }),
      )}<figcaption>Paired over queries: an interval that excludes 0 is a reliable difference.</figcaption></figure>`,
    );
  sections.push({ title: 'Charts', html: `<div class="charts">${charts.join('')}</div>` });

  const body: string[] = [];
  // Losses
  const losses = biggestLosses(result, ctx.losses ?? 20);
  if (result.modes.includes('hybrid')) {
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

  if (body.length > 0) sections.push({ title: 'Where hybrid lost most', html: body.join('') });
  const read: string[] = ['<ul>'];
  for (const metric of METRICS) read.push(`<li>${escapeHtml(METRIC_TEXT[metric])}</li>`);
  read.push(
    '<li>bm25 = keyword search only; vector = meaning-based (embedding) search only; hybrid = both, merged by reciprocal rank fusion.</li>',
  );
  if (ctx.grades) read.push(`<li>Grades: ${escapeHtml(ctx.grades)}</li>`);
  read.push(
    `<li>Queries without any relevant judged product are not scored (${result.skipped.no_relevant + result.skipped.no_judgments} skipped).</li></ul>`,
  );

  sections.push({ title: 'How to read this', html: read.join('') });
  const css = `
th,td{text-align:left}
.summary td,.sig td{text-align:right;font-variant-numeric:tabular-nums}.best{font-weight:700;background:#f2f8f0}.lat{color:#666}
.losses{font-size:.85rem}.losses ol{margin:0;padding-left:1.2rem}.num{white-space:nowrap;font-variant-numeric:tabular-nums}
.g{display:inline-block;min-width:1.1em;text-align:center;border-radius:3px;font-size:.75rem;font-weight:700;color:#fff}
.g0{background:#bbb}.g1{background:#9cc3e6}.g2{background:#4e79a7}.g3{background:#2a9d4b}.gu{background:#fff;color:#999;border:1px solid #ccc}`;
  return reportPage({
    title: `Search quality — ${ctx.dataset}`,
    meta: `${result.queries} queries evaluated · embedder ${ctx.embedder} · ${ctx.generatedAt}`,
    verdict: searchVerdict(result, sig, ctx.retrieval),
    warnings,
    sections,
    css,
  });
}
