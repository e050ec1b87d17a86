import { describe, expect, it } from 'vitest';
import type { Searcher } from '../retrieval/recall/searcher.ts';
import { createApp } from './app.ts';
import type { Dependency } from '../core/dependencies.ts';

const searcher = {
  generation: 'gen-000001',
  textModels: { served: 'ngram-v1:abc', deployed: ['ngram-v1:abc'], unavailable: [] },
} as unknown as Searcher;
const up = (name: string): Dependency => ({ name, check: async () => `${name} 1.0` });
const down = (name: string): Dependency => ({
  name,
  check: async () => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:9200');
  },
});

describe('/readyz', () => {
  it('is ready with no dependencies (embedded, nothing to reach)', async () => {
    const res = await createApp({ searcher, embedder: undefined }).request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      ready: true,
      index: { generation: 'gen-000001' },
      text_models: { served: 'ngram-v1:abc', deployed: ['ngram-v1:abc'], unavailable: [] },
      dependencies: [],
    });
  });

  it('reports every dependency, and 503 when one is down', async () => {
    const app = createApp({ searcher, embedder: undefined, dependencies: [up('qdrant'), down('elasticsearch')] });
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as {
      ready: boolean;
      dependencies: Array<{ name: string; ok: boolean; detail: string }>;
    };
    expect(body.ready).toBe(false);
    expect(body.dependencies.map(({ name, ok, detail }) => ({ name, ok, detail }))).toEqual([
      { name: 'qdrant', ok: true, detail: 'qdrant 1.0' },
      { name: 'elasticsearch', ok: false, detail: 'connect ECONNREFUSED 127.0.0.1:9200' },
    ]);
  });

  it('is ready when every dependency answers', async () => {
    const res = await createApp({
      searcher,
      embedder: undefined,
      dependencies: [up('elasticsearch'), up('qdrant')],
    }).request('/readyz');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ready: boolean }).ready).toBe(true);
  });

  it('shows versions, not where the data or the servers are', async () => {
    const at = (name: string, detail: string): Dependency => ({ name, check: async () => detail });
    const res = await createApp({
      searcher,
      embedder: undefined,
      dependencies: [
        at('embedded-index', '/srv/shop/.data: gen-000001'),
        at('qdrant', 'Qdrant 1.9.0 at http://qdrant.internal:6333/'),
        {
          name: 'redis',
          check: async () => {
            throw new Error("EACCES: permission denied, open '/srv/shop/.data/behavior/state.sqlite'");
          },
        },
      ],
    }).request('/readyz');
    const text = await res.text();
    expect(text).not.toContain('/srv/shop');
    expect(text).not.toContain('qdrant.internal');
    const body = JSON.parse(text) as { dependencies: Array<{ name: string; ok: boolean; detail: string }> };
    expect(body.dependencies.map(({ name, ok, detail }) => ({ name, ok, detail }))).toEqual([
      { name: 'embedded-index', ok: true, detail: '<path>: gen-000001' },
      { name: 'qdrant', ok: true, detail: 'Qdrant 1.9.0 at <url>' },
      { name: 'redis', ok: false, detail: "EACCES: permission denied, open '<path>'" },
    ]);
  });
});
