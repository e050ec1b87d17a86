import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaEventLog } from '../../behavior/kafka/kafka-event-log.ts';
import type { ServedEntry } from '../../behavior/served-log.ts';
import { indexCatalog } from '../../indexer/index-catalog.ts';
import { collectionsWithPrefix, dropCollection } from '../../retrieval/index/qdrant/qdrant-aliases.ts';
import { qdrantClient } from '../../retrieval/index/qdrant/qdrant-vector-store.ts';
import { ProductionBackend } from '../../retrieval/index/production/production-backend.ts';
import { openSearcher, type Searcher } from '../../retrieval/recall/searcher.ts';
import { SuggestConfigSchema } from '../../retrieval/recall/suggest/config.ts';
import { Suggester } from '../../retrieval/recall/suggest/suggester.ts';
import { ROOT } from '../../src/config.ts';
import { tempDir, writeJsonl } from '../helpers/catalog.ts';
import { HashEmbedder } from '../helpers/embedders.ts';

/**
 * Suggestions on the production back ends: the catalog read from Elasticsearch (+ Qdrant) gives
 * the same completions as the embedded index of the same catalog, a new generation behind the
 * alias is followed, and popular queries come from the served log on Kafka.
 */
const node = process.env.ELASTICSEARCH_URL;
const qdrant = process.env.QDRANT_URL;
const brokers = process.env.KAFKA_BROKERS?.split(',');
if (!node || !qdrant || !brokers)
  throw new Error('ELASTICSEARCH_URL, QDRANT_URL and KAFKA_BROKERS must be set (scripts/test-integration.sh)');

const catalog = path.join(ROOT, 'data/demo/catalog.jsonl');
const namespace = `sg${process.pid}${Math.random().toString(36).slice(2, 7)}`;
const embedder = new HashEmbedder();
const config = SuggestConfigSchema.parse({ min_query_count: 2 });
let backend: ProductionBackend;
let production: Searcher;
let embedded: Searcher;
const suggesters: Suggester[] = [];
const started = async (s: Suggester) => {
  suggesters.push(s);
  await s.start();
  return s;
};

beforeAll(async () => {
  backend = new ProductionBackend({ elasticsearchUrl: node, qdrantUrl: qdrant, namespace });
  await indexCatalog({ catalogPath: catalog, dataDir: tempDir(), backend, embedder });
  production = await openSearcher({ backend, embedder });
  const dataDir = path.join(tempDir(), 'data');
  await indexCatalog({ catalogPath: catalog, dataDir, embedder });
  embedded = await openSearcher({ dataDir, embedder });
}, 300_000);

afterAll(async () => {
  for (const s of suggesters) await s.close();
  await production?.close();
  await embedded?.close();
  await backend?.close();
  const admin = new Client({ node });
  await admin.indices.delete({
    index: [`${namespace}-products*`, `${namespace}-locks`],
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  await admin.close();
  const q = qdrantClient({ url: qdrant });
  for (const c of await collectionsWithPrefix(q, `${namespace}-products`)) await dropCollection(q, c);
});

describe('suggestions from Elasticsearch + Qdrant and the Kafka served log', () => {
  it('the catalog read from Elasticsearch completes exactly as the embedded index of the same catalog', async () => {
    const fromEs = await started(new Suggester({ config, index: production }));
    const fromSqlite = await started(new Suggester({ config, index: embedded }));
    expect(fromEs.generation).toBe(production.generation);
    for (const q of ['run', 'sh', 'wire', 'head', 'no', 'CAFE', '跑步', '小', '保暖', 'adid']) {
      const es = fromEs.suggest(q, 10).suggestions;
      expect(es, q).toEqual(fromSqlite.suggest(q, 10).suggestions);
      if (q === 'run') expect(es.length).toBeGreaterThan(0);
    }
  });

  it('follows catalog writes the production index takes in place (same generation, another product count)', async () => {
    const s = await started(new Suggester({ config, index: production }));
    expect(s.suggest('kayak', 5).suggestions).toEqual([]);
    const file = writeJsonl(path.join(tempDir(), 'k.jsonl'), [
      { id: 'K1', title: 'Sea Kayak Touring Paddle', category: 'Sports/Water Sports/Kayaks', brand: 'Aquabound' },
    ]);
    const before = production.generation;
    await indexCatalog({ catalogPath: file, dataDir: tempDir(), backend, embedder });
    // Production takes an incremental write in place: the same generation, one product more.
    await production.refresh();
    expect(production.generation).toBe(before);
    await s.checkCatalog();
    expect(s.suggest('kayak', 5).suggestions.map((x) => x.text)).toEqual(['kayak', 'Kayaks']);
  });

  it('popular queries come from the served log on Kafka, never one that found nothing', async () => {
    const served = await KafkaEventLog.open({ brokers, namespace, topic: `${namespace}.served`, partitions: 2 });
    let s: Suggester | undefined;
    try {
      const now = Date.now();
      const entry = (query: string, total: number, subject: string): ServedEntry => ({
        request_id: `${subject}-${query}`,
        surface: 'search',
        ts: now,
        subject,
        query,
        total,
        items: total > 0 ? [{ id: 'P0001', position: 0, score: 1 }] : [],
      });
      const entries = [
        ...['ann', 'bob', 'cy'].map((u) => entry('running shoes men', 6, u)),
        ...['ann', 'bob', 'cy'].map((u) => entry('runcible spoon', 0, u)),
      ];
      await served.appendRaw(entries.map((e) => ({ key: e.request_id, value: JSON.stringify(e) })));
      s = new Suggester({ config, index: production, served });
      await s.start();
      // The topic's partitions arrive batch by batch: re-rank until every search is folded.
      const top = () => s!.suggest('run', 1).suggestions[0];
      for (let i = 0; i < 900 && top()?.count !== 3; i++) {
        await new Promise((r) => setTimeout(r, 100));
        s.refreshQueries();
      }
      const got = s.suggest('run', 10).suggestions;
      expect(got[0]).toEqual({ text: 'running shoes men', source: 'query', count: 3 });
      expect(got.map((x) => x.text)).not.toContain('runcible spoon');
    } finally {
      await s?.close();
      await served.close();
    }
  }, 180_000);
});
