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
  /**
   * Search fusion (retrieval/recall/fusion.ts). `score`: BM25 over the query's best BM25 plus cosine
   * similarity; `adaptive_rrf`: weighted RRF; both scale the vector route's weight by the query's
   * lexical evidence and each BM25 hit's vote by its term coverage. `rrf`: plain weighted RRF.
   * Defaults chosen on the Home Depot development split's tune half (docs/BENCHMARKS.md).
   */
  fusion: z
    .object({
      mode: z.enum(['score', 'adaptive_rrf', 'rrf']).default('score'),
      /** Vector weight multiplier when some product holds every query term. */
      all_terms: z.number().nonnegative().default(0.3),
      /** Vector weight multiplier when products hold only some of the terms. */
      some_terms: z.number().nonnegative().default(0.3),
      /** A BM25 hit's vote is scaled by coverage^coverage_power (0: every hit votes fully). */
      coverage_power: z.number().nonnegative().default(1),
    })
    .prefault({}),
  /** What counts as a match (search's `total`, zero results): retrieval/recall/match-set.ts. */
  match: z
    .object({
      /** Cosine a vector-only hit needs to match; unset: the text model's calibrated threshold. */
      min_similarity: z.number().min(-1).max(1).optional(),
    })
    .prefault({}),
  /** How BM25 matches multi-word queries; see retrieval/index/embedded/sqlite-text-store.ts. */
  bm25_match: z.enum(['and_first', 'or']).default('and_first'),
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
export type FusionConfig = RetrievalConfig['fusion'];
export type RetrievalConfigInput = z.input<typeof RetrievalConfigSchema>;
