import fs from 'node:fs';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { Client } from '@elastic/elasticsearch';
import Database from 'better-sqlite3';
import { EmbeddingCache } from '../indexer/embedding-cache.ts';
import { textHash } from '../indexer/hash.ts';
import { indexCatalog } from '../indexer/index-catalog.ts';
import { HnswVectorStore } from '../retrieval/index/embedded/hnsw-vector-store.ts';
import { ProductionBackend } from '../retrieval/index/production/production-backend.ts';
import { collectionsWithPrefix, dropCollection } from '../retrieval/index/qdrant/qdrant-aliases.ts';
import { qdrantClient, QdrantVectorStore } from '../retrieval/index/qdrant/qdrant-vector-store.ts';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { openSearcher, type Searcher } from '../retrieval/recall/searcher.ts';
import {
  compileFilter,
  filterPayload,
  type StoredProduct,
  type VectorPoint,
  type VectorStore,
} from '../retrieval/index/stores.ts';
import type { Filters } from '../retrieval/index/types.ts';
import { productText } from '../core/catalog/product.ts';
import { createApp } from '../src/app.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { summarize } from './stats.ts';

export interface VectorBackendsInput {
  docs: StoredProduct[];
  /** The seeded catalog rows the docs were parsed from (the hybrid step indexes them as a file). */
  rows: unknown[];
  queries: string[];
  embedder: TextEmbedder;
  qdrantUrl: string;
  elasticsearchUrl: string;
  /** Candidates per vector query: the vector route's recall_k. */
  k: number;
  filters: Filters;
  work: string;
  log: (s: string) => void;
}

/** The indexer's write batch (indexer/index-catalog.ts). */
const BATCH = 512;
const WARMUP = 200;
/** Queries whose top 10 is compared with an exact scan. */
const RECALL_QUERIES = 300;
const HTTP_WARMUP = 100;

/**
 * The vector half of the production back end against the embedded one, side by side on the same
 * vectors: the embedded hnswlib store and Qdrant, then hybrid search over HTTP with Elasticsearch +
 * Qdrant against the embedded default (SQLite FTS5 + hnswlib). Latencies are measured interleaved
 * (query i on one engine, then on the other), so load from other processes hits both alike.
 */
export async function runVectorBackends(input: VectorBackendsInput) {
  const { docs, embedder, log } = input;
  const cacheDir = path.join(input.work, 'cache');
  log(`embedding ${docs.length} products and ${input.queries.length} queries with ${embedder.id} (not timed)`);
  const cache = new EmbeddingCache(cacheDir);
  const { vectors } = await cache.embed(
    embedder,
    docs.map((d) => ({ hash: textHash(d.product), text: productText(d.product) })),
  );
  cache.close();
  const points: VectorPoint[] = docs.map((d, i) => ({ ...d, vector: vectors[i]! }));
  const queryVectors = await embedder.embedTexts(input.queries, 'query');

  const hnsw = await buildHnsw(points, embedder.dim, path.join(input.work, 'vectors'));
  log(`hnswlib: ${hnsw.seconds.toFixed(1)} s`);
  const client = qdrantClient({ url: input.qdrantUrl, timeoutMs: 300_000 });
  const collection = `shelf-bench-${Date.now()}`;
  try {
    const qdrant = await buildQdrant(points, embedder.dim, input.qdrantUrl, collection);
    log(`qdrant: ${qdrant.acknowledgedSeconds.toFixed(1)} s written, ${qdrant.seconds.toFixed(1)} s indexed (green)`);
    const stores: Record<string, VectorStore> = { hnswlib: hnsw.store, qdrant: qdrant.store };
    const latency = await interleavedLatency(stores, queryVectors, input.k, input.filters);
    const exact = exactSearcher(points);
    const recall: Record<string, { plain: number; filtered: number }> = {};
    for (const [name, store] of Object.entries(stores)) {
      recall[name] = {
        plain: await recallAt10(store, exact, queryVectors.slice(0, RECALL_QUERIES), undefined),
        filtered: await recallAt10(store, exact, queryVectors.slice(0, RECALL_QUERIES), input.filters),
      };
      log(`${name}: recall@10 plain ${recall[name]!.plain}, filtered ${recall[name]!.filtered}`);
    }
    const rate = (s: number) => Math.round(docs.length / s);
    const hybrid = await hybridOverHttp(input, cacheDir);
    return {
      embedder: { id: embedder.id, dim: embedder.dim },
      index: {
        hnswlib: { seconds: round1(hnsw.seconds), products_per_s: rate(hnsw.seconds), batch: BATCH },
        qdrant: {
          seconds: round1(qdrant.seconds),
          products_per_s: rate(qdrant.seconds),
          written_seconds: round1(qdrant.acknowledgedSeconds),
          batch: BATCH,
          until: 'collection green (HNSW built by the optimizer)',
        },
      },
      search: latency,
      'recall@10': recall,
      hybrid_http: hybrid,
      qdrant: { version: (await client.versionInfo()).version, url: input.qdrantUrl },
    };
  } finally {
    hnsw.close();
    await dropCollection(client, collection);
  }
}

/** An embedded generation's vector store, built as GenerationWriter builds one: table + graph file. */
async function buildHnsw(points: VectorPoint[], dim: number, dir: string) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const t = performance.now();
  const db = new Database(path.join(dir, 'vectors.sqlite'));
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  const store = HnswVectorStore.open(db, path.join(dir, 'vectors.hnsw'), dim);
  for (let i = 0; i < points.length; i += BATCH) await store.upsert(points.slice(i, i + BATCH));
  store.flush();
  const seconds = (performance.now() - t) / 1000;
  return { store, seconds, close: () => db.close() };
}

/** A fresh collection written the way the production back end writes one; done when Qdrant says green. */
async function buildQdrant(points: VectorPoint[], dim: number, url: string, collection: string) {
  const client = qdrantClient({ url, timeoutMs: 300_000 });
  const t = performance.now();
  const store = await QdrantVectorStore.open({ url, client, collection, dim });
  for (let i = 0; i < points.length; i += BATCH) await store.upsert(points.slice(i, i + BATCH));
  const acknowledgedSeconds = (performance.now() - t) / 1000;
  await untilIndexed(client, collection, points.length * dim * 4);
  const count = await store.count();
  if (count !== points.length) throw new Error(`Qdrant holds ${count} of ${points.length} points`);
  return { store, acknowledgedSeconds, seconds: (performance.now() - t) / 1000 };
}

/**
 * Writes are acknowledged (wait=true) before the optimizer has built the HNSW graph; until then
 * searches scan segments without an index. Green means no optimisation is pending; a collection
 * smaller than the indexing threshold (KB of vectors per segment) never gets a graph at all.
 */
async function untilIndexed(client: QdrantClient, collection: string, vectorBytes: number): Promise<void> {
  for (;;) {
    const info = await client.getCollection(collection);
    const thresholdKb = info.config.optimizer_config.indexing_threshold ?? 10_000;
    const graphDue = vectorBytes / 1024 > thresholdKb;
    if (info.status === 'green' && (!graphDue || (info.indexed_vectors_count ?? 0) > 0)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Top-k latency per engine, plain and filtered; each query runs on every engine before the next. */
async function interleavedLatency(
  stores: Record<string, VectorStore>,
  queryVectors: Float32Array[],
  k: number,
  filters: Filters,
) {
  const names = Object.keys(stores);
  for (const v of queryVectors.slice(0, WARMUP)) for (const n of names) await stores[n]!.search(v, k);
  const out: Record<string, Record<string, ReturnType<typeof summarize>>> = {};
  for (const [mode, f] of [
    ['plain', undefined],
    ['filtered', filters],
  ] as const) {
    const ms: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (const v of queryVectors) {
      for (const n of names) {
        const t = performance.now();
        await stores[n]!.search(v, k, f);
        ms[n]!.push(performance.now() - t);
      }
    }
    for (const n of names) (out[n] ??= {})[mode] = summarize(ms[n]!);
  }
  return out;
}

type Exact = (v: Float32Array, k: number, filters: Filters | undefined) => string[];

/** Exact top-k by cosine over every stored vector (the ground truth recall is measured against). */
function exactSearcher(points: VectorPoint[]): Exact {
  const unit = points.map((p) => normalised(p.vector));
  const payloads = points.map((p) => filterPayload(p.product));
  return (v, k, filters) => {
    const pass = compileFilter(filters);
    const q = normalised(v);
    const scored: Array<{ i: number; s: number }> = [];
    for (let i = 0; i < unit.length; i++) {
      if (!pass(payloads[i]!)) continue;
      const u = unit[i]!;
      let s = 0;
      for (let d = 0; d < u.length; d++) s += q[d]! * u[d]!;
      scored.push({ i, s });
    }
    scored.sort((a, b) => b.s - a.s);
    return scored.slice(0, k).map(({ i }) => points[i]!.product.id);
  };
}

function normalised(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
  return v.map((x) => x * inv);
}

async function recallAt10(
  store: VectorStore,
  exact: Exact,
  queryVectors: Float32Array[],
  filters: Filters | undefined,
): Promise<number> {
  let found = 0;
  let total = 0;
  for (const v of queryVectors) {
    const truth = exact(v, 10, filters);
    const got = new Set((await store.search(v, 10, filters)).map((h) => h.id));
    total += truth.length;
    for (const id of truth) if (got.has(id)) found++;
  }
  return total === 0 ? 1 : Math.round((found / total) * 10_000) / 10_000;
}

/**
 * Hybrid search (BM25 + vector + RRF + hydration) over HTTP, 1 client: the embedded default and
 * Elasticsearch + Qdrant, each indexed from the same catalog file through the real indexer with
 * the embeddings already cached (so indexing compares the back ends, not the model).
 */
async function hybridOverHttp(input: VectorBackendsInput, cacheDir: string) {
  const { embedder, log } = input;
  const catalogPath = path.join(input.work, 'catalog.jsonl');
  fs.writeFileSync(catalogPath, input.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const namespace = `shelfbench${Date.now().toString(36)}`;
  const backend = new ProductionBackend({
    elasticsearchUrl: input.elasticsearchUrl,
    qdrantUrl: input.qdrantUrl,
    namespace,
    timeoutMs: 300_000,
  });
  const searchers: Searcher[] = [];
  try {
    const index: Record<string, { seconds: number; products_per_s: number; until_green_seconds?: number }> = {};
    for (const [name, target] of [
      ['embedded', {}],
      ['elasticsearch+qdrant', { backend }],
    ] as const) {
      log(`hybrid: indexing ${input.docs.length} products into ${name}`);
      const t = performance.now();
      const sum = await indexCatalog({ catalogPath, dataDir: cacheDir, embedder, ...target });
      const seconds = (performance.now() - t) / 1000;
      index[name] = { seconds: round1(seconds), products_per_s: Math.round(sum.indexed / seconds) };
      // Search the collection only once Qdrant has built its graph, as buildQdrant does.
      if ('backend' in target) {
        const qdrant = qdrantClient({ url: input.qdrantUrl });
        await untilIndexed(qdrant, backend.alias, input.docs.length * embedder.dim * 4);
        index[name]!.until_green_seconds = round1((performance.now() - t) / 1000);
      }
      searchers.push(await openSearcher({ embedder, ...('backend' in target ? target : { dataDir: cacheDir }) }));
    }
    const servers = searchers.map((searcher) =>
      serve({ fetch: createApp({ searcher, embedder }).fetch, hostname: '127.0.0.1', port: 0 }),
    );
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.once('listening', () => r()))));
    const urls = servers.map((s) => {
      const port = (s.address() as { port: number }).port;
      return (q: string) => `http://127.0.0.1:${port}/v1/search?q=${encodeURIComponent(q)}&size=10`;
    });
    const get = async (url: string) => {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status} for ${url}`);
    };
    for (const q of input.queries.slice(0, HTTP_WARMUP)) for (const u of urls) await get(u(q));
    const ms: number[][] = urls.map(() => []);
    for (const q of input.queries) {
      for (const [i, u] of urls.entries()) {
        const t = performance.now();
        await get(u(q));
        ms[i]!.push(performance.now() - t);
      }
    }
    for (const s of servers) s.close();
    return {
      index,
      search: { embedded: summarize(ms[0]!), 'elasticsearch+qdrant': summarize(ms[1]!) },
    };
  } finally {
    for (const s of searchers) await s.close();
    await backend.close();
    await dropBenchNamespace(input, namespace);
  }
}

async function dropBenchNamespace(input: VectorBackendsInput, namespace: string): Promise<void> {
  const es = new Client({ node: input.elasticsearchUrl });
  await es.indices.delete({
    index: [`${namespace}-products*`, `${namespace}-locks`],
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  await es.close();
  const q = qdrantClient({ url: input.qdrantUrl });
  for (const c of await collectionsWithPrefix(q, `${namespace}-products`)) await dropCollection(q, c);
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
