/**
 * The route lists of `tune-fusion`: every evaluable query run once per route (bm25, vector) through
 * the real searcher, and the route-lists.jsonl cache that lets a rerun skip indexing and searching.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { EmbedderSpec } from '../../../core/embedding/load.ts';
import type { TextEmbedder } from '../../../core/embedding/embedder.ts';
import type { EvalQuery, readDataset } from '../datasets.ts';
import { countRelevant } from '../../kit/metrics.ts';
import { DEPTH, fuse, type FusionConfig, type JudgedLists, type RouteListRow } from './grid.ts';

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

export interface SearcherCheck {
  queries: number;
  identical: number;
  first_difference?: string;
}

/** Index the catalog, run each evaluable query once per route. Keeps the searcher open for the check. */
/** What collecting the route lists needs (a subset of the tune-fusion options). */
export interface CollectOptions {
  embedder: EmbedderSpec;
  /** An already loaded embedder to use instead of loading `embedder` (tests). Not closed here. */
  textEmbedder?: TextEmbedder;
  indexDir?: string;
  limit?: number;
}

export async function collectRouteLists(
  opts: CollectOptions,
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
        // tune-fusion searches plain weighted RRF; the adaptive default is measured by `eval search`.
        fusion: { mode: 'rrf' },
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
