import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import Database from 'better-sqlite3';
import { contentHash } from '../indexer/hash.ts';
import { deleteIndices } from '../retrieval/index/elasticsearch/es-aliases.ts';
import { createIndex, ElasticsearchTextStore } from '../retrieval/index/elasticsearch/es-text-store.ts';
import { SqliteTextStore } from '../retrieval/index/embedded/sqlite-text-store.ts';
import type { StoredProduct, TextStore } from '../retrieval/index/stores.ts';
import type { Filters } from '../retrieval/index/types.ts';
import { parseProduct } from '../core/catalog/product.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { runVectorBackends } from './backends-vectors.ts';
import { summarize } from './stats.ts';
import { syntheticCatalog } from './synthetic.ts';

export interface BackendsBenchOptions {
  products: number;
  outDir: string;
  elasticsearchUrl: string;
  /** With an embedder: also hnswlib vs Qdrant on the same vectors, and hybrid over HTTP (bench/backends-vectors.ts). */
  qdrantUrl?: string | undefined;
  embedder?: TextEmbedder | undefined;
  queries?: number;
  seed?: number;
  /** Candidates per query: the BM25 route's recall_k in hybrid search. */
  k?: number;
  quiet?: boolean;
}

/** The indexer's batch size (indexer/index-catalog.ts), so throughput is what a real run gets. */
const BATCH = 512;
const WARMUP = 200;
/** A filter set every query also runs with: filters are part of the query in both engines. */
const FILTERS: Filters = { in_stock: true, price_max: 500 };

/**
 * Embedded BM25 (SQLite FTS5) against Elasticsearch, and with QDRANT_URL the vectors too
 * (hnswlib against Qdrant, hybrid over HTTP: bench/backends-vectors.ts), side by side in one run on the same
 * seeded synthetic products and queries: indexing throughput (batches of 512, from the first
 * write until the index is searchable) and BM25 top-k latency, plain and filtered. Both engines
 * run on this machine; Elasticsearch is reached over HTTP on localhost.
 */
export async function runBackendsBench(opts: BackendsBenchOptions) {
  const log = (s: string) => opts.quiet || console.error(s);
  // Other processes on the machine skew both engines; the load average says how much.
  const loadBefore = os.loadavg()[0]!;
  const k = opts.k ?? 100;
  const { products: raw, queries } = syntheticCatalog(opts.products, opts.seed ?? 42, opts.queries ?? 1000);
  const docs: StoredProduct[] = raw.map((r) => {
    const p = parseProduct(r);
    if (!p.ok) throw new Error(`synthetic product invalid: ${p.reason}`);
    return { product: p.product, hash: contentHash(p.product) };
  });

  // Embedded: a generation's text store, built as GenerationWriter builds it.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'shelf-bench-backends-'));
  const dbPath = path.join(work, 'index.sqlite');
  log(`embedded: indexing ${docs.length} products`);
  const embeddedIndex = await timeIt(async () => {
    const db = new Database(dbPath);
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    const store = new SqliteTextStore(db);
    for (let i = 0; i < docs.length; i += BATCH) await store.upsert(docs.slice(i, i + BATCH));
    db.exec("INSERT INTO docs_fts(docs_fts) VALUES('optimize')");
    db.pragma('journal_mode = DELETE');
    db.close();
  });
  const servedDb = new Database(dbPath, { readonly: true, fileMustExist: true });
  const embedded = new SqliteTextStore(servedDb);

  // Elasticsearch: a fresh index built the way the production back end builds one.
  const client = new Client({ node: opts.elasticsearchUrl, requestTimeout: 120_000 });
  const info = await client.info();
  const index = `shelf-bench-${Date.now()}`;
  log(`elasticsearch ${info.version.number}: indexing ${docs.length} products into ${index}`);
  try {
    const esIndex = await timeIt(async () => {
      await createIndex(client, index);
      const writer = ElasticsearchTextStore.attach(client, index, 'deferred');
      for (let i = 0; i < docs.length; i += BATCH) await writer.upsert(docs.slice(i, i + BATCH));
      await client.indices.refresh({ index });
    });
    const es = ElasticsearchTextStore.attach(client, index);
    const esCount = await es.count();
    if (esCount !== docs.length) throw new Error(`Elasticsearch holds ${esCount} of ${docs.length} products`);

    const engines: Record<string, TextStore> = { embedded, elasticsearch: es };
    const latency: Record<string, Record<string, ReturnType<typeof summarize>>> = {};
    const top10: Record<string, string[][]> = {};
    for (const [name, store] of Object.entries(engines)) {
      for (const q of queries.slice(0, WARMUP)) await store.search(q, k);
      latency[name] = {};
      for (const [mode, filters] of [
        ['plain', undefined],
        ['filtered', FILTERS],
      ] as const) {
        const ms: number[] = [];
        const tops: string[][] = [];
        for (const q of queries) {
          const t = performance.now();
          const hits = await store.search(q, k, filters);
          ms.push(performance.now() - t);
          if (mode === 'plain') tops.push(hits.slice(0, 10).map((h) => h.id));
        }
        latency[name]![mode] = summarize(ms);
        if (mode === 'plain') top10[name] = tops;
        log(`${name} ${mode}: p50 ${latency[name]![mode]!.p50_ms} ms, p99 ${latency[name]![mode]!.p99_ms} ms`);
      }
    }
    // How alike the two rankings are (different analyzers and BM25 settings; see the docs).
    let shared = 0;
    let total = 0;
    top10['embedded']!.forEach((a, i) => {
      const b = new Set(top10['elasticsearch']![i]);
      total += Math.max(a.length, b.size);
      shared += a.filter((id) => b.has(id)).length;
    });

    const vectors =
      opts.qdrantUrl !== undefined && opts.embedder !== undefined
        ? await runVectorBackends({
            docs,
            rows: raw,
            queries,
            embedder: opts.embedder,
            qdrantUrl: opts.qdrantUrl,
            elasticsearchUrl: opts.elasticsearchUrl,
            k,
            filters: FILTERS,
            work,
            log,
          })
        : undefined;
    const rate = (s: number) => Math.round(docs.length / s);
    const result = {
      products: docs.length,
      queries: queries.length,
      k,
      filtered_with: FILTERS,
      index: {
        embedded: { seconds: round1(embeddedIndex), products_per_s: rate(embeddedIndex) },
        elasticsearch: {
          seconds: round1(esIndex),
          products_per_s: rate(esIndex),
          batch: BATCH,
          refresh: 'once, at the end',
        },
      },
      search: latency,
      top10_overlap: Math.round((shared / Math.max(1, total)) * 1000) / 1000,
      elasticsearch: { version: info.version.number, url: opts.elasticsearchUrl },
      ...(vectors && { vectors }),
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        loadavg_1m: { before: round1(loadBefore), after: round1(os.loadavg()[0]!) },
      },
    };
    fs.mkdirSync(opts.outDir, { recursive: true });
    fs.writeFileSync(path.join(opts.outDir, 'bench-backends.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    servedDb.close();
    await deleteIndices(client, [index]);
    await client.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
