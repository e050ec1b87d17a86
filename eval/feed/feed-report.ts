/**
 * `feed.html`: the test figures of every route and the fused feed in the report shell
 * (eval/kit/report-shell.ts): per protocol a table, the routes' figures and the fused feed's paired
 * differences with their 95% intervals, and a verdict naming the settings to apply, or why not.
 */
import { escapeHtml, htmlTable, pValueHtml } from '../kit/html.ts';
import { chartRow, reportPage, type Verdict } from '../kit/report-shell.ts';
import { settingsLine } from '../kit/settings-line.ts';
import { barChart, intervalChart, vegaSvg } from '../kit/vega-chart.ts';
import type { FeedJson, MetricTable } from './feed-json.ts';
import type { HitMetrics } from './sampled.ts';
import type { SequencePhaseRecord } from './sequence-phase.ts';
import type { Scored } from './user-eval.ts';

const METRICS: Array<keyof HitMetrics> = ['hr@10', 'ndcg@10'];
const PROTOCOLS = [
  ['full', "Full ranking (all items except the user's own)"],
  ['sampled100', 'Sampled: target among 100 random unseen items (SASRec protocol)'],
] as const;

/** Fewer test users than this: the report warns that the intervals are too wide to act on. */
export const MIN_USERS = 200;

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '–');
const signed = (x: number): string => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(4);

/** The routes' full-ranking figures are all zero: nothing was learned from this data. */
const allZero = (j: FeedJson) =>
  Object.values(j.full).every((m) => m !== undefined && m['hr@10'] === 0 && m['ndcg@10'] === 0);

/** "Too little data" warnings of feed.html, one a line. Pure. */
export function feedWarnings(j: FeedJson): string[] {
  const out: string[] = [];
  if (j.users < MIN_USERS || allZero(j))
    out.push(
      `too little data: ${j.users} test users (at least ${MIN_USERS} are needed)${allZero(j) ? '; every route scored 0 in the full ranking, so no route or setting can be told apart' : '; the intervals are wide'}`,
    );
  return out;
}

/**
 * The verdict: apply the chosen settings only when the fused feed reliably beats every route in
 * both protocols; otherwise say which route it does not beat, or that the data is too thin. Pure.
 */
export function feedVerdict(j: FeedJson, configFile = 'OUTDIR/feed-config.json'): Verdict {
  if (j.users < MIN_USERS || allZero(j))
    return {
      tone: 'wait',
      text: `Not enough data to choose feed settings (${j.users} test users${allZero(j) ? ', every figure 0' : ''}): keep the current feed settings and evaluate again on at least ${MIN_USERS} shoppers' histories`,
    };
  const losses: string[] = [];
  for (const [p] of PROTOCOLS)
    for (const [name, sig] of Object.entries(j.significance[p])) {
      const s = sig['ndcg@10'];
      if (s && !(s.ci95[0] > 0)) losses.push(`${name.replace('feed_vs_', '')} (${p}, ${signed(s.mean_diff)})`);
    }
  if (losses.length === 0) {
    const { recall_k: _depth, ...chosen } = j.chosen;
    return {
      tone: 'good',
      text: `The fused feed beats every single route on NDCG@10 in both protocols (95% intervals above 0): apply the chosen settings, SHELF_FEED_CONFIG=${configFile} (${settingsLine(chosen, ['feed'])})`,
    };
  }
  return {
    tone: 'bad',
    text: `The fused feed does not reliably beat ${losses.join(', ')} on NDCG@10: keep the current feed settings (do not apply feed-config.json) and look at that route's weight`,
  };
}

function tableHtml(t: MetricTable): string {
  const names = Object.keys(t) as Scored[];
  return htmlTable({
    head: ['', ...names.map(escapeHtml)],
    rows: METRICS.map((m) => {
      const best = Math.max(...names.map((s) => t[s]![m]));
      return [
        { html: m.toUpperCase(), header: true },
        ...names.map((s) => ({ html: fmt(t[s]![m]), ...(t[s]![m] === best && { className: 'best' }) })),
      ];
    }),
  });
}

export async function renderFeedReport(
  j: FeedJson,
  ctx: { generatedAt: string; configFile?: string },
): Promise<string> {
  const sections: Array<{ title: string; html: string }> = [];
  for (const [p, title] of PROTOCOLS) {
    const names = Object.keys(j[p]) as Scored[];
    const charts: string[] = [];
    for (const m of METRICS)
      charts.push(
        await vegaSvg(
          barChart({
            title: `${m.toUpperCase()} per route (${p})`,
            x: 'route',
            y: `mean ${m.toUpperCase()} over test users`,
            format: '.4~f',
            ordered: true,
            bars: names.map((s) => ({ label: s, value: j[p][s]![m] })),
          }),
        ),
      );
    const sigs = Object.entries(j.significance[p]);
    if (sigs.length > 0)
      charts.push(
        await vegaSvg(
          intervalChart({
            title: `Fused feed minus each route, NDCG@10 (${p}), 95% CI`,
            x: 'difference in NDCG@10 (> 0: the feed is better)',
            y: 'route',
            format: '.4~f',
            rule: 0,
            points: sigs.map(([name, s]) => ({
              label: name.replace('feed_vs_', ''),
              value: s['ndcg@10']!.mean_diff,
              lo: s['ndcg@10']!.ci95[0],
              hi: s['ndcg@10']!.ci95[1],
            })),
          }),
        ),
      );
    const tests = htmlTable({
      head: ['feed vs', 'metric', 'mean diff', '95% CI', 'p'],
      rows: sigs.flatMap(([name, sig]) =>
        METRICS.map((m) => {
          const s = sig[m]!;
          return [
            escapeHtml(name.replace('feed_vs_', '')),
            m,
            signed(s.mean_diff),
            `${signed(s.ci95[0])} … ${signed(s.ci95[1])}`,
            pValueHtml(s.p_value),
          ];
        }),
      ),
    });
    sections.push({ title, html: tableHtml(j[p]) + chartRow(charts) + tests });
  }
  sections.push({
    title: 'Chosen on the validation items',
    html:
      `<pre>${escapeHtml(JSON.stringify(j.chosen, null, 2))}</pre>` +
      `<p>Tuned on ${j.validation.users} users' validation items (never the test items). Validation figures with these settings:</p>` +
      tableHtml(j.validation.full) +
      tableHtml(j.validation.sampled100),
  });
  /** How a phase's model came to be: trained by this run, or served from a folder (and whether both phases share it). */
  const provenance = (r: SequencePhaseRecord): string => {
    if (r.training_ms !== undefined)
      return `, trained on ${r.training_rows} interactions in ${(r.training_ms / 1000).toFixed(0)} s (${
        r.epochs_fixed !== undefined
          ? `every item, ${r.epochs_fixed} epochs: the validation phase's best`
          : `best epoch ${r.best_epoch ?? '–'}`
      })`;
    const shared = j.sequence!.valid?.model_dir === j.sequence!.test?.model_dir;
    return ` (not trained by this run: ${escapeHtml(r.model_dir)}; ${shared ? 'one model for both phases: it may have seen the targets' : 'one model per phase, trained elsewhere'})`;
  };
  if (j.sequence)
    sections.push({
      title: 'Sequence model per phase',
      html: `<ul>${Object.entries(j.sequence)
        .map(
          ([phase, r]) =>
            `<li><strong>${escapeHtml(phase)}</strong>: ${escapeHtml(r.mode)} ${escapeHtml(r.version)}${provenance(r)}</li>`,
        )
        .join('')}</ul>`,
    });
  sections.push({
    title: 'Protocol',
    html: `<ul>${Object.entries(j.protocol)
      .map(([k, v]) => `<li><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</li>`)
      .join('')}</ul>`,
  });
  return reportPage({
    title: `Feed accuracy — ${j.dataset}`,
    meta: `${j.users} test users · leave-last-out · item vectors: ${j.item_vectors.source} · ${ctx.generatedAt}`,
    verdict: feedVerdict(j, ctx.configFile),
    warnings: feedWarnings(j),
    sections,
  });
}
