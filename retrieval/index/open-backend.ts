import type { Config } from '../../src/config.ts';
import { EmbeddedBackend } from './embedded/embedded-backend.ts';
import type { IndexBackend } from './index-backend.ts';
import { ProductionBackend } from './production/production-backend.ts';

/**
 * The backend the configuration names: Elasticsearch + Qdrant when both URLs are set, the
 * embedded folder otherwise (src/config.ts refuses one URL without the other). Sends nothing:
 * check `backend.dependencies()` before relying on it.
 */
export function openIndexBackend(config: Pick<Config, 'dataDir' | 'backends'>): IndexBackend {
  const b = config.backends;
  if (b.elasticsearchUrl !== undefined && b.qdrantUrl !== undefined) {
    return new ProductionBackend({
      elasticsearchUrl: b.elasticsearchUrl,
      qdrantUrl: b.qdrantUrl,
      qdrantApiKey: b.qdrantApiKey,
      namespace: b.namespace,
    });
  }
  return new EmbeddedBackend(config.dataDir);
}
