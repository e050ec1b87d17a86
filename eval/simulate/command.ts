import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { intOpt, requiredOpt, stringOpt, UsageError, type Command } from '../kit/command.ts';
import { DIVERSITY_SHOP, RANKING_SHOP, type ShopSize } from './defaults.ts';
import type { RankingReport } from './ranking-report.ts';

/** The simulated shop both commands run: shoppers, their visits, the catalog and session shapes. */
interface SimDefaults {
  shop: ShopSize;
  help: { visits: string; perVisit: string; evalRequests: string; seed: string };
}

function simulatorOptions(d: SimDefaults): Command['options'] {
  return {
    users: { type: 'string', value: 'N', help: 'simulated shoppers', default: String(d.shop.users) },
    visits: { type: 'string', value: 'N', help: d.help.visits, default: String(d.shop.maxVisits) },
    'per-visit': { type: 'string', value: 'N', help: d.help.perVisit, default: String(d.shop.perVisit) },
    'eval-requests': { type: 'string', value: 'N', help: d.help.evalRequests, default: String(d.shop.evalRequests) },
    seed: { type: 'string', value: 'N', help: d.help.seed, default: String(d.shop.seed) },
    catalog: {
      type: 'string',
      value: 'FILE',
      help: 'catalog the simulated shop sells',
      exists: 'file',
      default: 'data/demo/catalog.jsonl',
    },
    taobao: {
      type: 'string',
      value: 'FILE',
      help: 'Taobao UserBehavior.csv (session shapes)',
      default: '../shared/datasets/taobao-userbehavior-sample/UserBehavior.csv',
    },
  };
}

function simulatorValues(values: Parameters<Command['run']>[0], d: SimDefaults) {
  const catalog = stringOpt(values, 'catalog');
  const taobao = stringOpt(values, 'taobao');
  return {
    users: intOpt(values, 'users', 1) ?? d.shop.users,
    maxVisits: intOpt(values, 'visits', 1) ?? d.shop.maxVisits,
    perVisit: intOpt(values, 'per-visit', 1) ?? d.shop.perVisit,
    evalRequests: intOpt(values, 'eval-requests', 1) ?? d.shop.evalRequests,
    seed: intOpt(values, 'seed', 0) ?? d.shop.seed,
    ...(catalog !== undefined && { catalog }),
    ...(taobao !== undefined && { taobao }),
  };
}

const RANKING_SIM: SimDefaults = {
  shop: RANKING_SHOP,
  help: {
    visits: 'visits per shopper (from their Taobao shape)',
    perVisit: 'requests per visit at most',
    evalRequests: 'fresh requests per shopper after deployment',
    seed: 'seed of the world, the shoppers and training',
  },
};
const DIVERSITY_SIM: SimDefaults = {
  shop: DIVERSITY_SHOP,
  help: {
    visits: 'warm-up visits per shopper (from their Taobao shape)',
    perVisit: 'warm-up requests per visit at most',
    evalRequests: 'fresh requests per shopper',
    seed: 'seed of the world and the shoppers',
  },
};

/**
 * `npm run eval -- ranking --out OUTDIR`: the whole ranking loop on the simulator (eval/simulate/
 * run.ts), reported as OUTDIR/ranking.json; `--model-out DIR` also keeps the trained model
 * (that is how models/ranker/default/ is made). `npm run eval -- ranking export` joins a real
 * service's served log and events into training data for models/ranker/train.py.
 */
export const rankingCommand: Command = {
  path: ['ranking'],
  summary:
    'Simulated shoppers (hidden preferences, demo catalog, Taobao session shapes) use the running service; train the ESMM ranker and its single-task baselines on what was logged; deploy it; compare nDCG@10 of purchases of fusion order, the heuristic and the model. Writes OUTDIR/ranking.json, OUTDIR/ranking.html and OUTDIR/model/.',
  options: {
    out: {
      type: 'string',
      value: 'OUTDIR',
      help: 'where to write ranking.json, ranking.html and model/',
      required: true,
    },
    ...simulatorOptions(RANKING_SIM),
    'model-out': {
      type: 'string',
      value: 'DIR',
      help: 'also copy the trained model here (e.g. models/ranker/default)',
    },
    'work-dir': {
      type: 'string',
      value: 'DIR',
      help: 'keep the scratch data (index, logs, training.jsonl) here',
      default: 'a temp dir, removed',
    },
  },
  details:
    'All figures are from SIMULATED shoppers over a real catalog. Metrics: see docs/BENCHMARKS.md (ranking section).',
  async run(values) {
    const out = path.resolve(requiredOpt(values, 'out'));
    const keep = stringOpt(values, 'work-dir');
    const workDir = keep ? path.resolve(keep) : await mkdtemp(path.join(tmpdir(), 'shelf-ranking-'));
    const { runRankingLoop } = await import('./run.ts');
    try {
      const res = await runRankingLoop({
        workDir,
        ...simulatorValues(values, RANKING_SIM),
        log: (l) => console.error(l),
      });
      const m = res.training.metrics as Record<string, unknown>;
      const report: RankingReport = {
        note: 'Every figure here comes from SIMULATED shoppers (eval/simulate/world.ts) on a real catalog with real Taobao session shapes; it measures the pipeline, not a real shop.',
        model_version: res.training.model_version,
        multitask: m.multitask,
        ctr_only: m.ctr_only,
        cvr_clicked_only: m.cvr_clicked_only,
        ctr_only_x_cvr_clicked_only: m.ctr_only_x_cvr_clicked_only,
        data: res.training.summary,
        simulator: {
          ndcg10_purchases: res.ndcg10,
          log_phase: res.log_phase,
          deployed: res.deployed,
          served_after_deploy: res.served_after_deploy,
          config: res.config,
        },
      };
      await mkdir(out, { recursive: true });
      await writeFile(path.join(out, 'ranking.json'), JSON.stringify(report, null, 2) + '\n');
      await cp(path.join(workDir, 'candidate-model'), path.join(out, 'model'), { recursive: true });
      const { renderRankingReport } = await import('./ranking-report.ts');
      await writeFile(
        path.join(out, 'ranking.html'),
        await renderRankingReport(report, { generatedAt: new Date().toISOString(), modelDir: path.join(out, 'model') }),
      );
      const modelOut = stringOpt(values, 'model-out');
      if (modelOut !== undefined) {
        const { deployModel } = await import('./run.ts');
        await deployModel(path.join(workDir, 'candidate-model'), path.resolve(modelOut));
      }
      const f = (x: unknown) => JSON.stringify(x);
      console.log(`model ${res.training.model_version}: multitask auc ${f((m.multitask as { auc: unknown }).auc)}`);
      console.log(
        `nDCG@10 of purchases (search): fusion ${res.ndcg10.search.fusion}, heuristic ${res.ndcg10.search.heuristic}, model ${res.ndcg10.search.model}`,
      );
      console.log(
        `nDCG@10 of purchases (feed):   fusion ${res.ndcg10.feed.fusion}, heuristic ${res.ndcg10.feed.heuristic}, model ${res.ndcg10.feed.model}`,
      );
      console.log(
        `wrote ${path.join(out, 'ranking.json')}, ranking.html${modelOut ? ` and ${path.resolve(modelOut)}` : ''}`,
      );
    } finally {
      if (!keep) await rm(workDir, { recursive: true, force: true });
    }
  },
};

export const rankingExportCommand: Command = {
  path: ['ranking', 'export'],
  summary:
    "Join a service's served log (with the logged feature vectors) and behaviour events by request_id into training JSON Lines for models/ranker/train.py. Embedded: the SQLite logs in --data; with KAFKA_BROKERS set: the events and served topics of SHELF_NAMESPACE.",
  options: {
    data: {
      type: 'string',
      value: 'DIR',
      help: 'the service data dir (SHELF_DATA_DIR) holding the embedded behaviour logs',
      default: 'SHELF_DATA_DIR',
    },
    out: { type: 'string', value: 'FILE', help: 'training JSON Lines to write', required: true },
  },
  async run(values) {
    const { exportTrainingData, exportTrainingDataFrom } = await import('../../ranking/training-data.ts');
    const { loadConfig } = await import('../../src/config.ts');
    const data = stringOpt(values, 'data');
    const config = loadConfig({
      ...process.env,
      SHELF_CATALOG: '',
      ...(data !== undefined && { SHELF_DATA_DIR: data }),
    });
    const out = path.resolve(requiredOpt(values, 'out'));
    let summary;
    if (config.backends.kafkaBrokers) {
      const { openBehavior } = await import('../../behavior/open-behavior.ts');
      const b = await openBehavior({
        dataDir: config.service.dataDir,
        backends: config.backends,
        config: config.behavior,
      });
      try {
        summary = await exportTrainingDataFrom({ served: b.served, events: b.log }, out);
      } finally {
        await b.close();
      }
    } else {
      summary = await exportTrainingData(config.service.dataDir, out);
    }
    console.log(JSON.stringify(summary, null, 2));
  },
};

/**
 * `npm run eval -- diversity --out OUTDIR`: the λ sweep of the MMR stage (eval/simulate/
 * diversity.ts) on the simulator with the shipped default ranker, no training: writes
 * OUTDIR/diversity.json and OUTDIR/diversity.html.
 */
export const diversityCommand: Command = {
  path: ['diversity'],
  summary:
    'Simulated shoppers use the service (shipped default ranker, no training); fresh search and feed answers are diversified by MMR at each λ; report nDCG@10 of purchases, intra-list diversity and category coverage per λ. Writes OUTDIR/diversity.json and diversity.html.',
  options: {
    out: { type: 'string', value: 'OUTDIR', help: 'where to write diversity.json and diversity.html', required: true },
    ...simulatorOptions(DIVERSITY_SIM),
    lambdas: {
      type: 'string',
      value: 'LIST',
      help: 'comma-separated λ values in [0, 1]',
      default: '1,0.9,0.7,0.5,0.3',
    },
    model: {
      type: 'string',
      value: 'DIR',
      help: 'ranker model folder',
      default: 'models/ranker/default',
      exists: 'folder',
    },
  },
  details:
    'All figures are from SIMULATED shoppers over a real catalog. Metrics: see docs/BENCHMARKS.md (Diversity (MMR)).',
  async run(values) {
    const out = path.resolve(requiredOpt(values, 'out'));
    const lambdaText = stringOpt(values, 'lambdas');
    const lambdas = lambdaText?.split(',').map((x) => Number(x.trim()));
    if (lambdas && (lambdas.length === 0 || lambdas.some((l) => !Number.isFinite(l) || l < 0 || l > 1)))
      throw new UsageError(`--lambdas must be numbers in [0, 1], got ${JSON.stringify(lambdaText)}`);
    const workDir = await mkdtemp(path.join(tmpdir(), 'shelf-diversity-'));
    const { runDiversityEval } = await import('./diversity.ts');
    const { renderDiversityReport } = await import('./diversity-report.ts');
    try {
      const model = stringOpt(values, 'model');
      const report = await runDiversityEval({
        workDir,
        ...simulatorValues(values, DIVERSITY_SIM),
        ...(lambdas && { lambdas }),
        ...(model !== undefined && { modelDir: model }),
        log: (l) => console.error(l),
      });
      await mkdir(out, { recursive: true });
      await writeFile(path.join(out, 'diversity.json'), JSON.stringify(report, null, 2) + '\n');
      await writeFile(path.join(out, 'diversity.html'), await renderDiversityReport(report, new Date().toISOString()));
      for (const s of ['search', 'feed'] as const) {
        console.log(`${s} (${report.surfaces[s].requests} requests):`);
        for (const r of report.surfaces[s].rows)
          console.log(
            `  ${r.label.padEnd(18)} nDCG@10 ${r.ndcg10.toFixed(4)} (Δ ${r.ndcg10_vs_ranked.mean_diff.toFixed(4)}, 95% ${r.ndcg10_vs_ranked.ci95.map((x) => x.toFixed(4)).join('…')})  ILD@10 ${r.ild10.toFixed(4)}  coverage@10 ${r.coverage10.toFixed(4)}  new@10 ${r.new10.toFixed(3)}`,
          );
      }
      console.log(`wrote ${path.join(out, 'diversity.json')}\n      ${path.join(out, 'diversity.html')}`);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  },
};
