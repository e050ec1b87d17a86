/**
 * `npm run eval -- tune-fusion`: choose the RRF fusion settings (vector weight, k) for one
 * catalog honestly. Every evaluable query runs ONCE per route (bm25, vector) through the real
 * searcher; the two ranked lists are kept (OUTDIR/route-lists.jsonl) and fused offline with the
 * service's own `reciprocalRankFusion`, so a grid of settings costs no searches. Queries are split
 * into a tune and a test half by a seeded hash of the query id; the grid is scored on the tune
 * half only, and the chosen setting is reported on the untouched test half against bm25, vector
 * and the default fusion (w = 1, k = 60), with paired significance tests.
 *
 * The pure parts (split, fusion, grid, test report, fusion.json) take plain data and are tested
 * without the engine; `runTuneFusion` loads the embedder, indexer and searcher lazily.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { reciprocalRankFusion } from '../../../retrieval/recall/rrf.ts';
import type { EmbedderSpec } from '../../../core/embedding/load.ts';
import type { TextEmbedder } from '../../../core/embedding/embedder.ts';
import { ENGINE_OPTIONS, UsageError, intOpt, requiredOpt, stringOpt, type Command } from '../../kit/command.ts';
import { readDataset, type EvalQuery, type Qrels } from '../datasets.ts';
import { comparePaired, countRelevant, mean, mrrAt, ndcgAt, recallAt, type Judgments } from '../../kit/metrics.ts';

// ------------------------------------------------------------------------------ constants

/** Vector-route weights tried (the bm25 weight stays 1, so only the ratio matters). */
export const VECTOR_WEIGHTS: readonly number[] = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5];
/** RRF constants tried. */
export const RRF_KS: readonly number[] = [1, 5, 10, 20, 30, 60, 100];
/** The service default (retrieval/config.ts): equal weights, k = 60. */
export const DEFAULT_FUSION: FusionConfig = { w: 1, k: 60 };
/** Route lists and fused rankings are this deep (recall@100). */
export const DEPTH = 100;
export const TUNE_METRICS = ['ndcg@10', 'recall@100', 'mrr@10'] as const;
export type TuneMetric = (typeof TUNE_METRICS)[number];
export const TEST_MODES = ['bm25', 'vector', 'hybrid_default', 'hybrid_tuned'] as const;
export type TestMode = (typeof TEST_MODES)[number];
/** Seed of the significance tests (the same default as `search`); `--seed` only drives the split. */
export const SIGNIFICANCE_SEED = 42;
export const SIGNIFICANCE_ROUNDS = 10_000;

export interface FusionConfig {
  /** Weight of the vector route; bm25 has weight 1. */
  w: number;
  /** RRF constant. */
  k: number;
}

/** One query's two route answers, best first (ids only). */
export interface RouteListRow {
  id: string;
  query: string;
  bm25: string[];
  vector: string[];
}

/** A route-list row with the query's judgments attached. */
export interface JudgedLists extends RouteListRow {
  judged: Judgments;
}

// ---------------------------------------------------------------------------------- split

/**
 * A number in [0, 1) from the query id and the seed: FNV-1a over the id's UTF-16 code units,
 * started from a seed-dependent basis, then the murmur3 finaliser so nearby ids spread out.
 * A query's half depends only on its own id and the seed, so adding or removing other queries
 * never moves it.
 */
export function splitUnit(id: string, seed: number): number {
  let h = (0x811c9dc5 ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Tune half: splitUnit < 0.5; test half: the rest. Input order is kept within each half. */
export function splitQueries<T extends { id: string }>(items: readonly T[], seed: number): { tune: T[]; test: T[] } {
  const tune: T[] = [];
  const test: T[] = [];
  for (const item of items) (splitUnit(item.id, seed) < 0.5 ? tune : test).push(item);
  return { tune, test };
}

// --------------------------------------------------------------------------------- fusion

/**
 * The hybrid ranking the searcher would return for these route lists at `cfg`: weighted RRF of
 * bm25 (weight 1) and vector (weight cfg.w), in that order, cut to `depth` (retrieval/hybrid.ts).
 */
export function fuse(bm25: readonly string[], vector: readonly string[], cfg: FusionConfig, depth = DEPTH): string[] {
  return reciprocalRankFusion(
    [
      { route: 'bm25', ids: bm25, weight: 1 },
      { route: 'vector', ids: vector, weight: cfg.w },
    ],
    cfg.k,
  )
    .slice(0, depth)
    .map((h) => h.id);
}

export function scoreRanking(ranked: readonly string[], judged: Judgments): Record<TuneMetric, number> {
  return {
    'ndcg@10': ndcgAt(10, ranked, judged),
    'recall@100': recallAt(100, ranked, judged),
    'mrr@10': mrrAt(10, ranked, judged),
  };
}

export interface GridPoint extends FusionConfig {
  'ndcg@10_tune': number;
}

export interface GridResult {
  grid: GridPoint[];
  best: GridPoint;
}

/**
 * Scores every (w, k) of the grid by mean nDCG@10 over `tune` and returns the best. Grid order
 * is w ascending, then k ascending; a tie (within 1e-12) keeps the earlier point.
 */
export function gridSearch(
  tune: readonly JudgedLists[],
  weights: readonly number[] = VECTOR_WEIGHTS,
  ks: readonly number[] = RRF_KS,
): GridResult {
  if (tune.length === 0) throw new Error('the tune half is empty');
  if (weights.length === 0 || ks.length === 0) throw new Error('the grid is empty');
  const grid: GridPoint[] = [];
  let best: GridPoint | undefined;
  for (const w of weights) {
    for (const k of ks) {
      let sum = 0;
      // Only the top 10 matter for nDCG@10.
      for (const q of tune) sum += ndcgAt(10, fuse(q.bm25, q.vector, { w, k }, 10), q.judged);
      const point: GridPoint = { w, k, 'ndcg@10_tune': sum / tune.length };
      grid.push(point);
      if (!best || point['ndcg@10_tune'] > best['ndcg@10_tune'] + 1e-12) best = point;
    }
  }
  return { grid, best: best! };
}

/** The four rankings compared on a half: both routes alone, default fusion, tuned fusion. */
export function rankingsFor(q: RouteListRow, chosen: FusionConfig): Record<TestMode, string[]> {
  return {
    bm25: q.bm25.slice(0, DEPTH),
    vector: q.vector.slice(0, DEPTH),
    hybrid_default: fuse(q.bm25, q.vector, DEFAULT_FUSION),
    hybrid_tuned: fuse(q.bm25, q.vector, chosen),
  };
}

export interface HalfReport {
  n: number;
  /** mode → metric → per-query values, in query order (the pairing for the tests). */
  perQuery: Record<TestMode, Record<TuneMetric, number[]>>;
  /** metric → mode → mean. */
  aggregate: Record<TuneMetric, Record<TestMode, number>>;
}

export function evaluateHalf(queries: readonly JudgedLists[], chosen: FusionConfig): HalfReport {
  const perQuery = Object.fromEntries(
    TEST_MODES.map((m) => [m, Object.fromEntries(TUNE_METRICS.map((x) => [x, [] as number[]]))]),
  ) as Record<TestMode, Record<TuneMetric, number[]>>;
  for (const q of queries) {
    const rankings = rankingsFor(q, chosen);
    for (const mode of TEST_MODES) {
      const s = scoreRanking(rankings[mode], q.judged);
      for (const metric of TUNE_METRICS) perQuery[mode][metric].push(s[metric]);
    }
  }
  const aggregate = Object.fromEntries(
    TUNE_METRICS.map((metric) => [
      metric,
      Object.fromEntries(TEST_MODES.map((mode) => [mode, mean(perQuery[mode][metric])])),
    ]),
  ) as Record<TuneMetric, Record<TestMode, number>>;
  return { n: queries.length, perQuery, aggregate };
}

export interface SigEntry {
  mean_diff: number;
  ci95: [number, number];
  p_value: number;
  n: number;
}

export interface FusionSignificance {
  /** The better of bm25 / vector on the test half by mean nDCG@10. */
  best_single: 'bm25' | 'vector';
  /** `hybrid_tuned_vs_<mode>` → metric → paired comparison (positive = tuned better). */
  comparisons: Record<string, Record<TuneMetric, SigEntry>>;
  rounds: number;
  seed: number;
}

/** Tuned hybrid against bm25, vector and the default fusion on every metric of the test half. */
export function testSignificance(test: HalfReport, opts: { rounds?: number; seed?: number } = {}): FusionSignificance {
  const rounds = opts.rounds ?? SIGNIFICANCE_ROUNDS;
  const seed = opts.seed ?? SIGNIFICANCE_SEED;
  const nd = test.aggregate['ndcg@10'];
  const best_single = nd.vector > nd.bm25 ? 'vector' : 'bm25';
  const comparisons: FusionSignificance['comparisons'] = {};
  for (const base of ['bm25', 'vector', 'hybrid_default'] as const) {
    comparisons[`hybrid_tuned_vs_${base}`] = Object.fromEntries(
      TUNE_METRICS.map((metric) => {
        const c = comparePaired(test.perQuery.hybrid_tuned[metric], test.perQuery[base][metric], {
          rounds,
          seed,
          level: 0.95,
        });
        return [metric, { mean_diff: c.mean_diff, ci95: [c.ci_low, c.ci_high], p_value: c.p_value, n: c.n }];
      }),
    ) as Record<TuneMetric, SigEntry>;
  }
  return { best_single, comparisons, rounds, seed };
}

// ---------------------------------------------------------------------- the whole analysis

export interface TuneFusionAnalysis {
  split: { tune: number; test: number };
  grid: GridPoint[];
  chosen: FusionConfig;
  tune: HalfReport;
  test: HalfReport;
  significance: FusionSignificance;
}

/**
 * Evaluable queries (at least one judged product of grade > 0) with their route lists, in query
 * file order; the first `limit` of them if given. A query without lists is an error.
 */
export function attachJudgments(
  queries: readonly EvalQuery[],
  qrels: Qrels,
  lists: ReadonlyMap<string, RouteListRow>,
  limit?: number,
): { rows: JudgedLists[]; skipped: { no_judgments: number; no_relevant: number; over_limit: number } } {
  const skipped = { no_judgments: 0, no_relevant: 0, over_limit: 0 };
  const rows: JudgedLists[] = [];
  const missing: string[] = [];
  for (const q of queries) {
    const judged = qrels.get(q.id);
    if (!judged || judged.size === 0) skipped.no_judgments++;
    else if (countRelevant(judged) === 0) skipped.no_relevant++;
    else if (limit !== undefined && rows.length >= limit) skipped.over_limit++;
    else {
      const l = lists.get(q.id);
      if (!l) missing.push(q.id);
      else if (l.query !== q.query) {
        throw new Error(
          `route lists of ${q.id} are for ${JSON.stringify(l.query)}, the dataset says ${JSON.stringify(q.query)}: lists from another dataset?`,
        );
      } else rows.push({ ...l, judged });
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `${missing.length} evaluable queries have no route lists (e.g. ${missing.slice(0, 3).join(', ')}): lists from another dataset or a smaller --limit?`,
    );
  }
  return { rows, skipped };
}

export function analyzeFusion(
  rows: readonly JudgedLists[],
  seed: number,
  opts: { rounds?: number; weights?: readonly number[]; ks?: readonly number[] } = {},
): TuneFusionAnalysis {
  const { tune, test } = splitQueries(rows, seed);
  if (tune.length === 0 || test.length === 0) {
    throw new Error(
      `need queries in both halves, got tune ${tune.length} / test ${test.length} (too few queries; try another --seed)`,
    );
  }
  const { grid, best } = gridSearch(tune, opts.weights, opts.ks);
  const chosen = { w: best.w, k: best.k };
  const testReport = evaluateHalf(test, chosen);
  return {
    split: { tune: tune.length, test: test.length },
    grid,
    chosen,
    tune: evaluateHalf(tune, chosen),
    test: testReport,
    significance: testSignificance(testReport, opts.rounds !== undefined ? { rounds: opts.rounds } : {}),
  };
}

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

// -------------------------------------------------------------------- route-lists.jsonl

export const ROUTE_LISTS_FILE = 'route-lists.jsonl';
export const ROUTE_LISTS_FORMAT = 'shelf-route-lists/1';

export interface RouteListsMeta {
  format: string;
  dataset: string;
  embedder: string;
  depth: number;
  [key: string]: unknown;
}

/** First line `{"meta": {...}}`, then one `{"id","query","bm25":[...],"vector":[...]}` per query. */
export function routeListsJsonl(meta: RouteListsMeta, rows: readonly RouteListRow[]): string {
  const out = [JSON.stringify({ meta })];
  for (const r of rows) out.push(JSON.stringify({ id: r.id, query: r.query, bm25: r.bm25, vector: r.vector }));
  return out.join('\n') + '\n';
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((v) => typeof v === 'string');
}

export async function readRouteLists(path: string): Promise<{ meta: RouteListsMeta; rows: Map<string, RouteListRow> }> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let meta: RouteListsMeta | undefined;
  const rows = new Map<string, RouteListRow>();
  let n = 0;
  for await (const line of rl) {
    n++;
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      throw new Error(`${path}:${n}: not valid JSON (${(err as Error).message})`);
    }
    const o = raw as Record<string, unknown>;
    if (meta === undefined) {
      const m = o?.meta as RouteListsMeta | undefined;
      if (!m || m.format !== ROUTE_LISTS_FORMAT)
        throw new Error(`${path}:${n}: expected a {"meta": {"format": "${ROUTE_LISTS_FORMAT}", …}} header line`);
      meta = m;
      continue;
    }
    if (
      typeof o?.id !== 'string' ||
      typeof o.query !== 'string' ||
      !isStringArray(o.bm25) ||
      !isStringArray(o.vector)
    ) {
      throw new Error(`${path}:${n}: expected {"id", "query", "bm25": [ids], "vector": [ids]}`);
    }
    if (rows.has(o.id)) throw new Error(`${path}:${n}: duplicate query id ${JSON.stringify(o.id)}`);
    rows.set(o.id, { id: o.id, query: o.query, bm25: o.bm25, vector: o.vector });
  }
  if (!meta) throw new Error(`${path}: empty file`);
  return { meta, rows };
}

// --------------------------------------------------------------------------- engine wiring

export interface TuneFusionOptions {
  data: string;
  out: string;
  embedder: EmbedderSpec;
  /** An already loaded embedder to use instead of loading `embedder` (tests). Not closed here. */
  textEmbedder?: TextEmbedder;
  indexDir?: string;
  seed?: number;
  limit?: number;
  /** A route-lists.jsonl from an earlier run: no indexing, no searching. */
  lists?: string;
  /** Randomization rounds / bootstrap resamples (default 10,000). */
  rounds?: number;
  /** Test-half queries re-run through the real searcher at the chosen setting as a check (default 20). */
  checkQueries?: number;
  log?: (line: string) => void;
}

export interface TuneFusionOutput {
  analysis: TuneFusionAnalysis;
  json: Record<string, unknown>;
  files: { json: string; lists?: string };
}

interface SearcherCheck {
  queries: number;
  identical: number;
  first_difference?: string;
}

export async function runTuneFusion(opts: TuneFusionOptions): Promise<TuneFusionOutput> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const seed = opts.seed ?? 1;
  const dataDir = resolve(opts.data);
  const outDir = resolve(opts.out);
  const dataset = await readDataset(dataDir);
  for (const w of dataset.warnings) log(`warning: ${w}`);
  const datasetName = dataset.meta?.name ?? basename(dataDir);
  log(`dataset ${dataDir}: ${dataset.products.length} products, ${dataset.queries.length} queries`);

  const extras: Record<string, unknown> = {};
  let embedderId: string;
  let rowsById: Map<string, RouteListRow>;
  let check: ((rows: readonly JudgedLists[], chosen: FusionConfig) => Promise<SearcherCheck>) | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  const files: TuneFusionOutput['files'] = { json: join(outDir, 'fusion.json') };

  try {
    if (opts.lists !== undefined) {
      const listsPath = resolve(opts.lists);
      const { meta, rows } = await readRouteLists(listsPath);
      if (meta.dataset !== datasetName)
        log(`warning: the route lists were made for dataset ${meta.dataset}, not ${datasetName}`);
      embedderId = meta.embedder;
      rowsById = rows;
      extras.lists = { path: listsPath, reused: true, generated_at: meta.generated_at ?? null };
      log(`route lists from ${listsPath}: ${rows.size} queries, embedder ${embedderId}`);
    } else {
      const collected = await collectRouteLists(opts, dataset, log);
      embedderId = collected.embedderId;
      rowsById = new Map(collected.rows.map((r) => [r.id, r]));
      check = collected.check;
      cleanup = collected.close;
      extras.index = collected.index;
      extras.degraded_queries = collected.degraded;
      await mkdir(outDir, { recursive: true });
      files.lists = join(outDir, ROUTE_LISTS_FILE);
      const meta: RouteListsMeta = {
        format: ROUTE_LISTS_FORMAT,
        dataset: datasetName,
        embedder: embedderId,
        depth: DEPTH,
        dataset_dir: dataDir,
        retrieval: collected.retrieval,
        generated_at: new Date().toISOString(),
      };
      await writeFile(files.lists + '.tmp', routeListsJsonl(meta, collected.rows));
      await rename(files.lists + '.tmp', files.lists);
      extras.lists = { path: files.lists, reused: false, search_ms: Math.round(collected.took_ms) };
    }

    const { rows, skipped } = attachJudgments(dataset.queries, dataset.qrels, rowsById, opts.limit);
    log(`fusing offline: ${rows.length} queries × ${VECTOR_WEIGHTS.length * RRF_KS.length} settings …`);
    const analysis = analyzeFusion(rows, seed, opts.rounds !== undefined ? { rounds: opts.rounds } : {});

    if (check) {
      const { test } = splitQueries(rows, seed);
      const c = await check(test.slice(0, opts.checkQueries ?? 20), analysis.chosen);
      extras.searcher_check = c;
      if (c.identical !== c.queries)
        log(
          `warning: the searcher at the chosen setting differs from the offline fusion on ${c.queries - c.identical}/${c.queries} queries (${c.first_difference})`,
        );
      else
        log(
          `check: the searcher at the chosen setting returns the offline fused ranking on ${c.queries}/${c.queries} test queries`,
        );
    }

    const json = buildFusionJson(analysis, {
      dataset: datasetName,
      embedder: embedderId,
      seed,
      queries: rows.length,
      skipped_queries: skipped,
      depth: DEPTH,
      selection: 'max mean nDCG@10 on the tune half; ties keep the earlier grid point (w, then k ascending)',
      ...extras,
      generated_at: new Date().toISOString(),
    });
    await mkdir(outDir, { recursive: true });
    await writeFile(files.json, JSON.stringify(json, null, 2) + '\n');
    return { analysis, json, files };
  } finally {
    await cleanup?.();
  }
}

/** Index the catalog, run each evaluable query once per route. Keeps the searcher open for the check. */
async function collectRouteLists(
  opts: TuneFusionOptions,
  dataset: Awaited<ReturnType<typeof readDataset>>,
  log: (line: string) => void,
) {
  // Loaded lazily: the pure parts and `convert` must work without the engine's native modules.
  const { openEvalEngine } = await import('../engine.ts');
  const engine = await openEvalEngine({
    productsPath: dataset.productsPath,
    embedder: opts.embedder,
    textEmbedder: opts.textEmbedder,
    indexDir: opts.indexDir,
    retrieval: { recall_k: DEPTH },
    depth: DEPTH,
    log,
  });
  try {
    const { stats, degraded } = engine;
    const run = (q: string, route: 'bm25' | 'vector') => engine.search(q, [route]);

    // Only evaluable queries are searched (same rule and --limit as attachJudgments).
    const todo: EvalQuery[] = [];
    for (const q of dataset.queries) {
      const judged = dataset.qrels.get(q.id);
      if (!judged || countRelevant(judged) === 0) continue;
      if (opts.limit !== undefined && todo.length >= opts.limit) break;
      todo.push(q);
    }
    const first = todo[0];
    if (first) await engine.assertRoutesWork(first.query, [['bm25'], ['vector']]);
    const rows: RouteListRow[] = [];
    const started = performance.now();
    let lastLogged = started;
    for (const [i, q] of todo.entries()) {
      rows.push({ id: q.id, query: q.query, bm25: await run(q.query, 'bm25'), vector: await run(q.query, 'vector') });
      const now = performance.now();
      if (i + 1 === todo.length || now - lastLogged > 10_000) {
        lastLogged = now;
        log(`  ${i + 1}/${todo.length} queries searched (${((now - started) / 1000).toFixed(0)} s)`);
      }
    }
    const took_ms = performance.now() - started;
    engine.warnDegraded();

    /** Re-runs hybrid search through a searcher configured with `chosen` and compares with `fuse`. */
    const check = async (rowsToCheck: readonly JudgedLists[], chosen: FusionConfig): Promise<SearcherCheck> => {
      const tuned = await engine.openSearcher({
        recall_k: DEPTH,
        rrf_k: chosen.k,
        weights: { bm25: 1, vector: chosen.w },
      });
      let identical = 0;
      let first_difference: string | undefined;
      for (const r of rowsToCheck) {
        const res = await tuned.search({ q: r.query, size: DEPTH, page: 1, routes: ['bm25', 'vector'] });
        const live = res.items.map((i) => i.id);
        const offline = fuse(r.bm25, r.vector, chosen);
        if (live.length === offline.length && live.every((id, i) => id === offline[i])) identical++;
        else if (first_difference === undefined) {
          const at = live.findIndex((id, i) => id !== offline[i]);
          first_difference = `${r.id}: rank ${at < 0 ? Math.min(live.length, offline.length) + 1 : at + 1} (live ${live.length} ids, offline ${offline.length})`;
        }
      }
      return { queries: rowsToCheck.length, identical, ...(first_difference !== undefined && { first_difference }) };
    };

    return {
      embedderId: engine.embedderId,
      rows,
      took_ms,
      degraded,
      retrieval: engine.retrieval,
      index: {
        dir: engine.indexDir,
        indexed: stats.indexed,
        unchanged: stats.unchanged,
        skipped: stats.skipped,
        deleted: stats.deleted,
        took_ms: Math.round(stats.took_ms),
      },
      check,
      close: engine.close,
    };
  } catch (err) {
    await engine.close();
    throw err;
  }
}

// ---------------------------------------------------------------------------------- command

export const tuneFusionCommand: Command = {
  path: ['tune-fusion'],
  summary:
    'Choose the RRF vector weight and k for a catalog: run every judged query once per route (bm25, vector), fuse offline over a grid, pick on a seeded tune half, report on the test half. Writes OUTDIR/fusion.json and OUTDIR/route-lists.jsonl.',
  options: {
    data: ENGINE_OPTIONS.data,
    out: {
      type: 'string',
      value: 'OUTDIR',
      help: 'where to write fusion.json (and route-lists.jsonl)',
      required: true,
    },
    embedder: ENGINE_OPTIONS.embedder,
    'index-dir': ENGINE_OPTIONS['index-dir'],
    seed: { type: 'string', value: 'N', help: 'seed of the tune/test split (hash of seed and query id)', default: '1' },
    limit: { type: 'string', value: 'N', help: 'use only the first N judged queries' },
    lists: {
      type: 'string',
      value: 'FILE',
      help: 'route-lists.jsonl of an earlier run: skip indexing and searching (--embedder/--index-dir are ignored)',
    },
  },
  details: [
    `Grid: vector weight ${VECTOR_WEIGHTS.join(', ')} (bm25 weight 1) × rrf k ${RRF_KS.join(', ')}; chosen by mean nDCG@10 on the tune half.`,
    'Test half: nDCG@10, recall@100, MRR@10 of bm25, vector, hybrid at the default (w=1, k=60) and at the chosen setting;',
    'paired randomization test and bootstrap CI of tuned hybrid against each. See eval/README.md.',
  ].join('\n'),
  async run(values) {
    const seed = intOpt(values, 'seed', 0) ?? 1;
    const limit = intOpt(values, 'limit', 1);
    const lists = stringOpt(values, 'lists');
    const indexDir = stringOpt(values, 'index-dir');
    const embedderArg = stringOpt(values, 'embedder') ?? 'default';
    if (lists !== undefined && lists === '') throw new UsageError('--lists needs a file');
    const { parseEmbedderSpec } = await import('../../../core/embedding/load.ts');
    const { analysis, files } = await runTuneFusion({
      data: requiredOpt(values, 'data'),
      out: requiredOpt(values, 'out'),
      embedder: parseEmbedderSpec(embedderArg),
      seed,
      ...(indexDir !== undefined && { indexDir }),
      ...(limit !== undefined && { limit }),
      ...(lists !== undefined && { lists }),
    });
    console.log(formatFusionSummary(analysis));
    console.log(`wrote ${files.json}${files.lists ? `\n      ${files.lists}` : ''}`);
  },
};
