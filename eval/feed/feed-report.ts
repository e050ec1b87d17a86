/**
 * `feed.html`: a self-contained page (no external scripts or styles) with the test figures of
 * every route and the fused feed, bar charts, the paired tests and the chosen settings.
 */
import { barChartSvg } from '../kit/chart.ts';
import { escapeHtml, htmlPage, htmlTable, pValueHtml } from '../kit/html.ts';
import type { FeedJson, MetricTable } from './feed-json.ts';
import type { HitMetrics } from './sampled.ts';
import type { Scored } from './user-eval.ts';

const COLORS: Record<Scored, string> = {
  popularity: '#bab0ac',
  itemcf: '#4e79a7',
  uservector: '#f28e2b',
  category: '#76b7b2',
  sequence: '#b07aa1',
  feed: '#59a14f',
};
const METRICS: Array<keyof HitMetrics> = ['hr@10', 'ndcg@10'];
const PROTOCOLS = [
  ['full', "Full ranking (all items except the user's own)"],
  ['sampled100', 'Sampled: target among 100 random unseen items (SASRec protocol)'],
] as const;

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '–');
const signed = (x: number): string => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(4);
const pText = pValueHtml;

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

export function renderFeedReport(j: FeedJson, ctx: { generatedAt: string }): string {
  const body: string[] = [];
  body.push(`<h1>Feed accuracy — ${escapeHtml(j.dataset)}</h1>`);
  body.push(
    `<p class="meta">${j.users} test users · leave-last-out · item vectors: ${escapeHtml(j.item_vectors.source)} · ${escapeHtml(ctx.generatedAt)}</p>`,
  );
  const beatsAll = (['full', 'sampled100'] as const).every((p) => Object.values(j.beats[p]).every(Boolean));
  body.push(
    `<p class="headline ${beatsAll ? 'good' : 'bad'}">The fused feed ${beatsAll ? 'beats' : 'does <strong>not</strong> beat'} popularity and every single route on NDCG@10 in both protocols (paired randomization test, p &lt; 0.05).</p>`,
  );
  for (const [p, title] of PROTOCOLS) {
    body.push(`<h2>${escapeHtml(title)}</h2>`, tableHtml(j[p]));
    body.push('<div class="charts">');
    for (const m of METRICS) {
      const names = Object.keys(j[p]) as Scored[];
      body.push(
        barChartSvg(
          `${m.toUpperCase()} (${p})`,
          names.map((s) => ({ label: s, value: j[p][s]![m], color: COLORS[s] })),
        ),
      );
    }
    body.push('</div>');
    body.push(
      '<table><thead><tr><th>feed vs</th><th>metric</th><th>mean diff</th><th>95% CI</th><th>p</th></tr></thead><tbody>',
    );
    for (const [name, sig] of Object.entries(j.significance[p])) {
      for (const m of METRICS) {
        const s = sig[m]!;
        body.push(
          `<tr><td>${escapeHtml(name.replace('feed_vs_', ''))}</td><td>${m}</td><td>${signed(s.mean_diff)}</td><td>${signed(s.ci95[0])} … ${signed(s.ci95[1])}</td><td>${pText(s.p_value)}</td></tr>`,
        );
      }
    }
    body.push('</tbody></table>');
  }
  body.push('<h2>Chosen on the validation items</h2>');
  body.push(`<pre>${escapeHtml(JSON.stringify(j.chosen, null, 2))}</pre>`);
  body.push(
    `<p>Tuned on ${j.validation.users} users' validation items (never the test items). Validation figures with these settings:</p>`,
  );
  body.push(tableHtml(j.validation.full), tableHtml(j.validation.sampled100));
  if (j.sequence) {
    body.push('<h2>Sequence model per phase</h2><ul>');
    for (const [phase, r] of Object.entries(j.sequence))
      body.push(
        `<li><strong>${escapeHtml(phase)}</strong>: ${escapeHtml(r.mode)} ${escapeHtml(r.version)}${r.training_ms !== undefined ? `, trained on ${r.training_rows} interactions in ${(r.training_ms / 1000).toFixed(0)} s (best epoch ${r.best_epoch ?? '–'})` : ' (not trained by this run: it may have seen the targets)'}</li>`,
      );
    body.push('</ul>');
  }
  body.push('<h2>Protocol</h2><ul>');
  for (const [k, v] of Object.entries(j.protocol))
    body.push(`<li><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</li>`);
  body.push('</ul>');
  return htmlPage({ title: `Feed accuracy — ${j.dataset}`, body });
}
