/**
 * The CLI wiring of the search eval: load the embedder, index the dataset's catalog with the
 * real indexer, open the real searcher and run `runSearchEval` through it, then write
 * OUTDIR/search.json, OUTDIR/search-queries.tsv and OUTDIR/search.html.
 *
 * Kept apart from eval/search-eval.ts so the core and its tests never load the engine.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { EmbedderSpec } from '../../core/embedding/load.ts';
import type { RetrievalConfigInput } from '../../retrieval/index/config.ts';
import type { TextEmbedder } from '../../core/embedding/embedder.ts';
import { readDataset } from './datasets.ts';
import { openEvalEngine } from './engine.ts';
import {
  DEFAULT_MODES,
  SEARCH_DEPTH,
  buildSearchJson,
  perQueryTsv,
  runSearchEval,
  significance,
  type Modes,
  type SearchEvalResult,
} from './evaluate.ts';
import { renderSearchReport } from './report.ts';

export type { EmbedderSpec };

export interface SearchEvalRunOptions {
  /** Dataset directory: products.jsonl, queries.tsv, qrels.tsv (+ dataset.json). */
  data: string;
  /** Output directory for search.json, search-queries.tsv, search.html. */
  out: string;
  embedder: EmbedderSpec;
  /** An already loaded embedder to use instead of loading `embedder` (tests, notebooks). Not closed here. */
  textEmbedder?: TextEmbedder;
  /** Index directory to (re)use; incremental indexing makes a second run cheap. Default: a temp dir, removed afterwards. */
  indexDir?: string;
  /** Evaluate only the first N evaluable queries. */
  limit?: number;
  /**
   * A file naming the queries to score (the first tab- or space-separated column of each line is a
   * query id: a queries.tsv, or the trainer's heldout-queries.tsv); the others are left out.
   */
  queriesFrom?: string;
  modes?: Modes;
  /** Retrieval knobs passed to the searcher (rrf_k, weights, hnsw …); recall_k is raised to at least 100. */
  retrieval?: RetrievalConfigInput;
  /** Progress and warnings; default stderr. */
  log?: (line: string) => void;
}

export interface SearchEvalRunOutput {
  result: SearchEvalResult;
  json: Record<string, unknown>;
  files: { json: string; tsv: string; html: string };
}

export async function runSearchEvalOnDir(opts: SearchEvalRunOptions): Promise<SearchEvalRunOutput> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const dataDir = resolve(opts.data);
  const outDir = resolve(opts.out);
  const modes = opts.modes ?? DEFAULT_MODES;

  const dataset = await readDataset(dataDir);
  for (const w of dataset.warnings) log(`warning: ${w}`);
  if (opts.queriesFrom !== undefined) {
    const ids = await readQueryIds(opts.queriesFrom);
    const known = new Set(dataset.queries.map((q) => q.id));
    const unknown = [...ids].filter((id) => !known.has(id));
    if (unknown.length === ids.size)
      throw new Error(`${opts.queriesFrom}: none of its ${ids.size} query ids is in ${dataDir}/queries.tsv`);
    if (unknown.length > 0)
      log(`warning: ${unknown.length} query ids of ${opts.queriesFrom} are not in the data set (e.g. ${unknown[0]})`);
    dataset.queries = dataset.queries.filter((q) => ids.has(q.id));
    log(`scoring only the ${dataset.queries.length} queries named by ${opts.queriesFrom}`);
  }
  log(`dataset ${dataDir}: ${dataset.products.length} products, ${dataset.queries.length} queries`);

  const engine = await openEvalEngine({
    productsPath: dataset.productsPath,
    embedder: opts.embedder,
    textEmbedder: opts.textEmbedder,
    indexDir: opts.indexDir,
    retrieval: { ...opts.retrieval, recall_k: Math.max(SEARCH_DEPTH, opts.retrieval?.recall_k ?? 0) },
    depth: SEARCH_DEPTH,
    log,
  });
  try {
    const { stats, degraded, search } = engine;
    // Warm-up (model load, caches) outside the timed loop; stops on a route that never works.
    const first = dataset.queries[0];
    if (first) await engine.assertRoutesWork(first.query, Object.values(modes));

    let lastLogged = 0;
    const started = performance.now();
    const result = await runSearchEval({
      queries: dataset.queries,
      qrels: dataset.qrels,
      search,
      modes,
      limit: opts.limit,
      onProgress(done, total) {
        const now = performance.now();
        if (done === total || now - lastLogged > 5000) {
          lastLogged = now;
          log(`  ${done}/${total} queries (${((now - started) / 1000).toFixed(0)} s)`);
        }
      },
    });
    engine.warnDegraded();

    const sig = significance(result);
    const datasetName = dataset.meta?.name ?? basename(dataDir);
    const json = buildSearchJson(
      result,
      {
        embedder: engine.embedderId,
        dataset: datasetName,
        dataset_dir: dataDir,
        ...(opts.queriesFrom !== undefined && { queries_from: resolve(opts.queriesFrom) }),
        weak_labels: dataset.meta?.weak_labels ?? null,
        grades: dataset.meta?.grades ?? null,
        modes,
        search_depth: SEARCH_DEPTH,
        retrieval: engine.retrieval,
        index: {
          indexed: stats.indexed,
          unchanged: stats.unchanged,
          skipped: stats.skipped,
          deleted: stats.deleted,
          took_ms: Math.round(stats.took_ms),
        },
        degraded_queries: degraded,
        generated_at: new Date().toISOString(),
      },
      sig,
    );

    await mkdir(outDir, { recursive: true });
    const files = {
      json: join(outDir, 'search.json'),
      tsv: join(outDir, 'search-queries.tsv'),
      html: join(outDir, 'search.html'),
    };
    await writeFile(files.json, JSON.stringify(json, null, 2) + '\n');
    await writeFile(files.tsv, perQueryTsv(result));
    await writeFile(
      files.html,
      await renderSearchReport(result, {
        dataset: datasetName,
        datasetDescription: dataset.meta?.description,
        grades: dataset.meta?.grades,
        weakLabels: dataset.meta?.weak_labels === true,
        embedder: engine.embedderId,
        generatedAt: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
        titles: new Map(dataset.products.map((p) => [p.id, p.title])),
        qrels: dataset.qrels,
        significance: sig,
        ...(opts.retrieval && { retrieval: opts.retrieval }),
      }),
    );
    return { result, json, files };
  } finally {
    await engine.close();
  }
}

/** One-paragraph console summary of a run. */
export function formatRunSummary(json: Record<string, unknown>): string {
  const lines: string[] = [];
  const metrics = ['ndcg@10', 'recall@100', 'mrr@10'];
  const first = json['ndcg@10'] as Record<string, number>;
  const modes = Object.keys(first);
  lines.push(['metric'.padEnd(12), ...modes.map((m) => m.padStart(9))].join(''));
  for (const m of metrics) {
    const row = json[m] as Record<string, number>;
    lines.push([m.padEnd(12), ...modes.map((mode) => (row[mode] ?? NaN).toFixed(4).padStart(9))].join(''));
  }
  lines.push(`queries: ${String(json.queries)}`);
  const gain = json.hybrid_vs_best_single as
    { best_single: string; abs_diff: number; rel_pct: number; beats_best_single: boolean } | undefined;
  const sig = json.significance as Record<string, { p_value?: number; ci95?: [number, number] }> | undefined;
  if (gain) {
    const s = sig?.[`hybrid_vs_${gain.best_single}`];
    lines.push(
      `hybrid vs best single route (${gain.best_single}) on nDCG@10: ${gain.abs_diff >= 0 ? '+' : ''}${gain.abs_diff.toFixed(4)} (${
        gain.rel_pct >= 0 ? '+' : ''
      }${gain.rel_pct.toFixed(2)}%)${s?.p_value !== undefined ? `, p = ${s.p_value}` : ''}${
        s?.ci95 ? `, 95% CI [${s.ci95[0].toFixed(4)}, ${s.ci95[1].toFixed(4)}]` : ''
      }${gain.beats_best_single ? '' : '  ← hybrid does NOT beat the best single route'}`,
    );
  }
  return lines.join('\n');
}

/** Query ids named by a file: the first column (tab or space separated) of each non-blank line; `query_id` headers skipped. */
export async function readQueryIds(file: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const line of (await readFile(file, 'utf8')).replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const id = line.split(/[\t ]/, 1)[0]!.trim();
    if (id !== '' && id !== 'query_id') ids.add(id);
  }
  if (ids.size === 0) throw new Error(`${file}: names no query id`);
  return ids;
}
