import { escapeHtml, htmlTable, signed as signedN } from '../kit/html.ts';
import { chartRow, reportPage, type Verdict } from '../kit/report-shell.ts';
import { settingsLine } from '../kit/settings-line.ts';
import { barChart, intervalChart, vegaSvg } from '../kit/vega-chart.ts';
import type { DiversityReport, DiversityRow } from './diversity.ts';

/**
 * `diversity.html`: the λ trade-off for people tuning the shop, in the report shell (Vega-Lite SVG,
 * self-contained): per surface, what each λ costs in relevance (with its paired 95% interval) and
 * buys in variety, and a verdict naming the λ to set.
 */
const METRICS = [
  [
    'ild10',
    'ILD@10',
    'intra-list diversity: mean pairwise distance (1 − cosine) of the 10 shown products\u2019 embeddings',
  ],
  ['coverage10', 'category coverage@10', 'distinct categories among the 10 shown, divided by 10'],
] as const;

/** Fewer evaluation requests per surface than this: the report warns that the intervals are wide. */
export const MIN_REQUESTS = 100;

const signed = (x: number) => signedN(x, 3);
const SURFACES = ['search', 'feed'] as const;

/**
 * Per surface, the setting to serve: of the settings (the swept λ and the current default) whose
 * relevance cost is not reliable (the paired 95% interval of nDCG@10 against the ranked page
 * reaches 0), the one with the most variety (ILD@10). Pure.
 */
export function chooseLambda(rows: readonly DiversityRow[]): DiversityRow | undefined {
  const free = rows.filter((r) => r.ndcg10_vs_ranked.ci95[1] >= 0);
  return free.reduce<DiversityRow | undefined>((best, r) => (!best || r.ild10 > best.ild10 ? r : best), undefined);
}

/** The verdict: the λ to set per surface (the exact settings), or to keep the current one. Pure. */
export function diversityVerdict(r: DiversityReport): Verdict {
  const changes: Record<string, number> = {};
  const parts: string[] = [];
  for (const s of SURFACES) {
    const sr = r.surfaces[s];
    const pick = chooseLambda(sr.rows);
    const current = sr.settings.lambda;
    if (!pick) {
      parts.push(`${s}: every λ tried costs relevance; keep λ ${current}`);
      continue;
    }
    const cost = pick.ndcg10_vs_ranked;
    if (pick.label.startsWith('default') || pick.lambda === current) parts.push(`${s}: keep λ ${current}`);
    else {
      changes[`diversity.${s}.lambda`] = pick.lambda;
      parts.push(
        `${s}: λ ${pick.lambda} (nDCG@10 ${signed(cost.mean_diff)} [${signed(cost.ci95[0])}, ${signed(cost.ci95[1])}], ILD@10 ${pick.ild10.toFixed(3)})`,
      );
    }
  }
  const set = settingsLine(changes);
  return set
    ? { tone: 'good', text: `More variety at no reliable relevance cost — ${parts.join('; ')}: set ${set}` }
    : { tone: 'neutral', text: `The current λ are the best trade-off — ${parts.join('; ')}: nothing to change` };
}

export async function renderDiversityReport(r: DiversityReport, generatedAt: string): Promise<string> {
  const warnings = [r.note];
  for (const s of SURFACES)
    if (r.surfaces[s].requests < MIN_REQUESTS)
      warnings.unshift(
        `too little data: ${r.surfaces[s].requests} ${s} requests (at least ${MIN_REQUESTS} are needed); the intervals are wide`,
      );
  const sections: Array<{ title: string; html: string }> = [
    {
      title: 'How to read this',
      html: '<p>λ = 1 is the ranked order; lower λ trades relevance for variety (score = λ·relevance − (1−λ)·similarity to what is already shown). The last row is the surface\u2019s default setting, caps included. nDCG@10 is of expected purchases; its difference to the ranked page is paired over requests (bootstrap 95% interval).</p>',
    },
  ];
  for (const s of SURFACES) {
    const sr = r.surfaces[s];
    const label = (row: DiversityRow) => row.label.replace(/^default.*/, 'default');
    const table = htmlTable({
      head: ['setting', 'nDCG@10', 'vs ranked (95% interval)', 'ILD@10', 'coverage@10', 'new in top 10'],
      rows: sr.rows.map((row) => [
        {
          html: `${escapeHtml(row.label)}${row.caps.max_per_brand > 0 ? ` · ≤${row.caps.max_per_brand}/brand` : ''}${row.caps.max_per_category > 0 ? ` · ≤${row.caps.max_per_category}/category` : ''}`,
          header: true,
        },
        row.ndcg10.toFixed(3),
        `${signed(row.ndcg10_vs_ranked.mean_diff)} (${signed(row.ndcg10_vs_ranked.ci95[0])} … ${signed(row.ndcg10_vs_ranked.ci95[1])})`,
        row.ild10.toFixed(3),
        row.coverage10.toFixed(3),
        `${(row.new10 * 100).toFixed(0)}%`,
      ]),
    });
    const charts = [
      await vegaSvg(
        intervalChart({
          title: `${s}: relevance cost of each setting, 95% CI`,
          x: 'nDCG@10 minus the ranked page (< 0: less relevant)',
          y: 'setting',
          rule: 0,
          points: sr.rows.map((row) => ({
            label: label(row),
            value: row.ndcg10_vs_ranked.mean_diff,
            lo: row.ndcg10_vs_ranked.ci95[0],
            hi: row.ndcg10_vs_ranked.ci95[1],
          })),
        }),
      ),
    ];
    for (const [key, title, help] of METRICS)
      charts.push(
        (await vegaSvg(
          barChart({
            title: `${s}: ${title}`,
            x: 'setting',
            y: title,
            ordered: true,
            bars: sr.rows.map((row) => ({ label: label(row), value: row[key] })),
          }),
        )) + `<figcaption>${escapeHtml(help)}</figcaption>`,
      );
    sections.push({ title: `${s} (${sr.requests} requests)`, html: table + chartRow(charts) });
  }
  return reportPage({
    title: 'Diversity (MMR): what λ costs and buys',
    meta: `${generatedAt} · ranking ${r.ranking.mode}${r.ranking.model_version ? ` ${r.ranking.model_version}` : ''} · ${r.config.users} simulated shoppers, seed ${r.config.seed}`,
    verdict: diversityVerdict(r),
    warnings,
    sections,
    css: 'th,td{border-width:0 0 1px}',
  });
}
