import { barChartSvg, escapeHtml } from '../search/report.ts';
import type { DiversityReport } from './diversity.ts';

/**
 * `diversity.html`: the λ trade-off for people tuning the shop, self-contained (inline SVG, no
 * external JS or CSS): per surface, what each λ costs in relevance and buys in variety.
 */
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];
const METRICS = [
  [
    'ndcg10',
    'nDCG@10 (expected purchases)',
    'relevance: how well the first 10 match what this shopper would buy; higher is better',
  ],
  [
    'ild10',
    'ILD@10',
    'intra-list diversity: mean pairwise distance (1 − cosine) of the 10 shown products\u2019 embeddings',
  ],
  ['coverage10', 'category coverage@10', 'distinct categories among the 10 shown, divided by 10'],
] as const;

const signed = (x: number) => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(3);

export function renderDiversityReport(r: DiversityReport, generatedAt: string): string {
  const body: string[] = [];
  body.push('<h1>Diversity (MMR): what λ costs and buys</h1>');
  body.push(
    `<p class="meta">${escapeHtml(generatedAt)} · ranking ${escapeHtml(r.ranking.mode)}${r.ranking.model_version ? ` <code>${escapeHtml(r.ranking.model_version)}</code>` : ''} · ${r.config.users} simulated shoppers, seed ${r.config.seed}</p>`,
  );
  body.push(`<p class="warn">${escapeHtml(r.note)}</p>`);
  body.push(
    '<p>λ = 1 is the ranked order; lower λ trades relevance for variety (score = λ·relevance − (1−λ)·similarity to what is already shown). The last row is the surface\u2019s default setting, caps included.</p>',
  );
  for (const s of ['search', 'feed'] as const) {
    const sr = r.surfaces[s];
    body.push(`<h2>${s} <span class="meta">(${sr.requests} requests)</span></h2>`);
    body.push(
      '<table><thead><tr><th>setting</th><th>nDCG@10</th><th>vs ranked (95% interval)</th><th>ILD@10</th><th>coverage@10</th><th>new in top 10</th></tr></thead><tbody>',
    );
    for (const row of sr.rows) {
      body.push(
        `<tr><th>${escapeHtml(row.label)}${row.caps.max_per_brand > 0 ? ` · ≤${row.caps.max_per_brand}/brand` : ''}${row.caps.max_per_category > 0 ? ` · ≤${row.caps.max_per_category}/category` : ''}</th><td>${row.ndcg10.toFixed(3)}</td><td>${signed(row.ndcg10_vs_ranked.mean_diff)} (${signed(row.ndcg10_vs_ranked.ci95[0])} … ${signed(row.ndcg10_vs_ranked.ci95[1])})</td><td>${row.ild10.toFixed(3)}</td><td>${row.coverage10.toFixed(3)}</td><td>${(row.new10 * 100).toFixed(0)}%</td></tr>`,
      );
    }
    body.push('</tbody></table><div class="charts">');
    for (const [key, title, help] of METRICS) {
      const values = sr.rows.map((row, i) => ({
        label: row.label.replace(/^default.*/, 'default'),
        value: row[key],
        color: COLORS[i % COLORS.length]!,
      }));
      body.push(
        `<figure>${barChartSvg(`${s}: ${title}`, values)}<figcaption>${escapeHtml(help)}</figcaption></figure>`,
      );
    }
    body.push('</div>');
  }
  const css =
    'body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}th,td{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}th:first-child{text-align:left}.meta{color:#666;font-size:90%}.warn{background:#fff4e0;padding:.5em 1em}.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figcaption{font-size:85%;color:#555;max-width:380px}';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Diversity (MMR)</title><style>${css}</style></head><body>${body.join('\n')}</body></html>\n`;
}
