import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { intOpt, requiredOpt, stringOpt, type Command } from '../command.ts';

/**
 * `npm run eval -- ranking --out OUTDIR`: the whole ranking loop on the simulator (eval/simulate/
 * run.ts), reported as OUTDIR/ranking.json; `--model-out DIR` also keeps the trained model
 * (that is how models/ranker/default/ is made). `npm run eval -- ranking export` joins a real
 * service's served log and events into training data for models/ranker/train.py.
 */
export const rankingCommand: Command = {
  path: ['ranking'],
  summary:
    'Simulated shoppers (hidden preferences, demo catalog, Taobao session shapes) use the running service; train the ESMM ranker and its single-task baselines on what was logged; deploy it; compare nDCG@10 of purchases of fusion order, the heuristic and the model. Writes OUTDIR/ranking.json and OUTDIR/model/.',
  options: {
    out: { type: 'string', value: 'OUTDIR', help: 'where to write ranking.json and model/', required: true },
    users: { type: 'string', value: 'N', help: 'simulated shoppers', default: '150' },
    visits: { type: 'string', value: 'N', help: 'visits per shopper (from their Taobao shape)', default: '4' },
    'per-visit': { type: 'string', value: 'N', help: 'requests per visit at most', default: '5' },
    'eval-requests': { type: 'string', value: 'N', help: 'fresh requests per shopper after deployment', default: '4' },
    seed: { type: 'string', value: 'N', help: 'seed of the world, the shoppers and training', default: '7' },
    catalog: { type: 'string', value: 'FILE', help: 'catalog the simulated shop sells', default: 'data/demo/catalog.jsonl' },
    taobao: { type: 'string', value: 'FILE', help: 'Taobao UserBehavior.csv (session shapes)', default: '../shared/datasets/taobao-userbehavior-sample/UserBehavior.csv' },
    'model-out': { type: 'string', value: 'DIR', help: 'also copy the trained model here (e.g. models/ranker/default)' },
    'work-dir': { type: 'string', value: 'DIR', help: 'keep the scratch data (index, logs, training.jsonl) here', default: 'a temp dir, removed' },
  },
  details: 'All figures are from SIMULATED shoppers over a real catalog. Metrics: see docs/BENCHMARKS.md (ranking section).',
  async run(values) {
    const out = path.resolve(requiredOpt(values, 'out'));
    const keep = stringOpt(values, 'work-dir');
    const workDir = keep ? path.resolve(keep) : await mkdtemp(path.join(tmpdir(), 'shelf-ranking-'));
    const { runRankingLoop } = await import('./run.ts');
    try {
      const catalog = stringOpt(values, 'catalog');
      const taobao = stringOpt(values, 'taobao');
      const res = await runRankingLoop({
        workDir,
        users: intOpt(values, 'users', 1) ?? 150,
        maxVisits: intOpt(values, 'visits', 1) ?? 4,
        perVisit: intOpt(values, 'per-visit', 1) ?? 5,
        evalRequests: intOpt(values, 'eval-requests', 1) ?? 4,
        seed: intOpt(values, 'seed', 0) ?? 7,
        ...(catalog !== undefined && { catalog }),
        ...(taobao !== undefined && { taobao }),
        log: (l) => console.error(l),
      });
      const m = res.training.metrics as Record<string, unknown>;
      const report = {
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
      const modelOut = stringOpt(values, 'model-out');
      if (modelOut !== undefined) {
        const { deployModel } = await import('./run.ts');
        await deployModel(path.join(workDir, 'candidate-model'), path.resolve(modelOut));
      }
      const f = (x: unknown) => JSON.stringify(x);
      console.log(`model ${res.training.model_version}: multitask auc ${f((m.multitask as { auc: unknown }).auc)}`);
      console.log(`nDCG@10 of purchases (search): fusion ${res.ndcg10.search.fusion}, heuristic ${res.ndcg10.search.heuristic}, model ${res.ndcg10.search.model}`);
      console.log(`nDCG@10 of purchases (feed):   fusion ${res.ndcg10.feed.fusion}, heuristic ${res.ndcg10.feed.heuristic}, model ${res.ndcg10.feed.model}`);
      console.log(`wrote ${path.join(out, 'ranking.json')}${modelOut ? ` and ${path.resolve(modelOut)}` : ''}`);
    } finally {
      if (!keep) await rm(workDir, { recursive: true, force: true });
    }
  },
};

export const rankingExportCommand: Command = {
  path: ['ranking', 'export'],
  summary:
    'Join a service\'s served log (with the logged feature vectors) and behaviour events by request_id into training JSON Lines for models/ranker/train.py. Embedded: the SQLite logs in --data; with KAFKA_BROKERS set: the events and served topics of SHELF_NAMESPACE.',
  options: {
    data: { type: 'string', value: 'DIR', help: 'the service data dir (SHELF_DATA_DIR) holding the embedded behaviour logs', default: 'SHELF_DATA_DIR' },
    out: { type: 'string', value: 'FILE', help: 'training JSON Lines to write', required: true },
  },
  async run(values) {
    const { exportTrainingData, exportTrainingDataFrom } = await import('../../ranking/training-data.ts');
    const { loadConfig } = await import('../../src/config.ts');
    const data = stringOpt(values, 'data');
    const config = loadConfig({ ...process.env, SHELF_CATALOG: '', ...(data !== undefined && { SHELF_DATA_DIR: data }) });
    const out = path.resolve(requiredOpt(values, 'out'));
    let summary;
    if (config.backends.kafkaBrokers) {
      const { openBehavior } = await import('../../behavior/open-behavior.ts');
      const b = await openBehavior({ dataDir: config.dataDir, backends: config.backends, config: config.behavior });
      try {
        summary = await exportTrainingDataFrom({ served: b.served, events: b.log }, out);
      } finally {
        await b.close();
      }
    } else {
      summary = await exportTrainingData(config.dataDir, out);
    }
    console.log(JSON.stringify(summary, null, 2));
  },
};
