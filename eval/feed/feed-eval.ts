/**
 * `npm run eval -- feed`: leave-last-out accuracy of the feed's recall routes and of the fused
 * feed on a sequential behaviour dataset (eval/sequential-data.ts), next to SASRec's protocol.
 *
 *   1. split: per user, last item = test, second-to-last = validation (eval/feed/protocol.ts)
 *   2. item vectors from item text, else trained on the training interactions (item-vectors.ts)
 *   3. validation phase: replay histories through the consumer into SQLite (replay.ts), tune the
 *      route knobs and the fusion on a seeded sample of users' validation items (tune.ts)
 *   4. test phase: replay histories + validation items, score every route and the fused feed
 *      on every user's test item, full ranking and 100 sampled negatives, paired tests
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BehaviorConfigSchema, type BehaviorConfig } from '../../behavior/config.ts';
import type { StateStore } from '../../behavior/state-store.ts';
import type { FeedConfig, FeedConfigInput, FeedRoute } from '../../retrieval/recall/feed-config.ts';
import { comparePaired, mean } from '../kit/stats.ts';
import { sampleKeepOrder } from '../../core/rng.ts';
import { readSequentialDataset } from './sequential-data.ts';
import { ExactVectors } from './exact-vectors.ts';
import { itemInfos, itemVectors, resolveMode, type ItemVectorMode, type ItemVectorReport } from './item-vectors.ts';
import { leaveLastOut, phaseEvents, phaseView, type EvalUser, type Phase, type Split } from './protocol.ts';
import { replayIntoState } from './replay.ts';
import { hashString, sampleNegatives, type HitMetrics } from './sampled.ts';
import { evalSources, type EvalSources } from './sources.ts';
import { phaseSequence, type PhaseSequence, type SequenceMode, type SequencePhaseRecord } from './sequence-phase.ts';
import type { FeedJson, MetricTable, Significance } from './feed-json.ts';

import { configWith, tuneFeed, type TuneResult } from './tune.ts';
import {
  ROUTE_OF,
  candidatesFor,
  fusedRanking,
  routeRanking,
  scoreRanking,
  type CaseScore,
  type EvalRoute,
  type Scored,
  type UserCase,
} from './user-eval.ts';

/**
 * Trending half-life for this protocol: ~31,700 years, i.e. plain counts. Leave-last-out has no
 * common clock (SASRec's sets have no times, ours are synthetic per user), so "trending now"
 * would mean nothing; popularity over the whole training period is the classic baseline.
 */
export const OFFLINE_TRENDING_HALF_LIFE_MS = 1e15;

export interface FeedEvalOptions {
  data: string;
  out: string;
  seed?: number;
  /** Validation users sampled for tuning (seeded). */
  tuneUsers?: number;
  /** Evaluate only a seeded sample of this many test users. */
  users?: number;
  recallK?: number;
  repeats?: 'keep' | 'first';
  itemVectors?: ItemVectorMode;
  embedder?: string;
  rounds?: number;
  negatives?: number;
  /** Validation users the fusion weights are chosen on (route knobs use tuneUsers). */
  fusionUsers?: number;
  /** The reducer's cooc_backward_weight for the replays (default: the serving default). */
  coocBackwardWeight?: number;
  /**
   * The learned `sequence` route: off (default), trained inside each phase on what the phase may
   * see (the reported figures), or one trained model reused in both phases (quick runs only).
   */
  sequence?: SequenceMode;
  /** Options forwarded to models/sequence/train.py (hyper-parameters), e.g. ['--dropout', '0.5']. */
  sequenceArgs?: readonly string[];
  /** Python with torch, onnx and numpy for the trainer. */
  python?: string;
  log?: (s: string) => void;
}

function negativesFor(u: EvalUser, split: Split, phase: Phase, n: number, seed: number): string[] {
  const rated = new Set(u.sequence.map((r) => r.item));
  return sampleNegatives(
    split.items,
    rated,
    n,
    (hashString(u.user) ^ seed ^ (phase === 'valid' ? 0x5bd1e995 : 0)) >>> 0,
  );
}

async function casesFor(
  users: readonly EvalUser[],
  split: Split,
  phase: Phase,
  state: StateStore,
  n: number,
  seed: number,
): Promise<UserCase[]> {
  const states = await state.getUsers(users.map((u) => `u:${u.user}`));
  return users.map((u) => {
    const { known, target } = phaseView(u, phase);
    return {
      user: u.user,
      state: states.get(`u:${u.user}`),
      target: target.item,
      now: target.ts,
      history: [...new Set(known.map((r) => r.item))],
      negatives: negativesFor(u, split, phase, n, seed),
    };
  });
}

/** Scores of every route and the fused feed per user, the routes run with the chosen knobs. */
async function scoreCases(
  cases: readonly UserCase[],
  src: EvalSources,
  chosen: FeedConfig,
  routes: readonly EvalRoute[],
  behavior: BehaviorConfig,
): Promise<Array<Record<Scored, CaseScore>>> {
  const all = configWith(chosen, Object.fromEntries(routes.map((r) => [ROUTE_OF[r], 1])));
  const out: Array<Record<Scored, CaseScore>> = [];
  for (const c of cases) {
    src.nextUser();
    const cands = await candidatesFor(src, c, all, behavior);
    const row = { feed: scoreRanking(fusedRanking(cands, chosen), c) } as Record<Scored, CaseScore>;
    for (const r of routes) row[r] = scoreRanking(routeRanking(cands, ROUTE_OF[r]), c);
    out.push(row);
  }
  return out;
}

function table(
  rows: ReadonlyArray<Record<Scored, CaseScore>>,
  names: readonly Scored[],
  protocol: 'full' | 'sampled100',
): MetricTable {
  const t: MetricTable = {};
  for (const s of names)
    t[s] = {
      'hr@10': mean(rows.map((r) => r[s][protocol]['hr@10'])),
      'ndcg@10': mean(rows.map((r) => r[s][protocol]['ndcg@10'])),
    };
  return t;
}

async function replayPhase(
  split: Split,
  phase: Phase,
  behavior: BehaviorConfig,
  items: Parameters<typeof replayIntoState>[1]['items'],
) {
  const t0 = Date.now();
  const rows = phaseEvents(split, phase);
  const r = await replayIntoState(rows, { behavior, items, trendingHalfLifeMs: OFFLINE_TRENDING_HALF_LIFE_MS });
  return {
    state: r.state,
    record: { events: rows.length, applied: r.applied, dead_letters: r.deadLetters, ms: Date.now() - t0 },
  };
}

export async function runFeedEval(
  opts: FeedEvalOptions,
): Promise<{ json: FeedJson; files: { json: string; html: string; tsv: string; config: string } }> {
  const log = opts.log ?? (() => {});
  const seed = opts.seed ?? 1;
  const recallK = opts.recallK ?? 1000;
  const nNeg = opts.negatives ?? 100;
  const timing: Record<string, number> = {};
  let t = Date.now();
  const lap = (name: string) => {
    timing[name] = Date.now() - t;
    t = Date.now();
  };

  const ds = await readSequentialDataset(opts.data);
  const split = leaveLastOut(ds.interactions, opts.repeats ?? 'first');
  if (split.users.length === 0) throw new Error(`${opts.data}: no user has 3 or more interactions`);
  log(
    `${ds.meta?.name ?? opts.data}: ${ds.interactions.length} interactions, ${split.users.length} users with ≥ 3, ${split.items.length} items`,
  );
  lap('read');

  const behavior = BehaviorConfigSchema.parse({
    trending_half_life_ms: OFFLINE_TRENDING_HALF_LIFE_MS,
    ...(opts.coocBackwardWeight !== undefined && { cooc_backward_weight: opts.coocBackwardWeight }),
  });
  const mode = resolveMode(opts.itemVectors ?? 'auto', ds.items);
  // Co-occurrence vectors are retrained per phase on what that phase may see, as a shop retrains
  // them on all its history: the validation phase's never saw a validation or test item, the test
  // phase's adds the validation items (never a test item). Vectors a phase behind made the user
  // vector route weaker on test than on validation, so fusion weights tuned on validation did not
  // carry over. Text vectors do not depend on interactions: computed once.
  const vecOpts = { ...(opts.embedder !== undefined && { embedder: opts.embedder }), seed };
  // A phase's vectors as the routes read them: exact neighbours, and the item infos the replay keeps.
  const phaseVectors = (v: Awaited<ReturnType<typeof itemVectors>>) => ({
    vec: v,
    exact: new ExactVectors(v.vectors),
    items: itemInfos(v.vectors, ds.items),
  });
  const validVec = phaseVectors(
    await itemVectors(mode, ds.items, phaseEvents(split, 'valid'), { ...vecOpts, phase: 'validation' }),
  );
  const { vec, exact, items } = validVec;
  const hasCategories = [...ds.items.values()].some((it) => it.category !== undefined);
  const routes: EvalRoute[] = [
    'popularity',
    'itemcf',
    ...(exact.size > 0 ? (['uservector'] as const) : []),
    ...(hasCategories ? (['category'] as const) : []),
  ];
  log(`item vectors: ${vec.report.source}, ${vec.report.items_with_vector} items`);
  lap('item_vectors');

  const seqMode: SequenceMode = opts.sequence ?? { kind: 'off' };
  const sequenceRecords: Partial<Record<Phase, SequencePhaseRecord>> = {};
  const trainSequence = async (phase: Phase): Promise<PhaseSequence | undefined> => {
    if (seqMode.kind === 'off') return undefined;
    const s = await phaseSequence(seqMode, phase, phaseEvents(split, phase), opts.out, {
      args: opts.sequenceArgs ?? [],
      python: opts.python ?? '/usr/bin/python3',
      seed,
      // The test phase learns from the validation items too, for the epochs validation chose.
      epochs: phase === 'test' ? sequenceRecords.valid?.best_epoch : undefined,
      log,
    });
    sequenceRecords[phase] = s.record;
    return s;
  };
  const validSeq = await trainSequence('valid');
  if (validSeq) routes.push('sequence');
  lap('sequence_valid');

  // Validation phase: tune.
  const valid = await replayPhase(split, 'valid', behavior, items);
  lap('replay_valid');
  const tuneUsers = sampleKeepOrder(split.users, opts.tuneUsers ?? 2000, seed);
  const validCases = await casesFor(tuneUsers, split, 'valid', valid.state, nNeg, seed);
  // A larger sample chooses the fusion when there are more users than the tuning sample holds.
  const fusionUsers = sampleKeepOrder(split.users, opts.fusionUsers ?? 8000, seed);
  const fusionCases =
    fusionUsers.length > tuneUsers.length
      ? await casesFor(fusionUsers, split, 'valid', valid.state, nNeg, seed)
      : undefined;
  const validSrc = evalSources(valid.state, exact, validSeq?.source);
  log(`tuning on ${validCases.length} validation users (fusion weights on ${(fusionCases ?? validCases).length})`);
  const tuned = await tuneFeed(validCases, validSrc, behavior, {
    recallK,
    hasCategories,
    hasVectors: exact.size > 0,
    hasSequence: validSeq !== undefined,
    ...(fusionCases && { fusionCases }),
    log,
  });
  const validRows = await scoreCases(validCases, validSrc, tuned.chosen, routes, behavior);
  await valid.state.close();
  await validSeq?.close();
  lap('tune');

  const testSeq = await trainSequence('test');
  lap('sequence_test');

  // Test phase: report.
  const testVec =
    mode === 'cooc'
      ? phaseVectors(await itemVectors(mode, ds.items, phaseEvents(split, 'test'), { ...vecOpts, phase: 'test' }))
      : validVec;
  lap('item_vectors_test');
  const test = await replayPhase(split, 'test', behavior, testVec.items);
  lap('replay_test');
  const testUsers = opts.users !== undefined ? sampleKeepOrder(split.users, opts.users, seed) : split.users;
  const testCases = await casesFor(testUsers, split, 'test', test.state, nNeg, seed);
  const rows = await scoreCases(
    testCases,
    evalSources(test.state, testVec.exact, testSeq?.source),
    tuned.chosen,
    routes,
    behavior,
  );
  await test.state.close();
  await testSeq?.close();
  lap('test');

  // A target no training interaction mentions is out of reach of every route: worth knowing.
  const trainedItems = new Set(phaseEvents(split, 'test').map((r) => r.item));
  const coldTargets = testCases.filter((c) => !trainedItems.has(c.target)).length;
  const scored: Scored[] = [...routes, 'feed'];
  const json: FeedJson = {
    full: table(rows, scored, 'full'),
    sampled100: table(rows, scored, 'sampled100'),
    users: rows.length,
    dataset: ds.meta?.name ?? opts.data,
    protocol: {
      split: 'leave-last-out: last item test, second-to-last validation, users with < 3 interactions not evaluated',
      repeats: opts.repeats ?? 'first',
      full: "rank among all items except the user's earlier items",
      sampled100: `rank among the target and ${nNeg} distinct random items the user never interacted with; ties (both unranked) at their expected rank`,
      recall_k: recallK,
      seed,
      evaluated_users: testUsers.length === split.users.length ? 'all' : `seeded sample of ${testUsers.length}`,
      cold_targets: coldTargets,
      request_time: "the held-out interaction's timestamp",
    },
    chosen: pickConfig(tuned.chosen),
    beats: { full: {}, sampled100: {} },
    significance: { full: {}, sampled100: {} },
    validation: {
      users: validRows.length,
      full: table(validRows, scored, 'full'),
      sampled100: table(validRows, scored, 'sampled100'),
      tuning: { itemcf: tuned.itemcf, uservector: tuned.uservector, fusion: tuned.fusion, gate: tuned.gate },
    },
    item_vectors: { ...vec.report, ...(testVec !== validVec && { test: testVec.vec.report }) },
    behavior: {
      trending_half_life_ms: behavior.trending_half_life_ms,
      short_half_life_ms: behavior.short_half_life_ms,
      long_half_life_ms: behavior.long_half_life_ms,
      cooc_window: behavior.cooc_window,
      cooc_max_gap_ms: behavior.cooc_max_gap_ms,
      cooc_backward_weight: behavior.cooc_backward_weight,
      recent_items: behavior.recent_items,
    },
    replay: { valid: valid.record, test: test.record },
    ...(seqMode.kind !== 'off' && { sequence: sequenceRecords }),
    timing_ms: timing,
  };
  for (const protocol of ['full', 'sampled100'] as const) {
    for (const r of routes) {
      const sig: Partial<Record<keyof HitMetrics, Significance>> = {};
      for (const metric of ['ndcg@10', 'hr@10'] as const) {
        const c = comparePaired(
          rows.map((x) => x.feed[protocol][metric]),
          rows.map((x) => x[r][protocol][metric]),
          { rounds: opts.rounds ?? 10_000, seed: 42 },
        );
        sig[metric] = { metric, mean_diff: c.mean_diff, ci95: [c.ci_low, c.ci_high], p_value: c.p_value, n: c.n };
      }
      json.significance[protocol][`feed_vs_${r}`] = sig;
      json.beats[protocol][r] = sig['ndcg@10']!.mean_diff > 0 && sig['ndcg@10']!.p_value < 0.05;
    }
  }
  lap('significance');

  await mkdir(opts.out, { recursive: true });
  const files = {
    json: resolve(join(opts.out, 'feed.json')),
    html: resolve(join(opts.out, 'feed.html')),
    tsv: resolve(join(opts.out, 'feed-users.tsv')),
    config: resolve(join(opts.out, 'feed-config.json')),
  };
  await writeFile(files.json, JSON.stringify(json, null, 2) + '\n');
  await writeFile(
    files.config,
    JSON.stringify(
      servingConfig(
        tuned.chosen,
        routes.map((r) => ROUTE_OF[r]),
      ),
      null,
      2,
    ) + '\n',
  );
  const { renderFeedReport } = await import('./feed-report.ts');
  await writeFile(
    files.html,
    await renderFeedReport(json, { generatedAt: new Date().toISOString(), configFile: files.config }),
  );
  const header = ['user', 'target', ...scored.flatMap((s) => [`full_ndcg@10_${s}`, `sampled_ndcg@10_${s}`])];
  const lines = rows.map((r, i) =>
    [
      testCases[i]!.user,
      testCases[i]!.target,
      ...scored.flatMap((s) => [r[s].full['ndcg@10'].toFixed(4), r[s].sampled100['ndcg@10'].toFixed(4)]),
    ].join('\t'),
  );
  await writeFile(files.tsv, [header.join('\t'), ...lines, ''].join('\n'));
  return { json, files };
}

/**
 * The chosen settings as a service reads them (SHELF_FEED_CONFIG). Recall depth and the
 * exclusions stay the service's own (the evaluation recalls deeper to rank every item), and so
 * do the weights of routes it did not measure (`similar` needs a context product, `category`
 * item categories): a 0 written for those would switch them off in serving.
 */
export function servingConfig(c: FeedConfig, measured: readonly FeedRoute[]): FeedConfigInput {
  const {
    recall_k: _depth,
    exclude_shown: _shown,
    exclude_purchased: _purchased,
    exclude_recent: _recent,
    weights,
    ...tuned
  } = c;
  return { ...tuned, weights: Object.fromEntries(measured.map((r) => [r, weights[r]])) };
}

function pickConfig(c: FeedConfig): FeedJson['chosen'] {
  return {
    weights: c.weights,
    rrf_k: c.rrf_k,
    recall_k: c.recall_k,
    seeds: c.seeds,
    cooc_alpha: c.cooc_alpha,
    short_weight: c.short_weight,
    itemcf_confident_score: c.itemcf_confident_score,
    itemcf_confident_scale: c.itemcf_confident_scale,
  };
}

export function formatFeedSummary(j: FeedJson): string {
  const names = Object.keys(j.full) as Scored[];
  const lines = [
    `${j.dataset}: ${j.users} test users`,
    `${'route'.padEnd(12)} full HR@10  full NDCG@10  s100 HR@10  s100 NDCG@10`,
  ];
  for (const s of names) {
    const f = j.full[s]!;
    const p = j.sampled100[s]!;
    lines.push(
      `${s.padEnd(12)} ${f['hr@10'].toFixed(4).padStart(10)}  ${f['ndcg@10'].toFixed(4).padStart(12)}  ${p['hr@10'].toFixed(4).padStart(10)}  ${p['ndcg@10'].toFixed(4).padStart(12)}`,
    );
  }
  lines.push(
    `chosen: weights ${JSON.stringify(j.chosen.weights)}, rrf_k ${j.chosen.rrf_k}, seeds ${j.chosen.seeds}, cooc_alpha ${j.chosen.cooc_alpha}, short_weight ${j.chosen.short_weight}, gate ${j.chosen.itemcf_confident_score > 0 ? `itemcf score ≥ ${j.chosen.itemcf_confident_score.toPrecision(4)} → others × ${j.chosen.itemcf_confident_scale}` : 'off'}, cooc_backward_weight ${j.behavior.cooc_backward_weight}`,
  );
  for (const protocol of ['full', 'sampled100'] as const) {
    for (const [name, sig] of Object.entries(j.significance[protocol])) {
      const s = sig['ndcg@10']!;
      lines.push(
        `${protocol} ${name}: NDCG@10 ${s.mean_diff >= 0 ? '+' : ''}${s.mean_diff.toFixed(4)} [${s.ci95[0].toFixed(4)}, ${s.ci95[1].toFixed(4)}], p = ${s.p_value.toFixed(4)}`,
      );
    }
  }
  return lines.join('\n');
}
