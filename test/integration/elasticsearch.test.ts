import { Client } from '@elastic/elasticsearch';
import { textStoreConformance } from '../conformance/stores.ts';
import { ElasticsearchTextStore } from '../../retrieval/elasticsearch/es-text-store.ts';

/** The TextStore conformance suite against a real Elasticsearch (scripts/servers/elasticsearch.sh). */
const node = process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';

textStoreConformance(`Elasticsearch at ${node}`, () => {
  const alias = `shelf-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    open: () => ElasticsearchTextStore.open({ node, alias }),
    reopen: async (store) => {
      await store.close();
      return ElasticsearchTextStore.open({ node, alias });
    },
    cleanup: async () => {
      const admin = new Client({ node });
      await admin.indices.delete({ index: `${alias}-*`, ignore_unavailable: true });
      await admin.close();
    },
  };
});
