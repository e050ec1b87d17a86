import type { ImageEmbedder, TextEmbedder } from '../../core/embedding/embedder.ts';
import { RetrievalConfigSchema, type RetrievalConfig, type RetrievalConfigInput } from '../index/config.ts';
import { EmbeddedBackend } from '../index/embedded/embedded-backend.ts';
import { hybridSearch, type Embedders } from './hybrid.ts';
import type { IndexBackend } from '../index/index-backend.ts';
import type { IndexSnapshot, SnapshotSource } from '../index/stores.ts';
import type { SearchQuery, SearchResult } from '../index/types.ts';

export interface Searcher extends SnapshotSource {
  search(query: SearchQuery): Promise<SearchResult>;
  /** Runs `fn` on the served snapshot, which stays open until `fn` settles (feed, similar items). */
  withSnapshot<T>(fn: (snapshot: IndexSnapshot | undefined) => Promise<T>): Promise<T>;
  /** Switches to a newer index generation if the indexer committed one; true if it did. */
  refresh(): Promise<boolean>;
  readonly generation: string | undefined;
  readonly config: RetrievalConfig;
  /** The query-side models recall embeds queries with. */
  readonly embedders: Embedders;
  close(): Promise<void>;
}

export interface SearcherOptions {
  /** Where the index lives; the caller keeps ownership. Default: the embedded index in `dataDir`. */
  backend?: IndexBackend;
  /** The embedded index folder, when no `backend` is given. */
  dataDir?: string;
  embedder: TextEmbedder | undefined;
  /** Queries the image vectors when the index has them. */
  imageEmbedder?: ImageEmbedder | undefined;
  retrieval?: RetrievalConfigInput;
}

/**
 * A searcher over the served index, following the indexer's switches: refresh() looks for a
 * new generation (embedded: the CURRENT file; production: the index behind the alias, whose
 * metadata names the embedder) and opens it beside the old one.
 */
export async function openSearcher(opts: SearcherOptions): Promise<Searcher> {
  const config = RetrievalConfigSchema.parse(opts.retrieval ?? {});
  if (!opts.backend && opts.dataDir === undefined) throw new Error('openSearcher needs a backend or a dataDir');
  const backend = opts.backend ?? new EmbeddedBackend(opts.dataDir!);
  const open = async () => {
    const snap = await backend.openSnapshot({ retrieval: config });
    // Facet columns and sort orders are built before the generation is swapped in, not by its first search.
    await snap?.text.warm?.();
    return snap;
  };
  let snapshot: IndexSnapshot | undefined = await open();
  let inFlight = 0;
  const retired: IndexSnapshot[] = [];

  const closeRetired = async () => {
    // Close old generations only once no search is using them.
    if (inFlight > 0) return;
    while (retired.length > 0) await retired.pop()!.close();
  };

  const withSnapshot = async <T>(fn: (snap: IndexSnapshot | undefined) => Promise<T>): Promise<T> => {
    const snap = snapshot;
    inFlight++;
    try {
      return await fn(snap);
    } finally {
      inFlight--;
      if (retired.length > 0) await closeRetired();
    }
  };

  const embedders: Embedders = { text: opts.embedder, image: opts.imageEmbedder };
  return {
    config,
    embedders,
    get generation() {
      return snapshot?.generation;
    },
    withSnapshot,
    search(query) {
      return withSnapshot((snap) => hybridSearch(snap, embedders, query, config));
    },
    async refresh() {
      const gen = await backend.currentGeneration();
      if (gen === undefined || gen === snapshot?.generation) return false;
      const next = await open();
      if (!next) return false;
      if (snapshot) retired.push(snapshot);
      snapshot = next;
      await closeRetired();
      return true;
    },
    async close() {
      await snapshot?.close();
      snapshot = undefined;
      while (retired.length > 0) await retired.pop()!.close();
    },
  };
}
