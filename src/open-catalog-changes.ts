import path from 'node:path';
import type { ImageEmbedder, TextEmbedder } from '../core/embedding/embedder.ts';
import { DirectCatalogChanges, PublishedCatalogChanges, type CatalogChangeSink } from '../indexer/change-batch.ts';
import type { IndexBackend } from '../retrieval/index/index-backend.ts';
import type { Searcher } from '../retrieval/recall/searcher.ts';
import { openIndexBackend } from '../retrieval/index/open-backend.ts';
import { indexLocation, type Settings } from './settings/schema.ts';

/**
 * Where `POST /v1/admin/catalog/changes` sends its lines. With Kafka configured (production),
 * onto the `<namespace>.catalog` topic, which the indexer's follower applies to the index (one
 * writer, in topic order, whatever the number of service instances). Otherwise straight through
 * the indexer into the served index, and the service switches to the new generation at once.
 */
export async function openCatalogChanges(
  config: Settings,
  deps: {
    backend: IndexBackend;
    searcher: Searcher;
    embedder: TextEmbedder;
    imageEmbedder?: ImageEmbedder | undefined;
  },
): Promise<CatalogChangeSink> {
  const { kafkaBrokers, namespace } = config.backends;
  if (kafkaBrokers) {
    const { KafkaCatalogChanges } = await import('../behavior/kafka/catalog-changes.ts');
    const topic = await KafkaCatalogChanges.open({ brokers: kafkaBrokers, namespace });
    const known = (ids: string[]) =>
      deps.searcher.withSnapshot(async (snap) => new Set(snap ? (await snap.text.get(ids)).keys() : []));
    return new PublishedCatalogChanges(topic, known, () => topic.close());
  }
  // The indexer's own view of the servers, without the serving path's guard: a guarded read that
  // fails answers from the products shown recently, which an update must never be merged into.
  const backend = deps.backend.kind === 'embedded' ? deps.backend : openIndexBackend(indexLocation(config));
  return new DirectCatalogChanges({
    dataDir: config.service.dataDir,
    backend,
    ...(backend !== deps.backend && { onClose: () => backend.close() }),
    embedder: deps.embedder,
    imageEmbedder: deps.imageEmbedder,
    // As `npm run index -- --follow` does: relative image paths are the catalog's.
    imageBase: config.service.catalog ? path.dirname(path.resolve(config.service.catalog)) : process.cwd(),
    afterCommit: () => deps.searcher.refresh(),
  });
}
