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
 * without the engine; `runTuneFusion` loads the embedder, indexer and searcher lazily;
 * the pieces: grid.ts (settings, offline fusion), split.ts (tune/test halves), choose.ts (the choice
 * on the tune half, the test-half report), route-lists.ts (searching and caching the route lists),
 * report.ts (fusion.json, console), command.ts (the CLI entry).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { readDataset } from '../datasets.ts';
import { DEPTH, RRF_KS, VECTOR_WEIGHTS, type FusionConfig, type JudgedLists, type RouteListRow } from './grid.ts';
import { splitQueries } from './split.ts';
import { analyzeFusion, attachJudgments, type TuneFusionAnalysis } from './choose.ts';
import { buildFusionJson } from './report.ts';
import {
  ROUTE_LISTS_FILE,
  ROUTE_LISTS_FORMAT,
  collectRouteLists,
  readRouteLists,
  routeListsJsonl,
  type CollectOptions,
  type RouteListsMeta,
  type SearcherCheck,
} from './route-lists.ts';

// --------------------------------------------------------------------------- engine wiring

export interface TuneFusionOptions extends CollectOptions {
  data: string;
  out: string;
  seed?: number;
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
