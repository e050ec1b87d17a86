import { hnswSequenceIndexes } from './embedded/hnsw-sequence-items.ts';
import { qdrantClient } from './qdrant/qdrant-vector-store.ts';
import { qdrantSequenceIndexes } from './qdrant/qdrant-sequence-items.ts';
import type { SequenceIndexOptions, SequenceItemIndex, SequenceItemIndexes } from './sequence-items.ts';
import { guardByPlan, type DependencyGuards, type GuardPlan } from '../../core/dependency-guard.ts';
import { SqliteSynonymStore } from './embedded/sqlite-synonym-store.ts';
import { ElasticsearchSynonymStore } from './elasticsearch/es-synonym-store.ts';
import type { SynonymStore } from './synonyms.ts';
import { EmbeddedBackend } from './embedded/embedded-backend.ts';
import type { IndexBackend } from './index-backend.ts';
import { ProductionBackend } from './production/production-backend.ts';

/** Where the index lives: the embedded folder, or the production servers when both URLs are set. */
export interface IndexLocation {
  dataDir: string;
  backends: {
    namespace: string;
    elasticsearchUrl?: string | undefined;
    qdrantUrl?: string | undefined;
    qdrantApiKey?: string | undefined;
  };
}

/**
 * The backend the configuration names: Elasticsearch + Qdrant when both URLs are set, the
 * embedded folder otherwise (the settings refuse one URL without the other). Sends nothing:
 * check `backend.dependencies()` before relying on it.
 */
export function openIndexBackend(
  config: IndexLocation,
  /**
   * The serving path's budgets and breakers for the servers' reads: snapshot reads and the
   * generation check. None for the indexer: its writes retry on their own, and it reads every
   * product's hash at once, which is no request's budget.
   */
  guards?: Pick<DependencyGuards, 'elasticsearch' | 'qdrant'>,
): IndexBackend {
  const b = config.backends;
  if (b.elasticsearchUrl !== undefined && b.qdrantUrl !== undefined) {
    return new ProductionBackend({
      elasticsearchUrl: b.elasticsearchUrl,
      qdrantUrl: b.qdrantUrl,
      qdrantApiKey: b.qdrantApiKey,
      namespace: b.namespace,
      guards,
    });
  }
  return new EmbeddedBackend(config.dataDir);
}

/**
 * Every search reads the synonym set (at most once a second): with `guards`, a frozen
 * Elasticsearch costs it the Elasticsearch budget, not the client's own retries and time-out.
 */
const SYNONYM_PLAN: GuardPlan<SynonymStore> = { get: true, put: true, clear: true, close: false };

/** Where the shop's synonyms live: beside the index (an Elasticsearch document, or the embedded folder). */
export async function openSynonymStore(
  config: IndexLocation,
  guards?: Pick<DependencyGuards, 'elasticsearch'>,
): Promise<SynonymStore> {
  const b = config.backends;
  if (b.elasticsearchUrl !== undefined && b.qdrantUrl !== undefined) {
    const store = await ElasticsearchSynonymStore.open({ node: b.elasticsearchUrl, namespace: b.namespace });
    return guards ? guardByPlan<SynonymStore>(store, guards.elasticsearch, SYNONYM_PLAN) : store;
  }
  return new SqliteSynonymStore(config.dataDir);
}

/**
 * The serving reads of a sequence item index keep the Qdrant budget; filling and counting run
 * when a model loads (the engine's own time-outs), as the text store's writes do.
 */
const SEQUENCE_PLAN: GuardPlan<SequenceItemIndex> = {
  search: true,
  vectorsOf: true,
  upsert: false,
  count: false,
  close: false,
};

/**
 * Where the sequence model's item embeddings are indexed: beside the catalog's vectors, in a
 * Qdrant collection per model version (named vector `sequence`) in production, in memory
 * (hnswlib) embedded. The serving reads go through the Qdrant budget and breaker.
 */
export function openSequenceItemIndexes(
  config: IndexLocation,
  guards?: Pick<DependencyGuards, 'qdrant'>,
  search: SequenceIndexOptions = {},
): SequenceItemIndexes {
  const b = config.backends;
  if (b.elasticsearchUrl !== undefined && b.qdrantUrl !== undefined) {
    const guard = guards?.qdrant;
    return qdrantSequenceIndexes({
      client: qdrantClient({ url: b.qdrantUrl, apiKey: b.qdrantApiKey, timeoutMs: 30_000 }),
      namespace: b.namespace,
      ...search,
      ...(guard && {
        guard: <T extends SequenceItemIndex>(index: T) =>
          guardByPlan<SequenceItemIndex>(index, guard, SEQUENCE_PLAN) as T,
      }),
    });
  }
  return hnswSequenceIndexes(search);
}
