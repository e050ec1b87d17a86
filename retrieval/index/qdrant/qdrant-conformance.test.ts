import { randomUUID } from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { FakeQdrant, OPENAPI_PATH, OpenApiContract } from '../../../test/fakes/qdrant.ts';
import { vectorStoreConformance } from '../../../test/conformance/stores.ts';
import { QdrantVectorStore } from './qdrant-vector-store.ts';

/**
 * The shared VectorStore conformance suite against a REAL Qdrant server. Runs only when
 * QDRANT_URL is set (e.g. `QDRANT_URL=http://localhost:6333 npx vitest run retrieval/qdrant`,
 * with the docker-compose stack up); QDRANT_API_KEY is passed through when present. Each test
 * gets its own collection, dropped afterwards.
 */
const url = process.env.QDRANT_URL;
const apiKey = process.env.QDRANT_API_KEY;
const DIM = 64; // HashEmbedder's dimension in the conformance suite.

describe.skipIf(!url)('Qdrant (real server at QDRANT_URL)', () => {
  vectorStoreConformance('qdrant', () => {
    const collection = `shelf_conformance_${randomUUID().replace(/-/g, '')}`;
    const open = () =>
      QdrantVectorStore.open({ url: url!, ...(apiKey !== undefined && { apiKey }), collection, dim: DIM });
    return {
      open,
      reopen: async (store) => {
        await store.close();
        return open();
      },
      cleanup: async () => {
        const client = new QdrantClient({
          url: url!,
          ...(apiKey !== undefined && { apiKey }),
          checkCompatibility: false,
        });
        if ((await client.collectionExists(collection)).exists) await client.deleteCollection(collection);
      },
    };
  });
});

/**
 * The same suite against the OpenAPI-validating stand-in (test/fakes/qdrant.ts), so every request
 * the adapter makes in the suite is checked against Qdrant's published schema on every run.
 */
describe.skipIf(!!url)('Qdrant stand-in validating against the v1.19 OpenAPI description', () => {
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
});
