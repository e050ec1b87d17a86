import type { ImageEmbedder, TextEmbedder } from '../src/embedding/embedder.ts';
import { RetrievalConfigSchema, type RetrievalConfig, type RetrievalConfigInput } from './config.ts';
import { EmbeddedSnapshot, currentGeneration } from './embedded/generation.ts';
import { hybridSearch } from './hybrid.ts';
import type { SearchQuery, SearchResult } from './types.ts';

export interface Searcher {
  search(query: SearchQuery): Promise<SearchResult>;
  /** Switches to a newer index generation if the indexer committed one; true if it did. */
  refresh(): Promise<boolean>;
  readonly generation: string | undefined;
  readonly config: RetrievalConfig;
  close(): Promise<void>;
}

export interface SearcherOptions {
  dataDir: string;
  embedder: TextEmbedder | undefined;
  /** Queries the image vectors when the index has them. */
  imageEmbedder?: ImageEmbedder | undefined;
  retrieval?: RetrievalConfigInput;
}

/** A searcher over the embedded index in `dataDir`, following the indexer's generations. */
export async function openSearcher(opts: SearcherOptions): Promise<Searcher> {
  const config = RetrievalConfigSchema.parse(opts.retrieval ?? {});
  let snapshot = EmbeddedSnapshot.open(opts.dataDir, { hnsw: config.hnsw, bm25Match: config.bm25_match });
  let inFlight = 0;
  const retired: EmbeddedSnapshot[] = [];

  const closeRetired = async () => {
    // Close old generations only once no search is using them.
    if (inFlight > 0) return;
    while (retired.length > 0) await retired.pop()!.close();
  };

  return {
    config,
    get generation() {
      return snapshot?.generation;
    },
    async search(query) {
      const snap = snapshot;
      inFlight++;
      try {
        return await hybridSearch(snap, { text: opts.embedder, image: opts.imageEmbedder }, query, config);
      } finally {
        inFlight--;
        if (retired.length > 0) await closeRetired();
      }
    },
    async refresh() {
      const gen = currentGeneration(opts.dataDir);
      if (gen === undefined || gen === snapshot?.generation) return false;
      const next = EmbeddedSnapshot.open(opts.dataDir, { hnsw: config.hnsw, bm25Match: config.bm25_match });
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
