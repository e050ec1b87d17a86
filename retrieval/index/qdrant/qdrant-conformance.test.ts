import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeQdrant, OPENAPI_PATH, OpenApiContract } from '../../../test/fakes/qdrant.ts';
import { vectorStoreConformance } from '../../../test/conformance/stores.ts';
import { sequenceItemIndexConformance } from '../../../test/conformance/sequence-items.ts';
import { qdrantSequenceIndexes } from './qdrant-sequence-items.ts';
import { qdrantClient, QdrantVectorStore } from './qdrant-vector-store.ts';

/**
 * The shared VectorStore conformance suite against the OpenAPI-validating stand-in
 * (test/fakes/qdrant.ts), so every request the adapter makes in the suite is checked against
 * Qdrant's published schema on every `npm test`, without a server. The same suite runs against a
 * real Qdrant server in the integration suite (test/integration/qdrant.test.ts).
 */
const DIM = 64; // HashEmbedder's dimension in the conformance suite.

describe('Qdrant stand-in validating against the v1.19 OpenAPI description', () => {
  const fake = new FakeQdrant(new OpenApiContract(OPENAPI_PATH));
  beforeAll(() => fake.start());
  afterAll(() => {
    expect(fake.errors).toEqual([]);
    return fake.stop();
  });
  vectorStoreConformance('qdrant (contract stand-in)', () => {
    const collection = `shelf_conformance_${randomUUID().replace(/-/g, '')}`;
    const open = () => QdrantVectorStore.open({ url: fake.url, collection, dim: DIM });
    return {
      open,
      reopen: async (store) => {
        await store.close();
        return open();
      },
      cleanup: async () => {},
    };
  });
  sequenceItemIndexConformance('qdrant named vector `sequence` (contract stand-in)', () => {
    const namespace = `shelf_conformance_${randomUUID().replace(/-/g, '')}`;
    const client = qdrantClient({ url: fake.url });
    return {
      indexes: () => qdrantSequenceIndexes({ client, namespace }),
      persistent: true,
      cleanup: () => qdrantSequenceIndexes({ client, namespace }).retire!([]),
    };
  });

  it('searches the sequence collection as broadly as `sequence.ef_search` says, and never narrower than k', async () => {
    const namespace = `shelf_conformance_${randomUUID().replace(/-/g, '')}`;
    const indexes = qdrantSequenceIndexes({ client: qdrantClient({ url: fake.url }), namespace, efSearch: 333 });
    const index = await indexes.open('v1', 2, 3, 2);
    await index.upsert(['a', 'b', 'c'], [Float32Array.of(1, 0), Float32Array.of(0, 1), Float32Array.of(1, 1)]);
    const efOf = async (k: number) => {
      fake.requests.length = 0;
      await index.search(Float32Array.of(1, 0), k);
      const query = fake.requests.find((r) => r.operationId === 'query_points');
      return (query?.body as { params?: { hnsw_ef?: number } } | undefined)?.params?.hnsw_ef;
    };
    expect(await efOf(2)).toBe(333);
    expect(await efOf(500)).toBe(500);
    await indexes.retire!([]);
  });

  it('scans a table under `sequence.full_scan_threshold_kb` exactly, and searches the graph above it', async () => {
    const namespace = `shelf_conformance_${randomUUID().replace(/-/g, '')}`;
    const client = qdrantClient({ url: fake.url });
    const exactOf = async (capacity: number, fullScanThresholdKb?: number) => {
      const index = await qdrantSequenceIndexes({
        client,
        namespace,
        ...(fullScanThresholdKb !== undefined && { fullScanThresholdKb }),
      }).open(`v${capacity}-${fullScanThresholdKb}`, 64, capacity, 2);
      await index.upsert(['a'], [new Float32Array(64).fill(0.1)]);
      fake.requests.length = 0;
      await index.search(new Float32Array(64).fill(0.1), 1);
      const query = fake.requests.find((r) => r.operationId === 'query_points');
      return (query?.body as { params?: { exact?: boolean } } | undefined)?.params?.exact;
    };
    // 64-d float32 = 256 bytes an item: the default 10,000 KiB holds 40,000 items.
    expect(await exactOf(40_000)).toBe(true);
    expect(await exactOf(40_001)).toBe(false);
    expect(await exactOf(5, 0)).toBe(false);
    await qdrantSequenceIndexes({ client, namespace }).retire!([]);
  });
});
