import { Client } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { textStoreConformance, type StoreHarness } from '../conformance/stores.ts';
import type { TextStore } from '../../retrieval/index/stores.ts';
import { lexicalConformance } from '../conformance/lexical.ts';
import { synonymStoreConformance } from '../conformance/synonym-store.ts';
import { ElasticsearchSynonymStore } from '../../retrieval/index/elasticsearch/es-synonym-store.ts';
import { ElasticsearchTextStore } from '../../retrieval/index/elasticsearch/es-text-store.ts';

/** The TextStore conformance suite against a real Elasticsearch (scripts/servers/elasticsearch.sh). */
const node = process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';

const esHarness = (): StoreHarness<TextStore> => {
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
      await admin.indices.deleteIndexTemplate({ name: alias }).catch(() => {});
      await admin.close();
    },
  };
};
textStoreConformance(`Elasticsearch at ${node}`, esHarness);
lexicalConformance(`Elasticsearch at ${node}`, esHarness);

describe(`Elasticsearch index template at ${node}`, () => {
  it('gives every index of an alias the analyzers and fields from one template', async () => {
    const alias = `shelf-test-tpl-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const admin = new Client({ node });
    try {
      const store = await ElasticsearchTextStore.open({ node, alias });
      await store.close();
      const { index_templates } = await admin.indices.getIndexTemplate({ name: alias });
      expect(index_templates[0]!.index_template.index_patterns).toEqual([`${alias}-*`]);
      const indices = Object.keys(await admin.indices.get({ index: alias }));
      expect(indices).toHaveLength(1);
      const mapping = (await admin.indices.getMapping({ index: indices[0]! }))[indices[0]!]!.mappings;
      expect(mapping.properties!['title']).toMatchObject({ type: 'text', analyzer: 'cjk' });
      expect(mapping.properties!['brand_key']).toMatchObject({ type: 'keyword' });
    } finally {
      await admin.indices.delete({ index: `${alias}-*`, ignore_unavailable: true });
      await admin.indices.deleteIndexTemplate({ name: alias }).catch(() => {});
      await admin.close();
    }
  });
});

synonymStoreConformance(`Elasticsearch at ${node}`, () => {
  const namespace = `shelf-test-syn-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    open: () => ElasticsearchSynonymStore.open({ node, namespace }),
    reopen: async (store) => {
      await store.close();
      return ElasticsearchSynonymStore.open({ node, namespace });
    },
    cleanup: async () => {
      const admin = new Client({ node });
      await admin.indices.delete({ index: `${namespace}-synonyms`, ignore_unavailable: true });
      await admin.close();
    },
  };
});
