import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { SqliteEventLog } from '../behavior/embedded/sqlite-event-log.ts';
import type { ServedEntry } from '../behavior/served-log.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { mulberry32 } from '../core/rng.ts';
import { indexCatalog } from '../indexer/index-catalog.ts';
import { silentProgress, terminalProgress } from '../indexer/progress.ts';
import { openSearcher } from '../retrieval/recall/searcher.ts';
import { SuggestConfigSchema } from '../retrieval/recall/suggest/config.ts';
import { Suggester } from '../retrieval/recall/suggest/suggester.ts';
import { createApp } from '../src/app.ts';
import { httpGet, keepAliveAgent } from './http-get.ts';
import { summarize } from './stats.ts';
import { syntheticCatalog } from './synthetic.ts';

export interface SuggestBenchOptions {
  products: number;
  outDir: string;
  embedder: TextEmbedder;
  /** Typed prefixes timed. */
  requests?: number;
  seed?: number;
  /** The search bench's work folder layout: an index already built there for the same catalog is reused. */
  workDir?: string;
  quiet?: boolean;
}

/**
 * GET /v1/suggest on the search bench's seeded synthetic catalog (the same products, indexed the
 * same way, embedded), with popular queries from a served log of the bench's queries searched by
 * 500 shoppers: what a search box sends while a shopper types (every prefix of a query, one
 * character at a time). Times the catalog index build, then suggest in process and over HTTP
 * (sequential, and 4 concurrent clients), interleaved prefix by prefix.
 */
export async function runSuggestBench(opts: SuggestBenchOptions) {
  const log = (s: string) => opts.quiet || console.error(s);
  const work = opts.workDir ?? path.join(opts.outDir, `work-${opts.products}`);
  fs.mkdirSync(work, { recursive: true });
  const { products, queries } = syntheticCatalog(opts.products, opts.seed ?? 42, 1000);
  const catalogPath = path.join(work, 'catalog.jsonl');
  fs.writeFileSync(catalogPath, products.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const dataDir = path.join(work, 'data');

  log(`indexing ${opts.products} products with ${opts.embedder.id} (unchanged products are skipped)`);
  await indexCatalog({
    catalogPath,
    dataDir,
    embedder: opts.embedder,
    progress: opts.quiet ? silentProgress : terminalProgress(),
  });
  const searcher = await openSearcher({ dataDir, embedder: opts.embedder });

  // Traffic: each bench query searched by a few of 500 shoppers over the last week, all finding products.
  const r = mulberry32(opts.seed ?? 42);
  const now = Date.now();
  const servedLog = new SqliteEventLog({ file: ':memory:' });
  const entries: ServedEntry[] = [];
  for (let i = 0; i < 20_000; i++) {
    const q = queries[Math.floor(queries.length * r() ** 2)]!;
    entries.push({
      request_id: `b${i}`,
      surface: 'search',
      ts: now - Math.floor(r() * 7 * 86_400_000),
      subject: `u:${Math.floor(r() * 500)}`,
      query: q,
      total: 1 + Math.floor(r() * 500),
      items: [{ id: 's1', position: 0, score: 1 }],
    });
  }
  await servedLog.appendRaw(entries.map((e) => ({ key: e.request_id, value: JSON.stringify(e) })));

  const config = SuggestConfigSchema.parse({});
  let build = { keys: 0, ms: 0 };
  const heapBefore = process.memoryUsage().heapUsed;
  const suggester = new Suggester({
    config,
    index: searcher,
    served: servedLog,
    onBuilt: (b) => (build = { keys: b.keys, ms: Math.round(b.ms) }),
  });
  await suggester.start();
  for (let i = 0; i < 500 && suggester.trackedQueries === 0; i++) await new Promise((res) => setTimeout(res, 10));
  await new Promise((res) => setTimeout(res, 500));
  suggester.refreshQueries();
  const heapMb = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e5) / 10;
  log(`catalog index: ${build.keys} keys in ${build.ms} ms; ${suggester.trackedQueries} queries tracked`);

  // What a search box sends: every prefix of a query as it is typed (characters, not bytes).
  const prefixes: string[] = [];
  while (prefixes.length < (opts.requests ?? 5000)) {
    const chars = Array.from(queries[Math.floor(r() * queries.length)]!);
    for (let n = 1; n <= chars.length && prefixes.length < (opts.requests ?? 5000); n++)
      prefixes.push(chars.slice(0, n).join(''));
  }

  const app = createApp({ searcher, embedder: opts.embedder, suggest: { suggester, config } });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const url = (q: string) => `http://127.0.0.1:${port}/v1/suggest?q=${encodeURIComponent(q)}&size=8`;
  const agent = keepAliveAgent(4);
  for (const q of prefixes.slice(0, 300)) await httpGet(url(q), agent);

  const loadBefore = os.loadavg();
  const inProcess: number[] = [];
  const http: number[] = [];
  let empty = 0;
  for (const q of prefixes) {
    let s = performance.now();
    if (suggester.suggest(q, 8).suggestions.length === 0) empty++;
    inProcess.push(performance.now() - s);
    s = performance.now();
    const res = await httpGet(url(q), agent);
    if (res.status !== 200) throw new Error(`HTTP ${res.status} for ${q}`);
    http.push(performance.now() - s);
  }
  const concurrency = 4;
  const conc: number[] = [];
  let next = 0;
  const concStart = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < prefixes.length) {
        const q = prefixes[next++]!;
        const s = performance.now();
        await httpGet(url(q), agent);
        conc.push(performance.now() - s);
      }
    }),
  );
  const qps = Math.round(prefixes.length / ((performance.now() - concStart) / 1000));
  const loadAfter = os.loadavg();
  agent.destroy();
  server.close();
  await suggester.close();
  await servedLog.close();
  await searcher.close();

  const round2 = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);
  const result = {
    products: opts.products,
    requests: prefixes.length,
    http: summarize(http),
    http_concurrent: { ...summarize(conc), clients: concurrency, qps },
    in_process: summarize(inProcess),
    empty_share: Math.round((empty / prefixes.length) * 1000) / 1000,
    catalog_index: { keys: build.keys, build_ms: build.ms, heap_mb: heapMb },
    popular_queries: suggester.trackedQueries,
    loadavg: { before: round2(loadBefore), after: round2(loadAfter) },
    machine: { cpus: os.cpus().length, node: process.version },
  };
  log(
    `suggest over HTTP: p50 ${result.http.p50_ms} ms, p99 ${result.http.p99_ms} ms; in process p99 ${result.in_process.p99_ms} ms`,
  );
  fs.mkdirSync(opts.outDir, { recursive: true });
  fs.writeFileSync(path.join(opts.outDir, 'bench-suggest.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
