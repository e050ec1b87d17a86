import { escapeHtml, htmlTable } from '../kit/html.ts';
import { chartRow, reportPage, type Verdict } from '../kit/report-shell.ts';
import { settingsLine } from '../kit/settings-line.ts';
import { barChart, intervalChart, vegaSvg } from '../kit/vega-chart.ts';
import type { LoopResult, NdcgReport } from './run.ts';

/**
 * `ranking.html`: the CTR/CVR ranking loop on simulated shoppers in the report shell: held-out AUC
 * of the multi-task model and its single-task baselines, expected nDCG@10 of purchases under
 * fusion order, the heuristic and the trained model with the model's paired 95% intervals, and a
 * verdict saying whether to deploy the model it trained.
 */
export interface RankingReport {
  note: string;
  model_version: string;
  multitask: unknown;
  ctr_only: unknown;
  cvr_clicked_only: unknown;
  ctr_only_x_cvr_clicked_only: unknown;
  data: unknown;
  simulator: {
    ndcg10_purchases: LoopResult['ndcg10'];
    log_phase: unknown;
    deployed: unknown;
    served_after_deploy: unknown;
    config: LoopResult['config'];
  };
}

/** Fewer evaluation requests per surface than this: the report warns that the intervals are wide. */
export const MIN_REQUESTS = 100;

const SURFACES = ['search', 'feed'] as const;
const signed = (x: number) => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(4);
const interval = (c: { mean_diff: number; ci95: [number, number] }) =>
  `${signed(c.mean_diff)} [${signed(c.ci95[0])}, ${signed(c.ci95[1])}]`;

/**
 * Deploy the trained model only when it orders purchases reliably better than the heuristic on
 * both surfaces; refuse it when it is reliably worse on one. `modelDir` is where the run wrote the
 * model. Pure.
 */
export function rankingVerdict(r: RankingReport, modelDir = 'OUTDIR/model'): Verdict {
  const nd = r.simulator.ndcg10_purchases;
  const vs = SURFACES.map((s) => [s, nd[s].model_vs?.heuristic] as const);
  if (vs.some(([, c]) => c === undefined))
    return {
      tone: 'neutral',
      text: 'no paired comparison in this ranking.json (made by an older version): run it again',
    };
  const text = vs.map(([s, c]) => `${s} ${interval(c!)}`).join(', ');
  const worse = vs.filter(([, c]) => c!.ci95[1] < 0).map(([s]) => s);
  if (worse.length > 0)
    return {
      tone: 'bad',
      text: `Model ${r.model_version} orders purchases worse than the heuristic on ${worse.join(' and ')} (expected nDCG@10 ${text}): do not deploy it; keep the current model`,
    };
  if (vs.every(([, c]) => c!.ci95[0] > 0))
    return {
      tone: 'good',
      text: `Model ${r.model_version} orders purchases better than the heuristic (expected nDCG@10 ${text}): deploy it with ${settingsLine({ 'ranking.model_dir': modelDir })} (or copy its two files into the served model folder)`,
    };
  return {
    tone: 'wait',
    text: `No reliable difference between model ${r.model_version} and the heuristic (expected nDCG@10 ${text}): keep the current model; simulate more shoppers to tell`,
  };
}

const auc = (m: unknown, key: string): number => {
  const v = (m as { auc?: Record<string, number> } | undefined)?.auc?.[key];
  return typeof v === 'number' ? v : NaN;
};

export async function renderRankingReport(
  r: RankingReport,
  ctx: { generatedAt: string; modelDir?: string },
): Promise<string> {
  const nd = r.simulator.ndcg10_purchases;
  const warnings = [r.note];
  for (const s of SURFACES)
    if (nd[s].requests < MIN_REQUESTS)
      warnings.unshift(
        `too little data: ${nd[s].requests} ${s} requests (at least ${MIN_REQUESTS} are needed); the intervals are wide`,
      );
  const orders = ['fusion', 'heuristic', 'model'] as const;
  const table = htmlTable({
    head: [
      'surface',
      'requests',
      ...orders.map((o) => `expected nDCG@10 — ${o}`),
      'model − heuristic',
      'model − fusion',
    ],
    rows: SURFACES.map((s) => {
      const n: NdcgReport = nd[s];
      return [
        { html: s, header: true },
        String(n.requests),
        ...orders.map((o) => n.expected[o].toFixed(4)),
        n.model_vs ? interval(n.model_vs.heuristic) : '–',
        n.model_vs ? interval(n.model_vs.fusion) : '–',
      ];
    }),
  });
  const charts = [
    await vegaSvg(
      intervalChart({
        title: 'Trained model minus each order, 95% CI',
        x: 'difference in expected nDCG@10 of purchases (> 0: model better)',
        y: 'surface · compared with',
        format: '.4~f',
        rule: 0,
        points: SURFACES.flatMap((s) =>
          (['heuristic', 'fusion'] as const).flatMap((o) => {
            const c = nd[s].model_vs?.[o];
            return c ? [{ label: `${s} · ${o}`, value: c.mean_diff, lo: c.ci95[0], hi: c.ci95[1], group: s }] : [];
          }),
        ),
      }),
    ),
    ...(await Promise.all(
      SURFACES.map((s) =>
        vegaSvg(
          barChart({
            title: `${s}: expected nDCG@10 of purchases`,
            x: 'order',
            y: 'expected nDCG@10',
            format: '.4~f',
            ordered: true,
            bars: orders.map((o) => ({ label: o, value: nd[s].expected[o] })),
          }),
        ),
      ),
    )),
    await vegaSvg(
      barChart({
        title: 'Held-out AUC of purchase after impression (CTCVR)',
        x: 'model',
        y: 'AUC',
        ordered: true,
        bars: [
          { label: 'multi-task (ESMM)', value: auc(r.multitask, 'ctcvr') },
          { label: 'CTR × clicked-only CVR', value: auc(r.ctr_only_x_cvr_clicked_only, 'ctcvr') },
        ],
      }),
    ),
  ];
  const metrics = htmlTable({
    head: ['model', 'AUC CTR', 'AUC CVR (clicked)', 'AUC CVR (all)', 'AUC CTCVR'],
    rows: (
      [
        ['multi-task (ESMM)', r.multitask],
        ['CTR only', r.ctr_only],
        ['CVR on clicks only', r.cvr_clicked_only],
        ['CTR only × CVR on clicks only', r.ctr_only_x_cvr_clicked_only],
      ] as const
    ).map(([name, m]) => [
      { html: escapeHtml(name), header: true },
      ...['ctr', 'cvr', 'cvr_all', 'ctcvr'].map((k) => (Number.isFinite(auc(m, k)) ? auc(m, k).toFixed(4) : '–')),
    ]),
  });
  return reportPage({
    title: 'Ranking loop — simulated shoppers',
    meta: `model ${r.model_version} · ${r.simulator.config.users} simulated shoppers, seed ${r.simulator.config.seed} · ${ctx.generatedAt}`,
    verdict: rankingVerdict(r, ctx.modelDir),
    warnings,
    sections: [
      {
        title: 'Expected nDCG@10 of purchases on fresh requests',
        html:
          table +
          chartRow(charts) +
          '<p class="note">Each fresh request is answered in fusion order, by the heuristic and by the trained model; the gain of an item is its true purchase probability. Differences are paired over requests (bootstrap 95% interval).</p>',
      },
      { title: 'Held-out model metrics', html: metrics },
      {
        title: 'Data',
        html: `<pre>${escapeHtml(JSON.stringify({ training: r.data, log_phase: r.simulator.log_phase, deployed: r.simulator.deployed }, null, 2))}</pre>`,
      },
    ],
  });
}
