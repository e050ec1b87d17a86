import { z } from 'zod';
import { DEFAULT_HNSW } from './embedded/hnsw-vector-store.ts';

/** Retrieval knobs; mounted at `retrieval` in the settings tree (src/settings/) and passed down. */
export const RetrievalConfigSchema = z.object({
  /** RRF constant: larger flattens the advantage of top ranks. */
  rrf_k: z.number().nonnegative().default(60),
  weights: z
    .object({
      bm25: z.number().nonnegative().default(1),
      vector: z.number().nonnegative().default(1),
      image: z.number().nonnegative().default(0.5),
    })
    .prefault({}),
  /** How BM25 matches multi-word queries; see retrieval/index/embedded/sqlite-text-store.ts. */
  bm25_match: z.enum(['and_first', 'or']).default('and_first'),
  /**
   * Vector hits below this cosine similarity are left out of search. A query with no lexical
   * match (保暖外套 on a catalog without coats) still has nearest neighbours, and without a floor
   * they are whatever is least far: toy cars. Unset: the embedder's own floor
   * (TextEmbedder.minRelevantSimilarity: 0.25 for the shipped n-gram model, none for others);
   * -1: no floor.
   */
  vector_min_score: z.number().min(-1).max(1).optional(),
  /** Candidates each route returns before fusion. */
  recall_k: z.number().int().min(1).max(10_000).default(100),
  hnsw: z
    .object({
      m: z.number().int().min(4).max(128).default(DEFAULT_HNSW.m),
      efConstruction: z.number().int().min(10).default(DEFAULT_HNSW.efConstruction),
      efSearch: z.number().int().min(10).default(DEFAULT_HNSW.efSearch),
      exactScanShare: z.number().min(0).max(1).default(DEFAULT_HNSW.exactScanShare),
    })
    .prefault({}),
});

export type RetrievalConfig = z.output<typeof RetrievalConfigSchema>;
export type RetrievalConfigInput = z.input<typeof RetrievalConfigSchema>;
