import { chartFigure, PALETTE } from '../kit/chart.ts';
import { escapeHtml, htmlPage, signed as signedN } from '../kit/html.ts';
import type { DiversityReport } from './diversity.ts';

/**
 * `diversity.html`: the λ trade-off for people tuning the shop, self-contained (inline SVG, no
 * external JS or CSS): per surface, what each λ costs in relevance and buys in variety.
 */
const COLORS = PALETTE;
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

const signed = (x: number) => signedN(x, 3);

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
      body.push(chartFigure(`${s}: ${title}`, values, help));
    }
    body.push('</div>');
  }
  return htmlPage({ title: 'Diversity (MMR)', body, css: 'th,td{border-width:0 0 1px}' });
}
