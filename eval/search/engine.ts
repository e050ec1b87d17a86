/**
 * The engine side every eval command shares: load the embedder, index the dataset's catalog
 * into a folder (a temp one unless the caller keeps it), open the real searcher, and search
 * route by route while counting degraded answers. Imported lazily by the commands, so the
 * pure parts of eval/ and `convert` never load native modules.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { indexCatalog, type IndexSummary } from '../../indexer/index-catalog.ts';
import type { RetrievalConfig, RetrievalConfigInput } from '../../retrieval/index/config.ts';
import { openSearcher, type Searcher } from '../../retrieval/recall/searcher.ts';
import type { RouteName } from '../../retrieval/index/types.ts';
import type { TextEmbedder } from '../../core/embedding/embedder.ts';
import { loadTextEmbedder, type EmbedderSpec } from '../../core/embedding/load.ts';

export interface EvalEngineOptions {
  productsPath: string;
  embedder: EmbedderSpec;
  /** An already loaded embedder to use instead of loading `embedder`; not closed here. */
  textEmbedder?: TextEmbedder | undefined;
  /** Index folder to (re)use; default a temp folder, removed on close. */
  indexDir?: string | undefined;
  retrieval: RetrievalConfigInput;
  /** Results per search. */
  depth: number;
  log: (line: string) => void;
}

export interface EvalEngine {
  embedderId: string;
  indexDir: string;
  stats: IndexSummary;
  retrieval: RetrievalConfig;
  /** Ids of the top `depth` results through the given routes; degraded answers are counted. */
  search(q: string, routes: RouteName[]): Promise<string[]>;
  /** Route combination ("bm25+vector") → number of degraded answers. */
  degraded: Record<string, number>;
  /** Fails when any route combination degrades on this query: a route that never ran must not be reported. */
  assertRoutesWork(q: string, routeSets: RouteName[][]): Promise<void>;
  /** A further searcher on the same index with other settings; closed with the engine. */
  openSearcher(retrieval: RetrievalConfigInput): Promise<Searcher>;
  /** Logs the first reasons when anything degraded. */
  warnDegraded(): void;
  close(): Promise<void>;
}

export async function openEvalEngine(opts: EvalEngineOptions): Promise<EvalEngine> {
  const { log } = opts;
  const embedder = opts.textEmbedder ?? (await loadTextEmbedder(opts.embedder));
  const ownIndex = opts.indexDir === undefined;
  const indexDir =
    opts.indexDir !== undefined ? resolve(opts.indexDir) : await mkdtemp(join(tmpdir(), 'shelf-eval-index-'));
  const searchers: Searcher[] = [];
  const close = async () => {
    for (const s of searchers) await s.close();
    if (!opts.textEmbedder) await embedder.close?.();
    if (ownIndex) await rm(indexDir, { recursive: true, force: true });
  };
  try {
    log(`indexing into ${indexDir} with embedder ${embedder.id} …`);
    const stats = await indexCatalog({ catalogPath: opts.productsPath, dataDir: indexDir, embedder });
    log(
      `indexed ${stats.indexed}, unchanged ${stats.unchanged}, skipped ${stats.skipped}, deleted ${stats.deleted} in ${Math.round(stats.took_ms)} ms`,
    );
    if (stats.skipped > 0)
      log(`warning: the indexer skipped ${stats.skipped} products; their judgments can never be retrieved`);

    const open = async (retrieval: RetrievalConfigInput) => {
      const s = await openSearcher({ dataDir: indexDir, embedder, retrieval });
      searchers.push(s);
      return s;
    };
    const searcher = await open(opts.retrieval);
    const degraded: Record<string, number> = {};
    const reasons = new Set<string>();
    const search = async (q: string, routes: RouteName[]): Promise<string[]> => {
      const res = await searcher.search({ q, size: opts.depth, page: 1, routes });
      if (res.degraded && res.degraded.length > 0) {
        const key = routes.join('+');
        degraded[key] = (degraded[key] ?? 0) + 1;
        for (const d of res.degraded) reasons.add(`${d.route}: ${d.reason}`);
      }
      return res.items.map((i) => i.id);
    };
    return {
      embedderId: embedder.id,
      indexDir,
      stats,
      retrieval: searcher.config,
      search,
      degraded,
      async assertRoutesWork(q, routeSets) {
        for (const routes of routeSets) await search(q, routes);
        if (Object.keys(degraded).length > 0)
          throw new Error(`a retrieval route fails on the first query: ${[...reasons].join('; ')}`);
      },
      openSearcher: open,
      warnDegraded() {
        if (Object.keys(degraded).length > 0) {
          log(
            `warning: degraded results (a route failed) for ${JSON.stringify(degraded)}: ${[...reasons].slice(0, 3).join('; ')}`,
          );
        }
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
