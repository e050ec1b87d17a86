import { describe, expect, it } from 'vitest';
import { EmbeddedBackend } from '../retrieval/index/embedded/embedded-backend.ts';
import { openIndexBackend } from '../retrieval/index/open-backend.ts';
import { ProductionBackend } from '../retrieval/index/production/production-backend.ts';
import { ConfigError, indexLocation, loadConfig } from './config.ts';

describe('index back end selection', () => {
  it('is embedded when neither server is configured', () => {
    const config = loadConfig({ SHELF_DATA_DIR: '/tmp/x' });
    expect(config.backends.elasticsearchUrl).toBeUndefined();
    expect(openIndexBackend(indexLocation(config))).toBeInstanceOf(EmbeddedBackend);
  });

  it('is Elasticsearch + Qdrant, named by the namespace, when both are', async () => {
    const config = loadConfig({
      ELASTICSEARCH_URL: 'http://127.0.0.1:9',
      QDRANT_URL: 'http://127.0.0.1:9',
      SHELF_NAMESPACE: 'shop1',
    });
    const backend = openIndexBackend(indexLocation(config));
    expect(backend).toBeInstanceOf(ProductionBackend);
    expect((backend as ProductionBackend).alias).toBe('shop1-products');
    expect(backend.dependencies().map((d) => d.name)).toEqual(['elasticsearch', 'qdrant']);
    await backend.close();
  });

  it('refuses one server without the other, saying why', () => {
    expect(() => loadConfig({ ELASTICSEARCH_URL: 'http://127.0.0.1:9200' })).toThrow(ConfigError);
    expect(() => loadConfig({ ELASTICSEARCH_URL: 'http://127.0.0.1:9200' })).toThrow(
      /ELASTICSEARCH_URL is set but QDRANT_URL is not.*set both, or neither/,
    );
    expect(() => loadConfig({ QDRANT_URL: 'http://127.0.0.1:6333' })).toThrow(
      /QDRANT_URL is set but ELASTICSEARCH_URL is not/,
    );
  });
});
