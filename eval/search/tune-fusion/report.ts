/** What `tune-fusion` reports: fusion.json, the service settings line and the console summary. */
import { DEFAULT_FUSION, DEPTH, TEST_MODES, TUNE_METRICS, type FusionConfig, type TuneMetric } from './grid.ts';
import type { HalfReport, SigEntry, TuneFusionAnalysis } from './choose.ts';

// -------------------------------------------------------------------------------- outputs

const round = (x: number, digits = 6): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

export function envLine(cfg: FusionConfig): string {
  return `SHELF_WEIGHT_VECTOR=${cfg.w} SHELF_RRF_K=${cfg.k}`;
}

/** The fusion.json document (spec order first, extras after `env`). */
export function buildFusionJson(
  a: TuneFusionAnalysis,
  info: { dataset: string; embedder: string; seed: number; [key: string]: unknown },
): Record<string, unknown> {
  const { dataset, embedder, seed, ...extras } = info;
  const byMetric = (h: HalfReport) =>
    Object.fromEntries(
      TUNE_METRICS.map((m) => [m, Object.fromEntries(TEST_MODES.map((mode) => [mode, round(h.aggregate[m][mode])]))]),
    );
  const sig = a.significance;
  return {
    dataset,
    embedder,
    seed,
    split: a.split,
    grid: a.grid.map((p) => ({ w: p.w, k: p.k, 'ndcg@10_tune': round(p['ndcg@10_tune']) })),
    chosen: { weights: { bm25: 1, vector: a.chosen.w }, rrf_k: a.chosen.k },
    test: byMetric(a.test),
    significance: {
      test: `on the test half: paired randomization (sign-flip) test, two-sided, ${sig.rounds} rounds, seed ${sig.seed}; 95% percentile-bootstrap CI of the mean per-query difference (hybrid_tuned − baseline)`,
      best_single: sig.best_single,
      hybrid_tuned_vs_best_single: roundSig(sig.comparisons[`hybrid_tuned_vs_${sig.best_single}`]!),
      ...Object.fromEntries(Object.entries(sig.comparisons).map(([k, v]) => [k, roundSig(v)])),
    },
    env: envLine(a.chosen),
    default: { weights: { bm25: 1, vector: DEFAULT_FUSION.w }, rrf_k: DEFAULT_FUSION.k },
    tune: byMetric(a.tune),
    ...extras,
  };
}

function roundSig(v: Record<TuneMetric, SigEntry>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(v).map(([m, s]) => [
      m,
      { mean_diff: round(s.mean_diff), ci95: [round(s.ci95[0]), round(s.ci95[1])], p_value: round(s.p_value), n: s.n },
    ]),
  );
}

const sign = (x: number, d = 4) => `${x >= 0 ? '+' : ''}${x.toFixed(d)}`;

/** Console summary: the grid (tune nDCG@10), the choice, the test-half table and the tests. */
export function formatFusionSummary(a: TuneFusionAnalysis): string {
  const lines: string[] = [];
  const ks = [...new Set(a.grid.map((p) => p.k))];
  const ws = [...new Set(a.grid.map((p) => p.w))];
  lines.push(
    `tune half (${a.split.tune} queries), mean nDCG@10 by vector weight w (rows) and rrf k (columns); bm25 weight 1:`,
  );
  lines.push(['w \\ k'.padEnd(7), ...ks.map((k) => String(k).padStart(8))].join(''));
  for (const w of ws) {
    const cells = ks.map((k) => {
      const p = a.grid.find((g) => g.w === w && g.k === k);
      const mark = w === a.chosen.w && k === a.chosen.k ? '*' : ' ';
      return p ? (p['ndcg@10_tune'].toFixed(4) + mark).padStart(8) : ''.padStart(8);
    });
    lines.push([String(w).padEnd(7), ...cells].join(''));
  }
  const tuneNd = a.tune.aggregate['ndcg@10'];
  lines.push(
    `chosen (*): vector weight ${a.chosen.w}, rrf_k ${a.chosen.k}; tune nDCG@10 ${tuneNd.hybrid_tuned.toFixed(4)} vs default ${tuneNd.hybrid_default.toFixed(4)}, bm25 ${tuneNd.bm25.toFixed(4)}, vector ${tuneNd.vector.toFixed(4)}`,
  );
  lines.push('');
  lines.push(`test half (${a.split.test} queries, not used for the choice):`);
  lines.push(['metric'.padEnd(12), ...TEST_MODES.map((m) => m.padStart(16))].join(''));
  for (const metric of TUNE_METRICS) {
    lines.push(
      [metric.padEnd(12), ...TEST_MODES.map((m) => a.test.aggregate[metric][m].toFixed(4).padStart(16))].join(''),
    );
  }
  lines.push('');
  const sig = a.significance;
  for (const [name, byMetric] of Object.entries(sig.comparisons)) {
    const parts = TUNE_METRICS.map((m) => {
      const s = byMetric[m];
      return `${m} ${sign(s.mean_diff)} [${sign(s.ci95[0])}, ${sign(s.ci95[1])}] p=${s.p_value.toFixed(4)}`;
    });
    const best = name === `hybrid_tuned_vs_${sig.best_single}` ? ' (best single route)' : '';
    lines.push(`${name}${best}: ${parts.join('; ')}`);
  }
  lines.push(`(mean difference, 95% bootstrap CI, paired randomization p; ${sig.rounds} rounds, seed ${sig.seed})`);
  lines.push('');
  lines.push(`to use it: ${envLine(a.chosen)}`);
  return lines.join('\n');
}
