import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteEventLog } from '../behavior/embedded/sqlite-event-log.ts';
import type { ServedEntry } from '../behavior/served-log.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { mulberry32 } from '../core/rng.ts';
import { indexCatalog } from '../indexer/index-catalog.ts';
import { silentProgress, terminalProgress } from '../indexer/progress.ts';
import { openSearcher } from '../retrieval/recall/searcher.ts';
import { SuggestConfigSchema } from '../retrieval/recall/suggest/config.ts';
import { Suggester } from '../retrieval/recall/suggest/suggester.ts';
import { httpGet, keepAliveAgent } from './http-get.ts';
import { startService } from './service-process.ts';
import { summarize } from './stats.ts';
import { syntheticCatalog } from './synthetic.ts';

export interface SuggestBenchOptions {
  products: number;
  outDir: string;
  embedder: TextEmbedder;
  /**
   * The embedder's spec (SHELF_EMBEDDER) for the service process the HTTP figures are taken
   * from: it must serve the index built here with `embedder`.
   */
  embedderSpec: string;
  /** The service's `suggest.refresh_ms` (how soon popular queries show); its default unless set. */
  refreshMs?: number;
  /** Typed prefixes timed. */
  requests?: number;
  /** Products in the catalog change the incremental update is timed on (default 100). */
  change?: number;
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
 * (sequential, and 4 concurrent clients), one pass after the other. The HTTP figures come
 * from the service as a shop runs it: `cli/serve.ts` in a process of its own (bench/service-process.ts)
 * over the same index, with this served log; the in-process ones from a suggester in this
 * process. Then times the
 * incremental update a catalog change costs: `change` products (4 in 10 retitled, 3 removed, 3
 * new) indexed into a new generation as the indexer does it, followed by the suggester; and
 * the change undone the same way, so the work folder is left as it was found.
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
    // A run stopped half-way through the catalog change below left its new products behind.
    deleteMissing: true,
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
  const builds: Array<{ mode: string; keys: number; changed: number; ms: number }> = [];
  const heapBefore = process.memoryUsage().heapUsed;
  const suggester = new Suggester({
    config,
    index: searcher,
    served: servedLog,
    onBuilt: (b) => builds.push({ mode: b.mode, keys: b.keys, changed: b.changed, ms: Math.round(b.ms * 10) / 10 }),
  });
  await suggester.start();
  const build = builds.at(-1)!;
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

  // The service in its own process, on this index and a served log of the same traffic. The bench
  // is one address standing in for many shoppers' browsers: the per-client and per-shopper rate
  // limits are off; everything else is the service's defaults (one request in flight and its queue).
  const behaviorDir = path.join(dataDir, 'behavior');
  fs.rmSync(behaviorDir, { recursive: true, force: true });
  fs.mkdirSync(behaviorDir, { recursive: true });
  const servedFile = new SqliteEventLog({ file: path.join(behaviorDir, 'served.sqlite') });
  await servedFile.appendRaw(entries.map((e) => ({ key: e.request_id, value: JSON.stringify(e) })));
  await servedFile.close();
  log('starting the service (cli/serve.ts --no-index) on the index');
  const service = await startService(
    {
      ...process.env,
      SHELF_EMBEDDER: opts.embedderSpec,
      SHELF_CATALOG: '',
      SHELF__SERVICE__LIMITS__CLIENT__POINTS: '0',
      SHELF__SERVICE__LIMITS__SHOPPER__POINTS: '0',
      ...(opts.refreshMs !== undefined && { SHELF__SUGGEST__REFRESH_MS: String(opts.refreshMs) }),
    },
    dataDir,
    ['--no-index'],
  );
  const url = (q: string) => `${service.url}/v1/suggest?q=${encodeURIComponent(q)}&size=8`;
  const agent = keepAliveAgent(4);
  // Ready once the service suggests the most searched query (its served-log reader has read it).
  const top = queries[0]!;
  const readyBy = performance.now() + 120_000;
  for (;;) {
    const res = await httpGet(url(top.slice(0, 3)), agent);
    if (res.status === 200 && /"source":"query"/.test(res.body)) break;
    if (performance.now() > readyBy) throw new Error(`the service never suggested a popular query: ${res.body}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const q of prefixes.slice(0, 300)) await httpGet(url(q), agent);

  const loadBefore = os.loadavg();
  const inProcess: number[] = [];
  const http: number[] = [];
  let empty = 0;
  // In process first, then over HTTP: interleaved, the bench's own suggester work (and the
  // collection of its heap, on the second of two cores) ran beside every request it timed.
  for (const q of prefixes) {
    const s = performance.now();
    if (suggester.suggest(q, 8).suggestions.length === 0) empty++;
    inProcess.push(performance.now() - s);
  }
  for (const q of prefixes) {
    const res = await httpGet(url(q), agent);
    if (res.status !== 200) throw new Error(`HTTP ${res.status} for ${q}: ${res.body}`);
    http.push(res.ms);
  }
  const concurrency = 4;
  const conc: number[] = [];
  let next = 0;
  const concStart = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < prefixes.length) {
        const res = await httpGet(url(prefixes[next++]!), agent);
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body}`);
        conc.push(res.ms);
      }
    }),
  );
  const qps = Math.round(prefixes.length / ((performance.now() - concStart) / 1000));
  const serviceHeapMb = await heapOf(service.url, agent);
  agent.destroy();
  await service.stop();

  // A catalog change, indexed into a new generation and followed incrementally; then undone.
  const changeSize = opts.change ?? 100;
  const changed = changeCatalog(products, changeSize);
  const follow = async (catalog: typeof products) => {
    fs.writeFileSync(catalogPath, catalog.map((p) => JSON.stringify(p)).join('\n') + '\n');
    // The file is the whole catalog: products it no longer holds are deleted.
    await indexCatalog({
      catalogPath,
      dataDir,
      embedder: opts.embedder,
      progress: silentProgress,
      deleteMissing: true,
    });
    await searcher.refresh();
    const before = builds.length;
    await suggester.followIndex();
    if (builds.length !== before + 1) throw new Error('the suggester did not follow the new generation');
    return builds.at(-1)!;
  };
  const applied = await follow(changed.catalog);
  const reflected = suggester.suggest(CHANGE_WORD, 8).suggestions.some((x) => x.count === changed.withWord);
  const undone = await follow(products);
  log(
    `catalog change of ${changeSize} products: ${applied.mode} update in ${applied.ms} ms, undone in ${undone.ms} ms (full build ${build.ms} ms)`,
  );
  const loadAfter = os.loadavg();
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
    catalog_index: { keys: build.keys, build_ms: Math.round(build.ms), heap_mb: heapMb },
    /** The service process's V8 heap after the HTTP runs (its /metrics), MB. */
    service_heap_mb: serviceHeapMb,
    catalog_change: {
      products: changeSize,
      applied: { mode: applied.mode, changed: applied.changed, ms: applied.ms },
      undone: { mode: undone.mode, changed: undone.changed, ms: undone.ms },
      reflected,
    },
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

/** A word no synthetic title holds: the retitled and new products carry it. */
const CHANGE_WORD = 'zephyrine';

/**
 * The catalog with `n` products changed, spread over it: 4 in 10 retitled (with CHANGE_WORD), 3
 * removed, 3 new (copies of others under new ids, with CHANGE_WORD). `withWord`: products holding it.
 */
function changeCatalog<P extends { id: string | number; title: string }>(
  products: readonly P[],
  n: number,
): { catalog: P[]; withWord: number } {
  const step = Math.max(1, Math.floor(products.length / n));
  const picked = new Map<number, number>();
  for (let k = 0; k < n && k * step < products.length; k++) picked.set(k * step, k);
  const catalog: P[] = [];
  const added: P[] = [];
  let withWord = 0;
  for (const [i, p] of products.entries()) {
    const k = picked.get(i);
    if (k === undefined || k % 10 >= 7) catalog.push(p);
    if (k === undefined || (k % 10 >= 4 && k % 10 < 7)) continue; // untouched, or removed
    if (k % 10 < 4) catalog.push({ ...p, title: `${p.title} ${CHANGE_WORD}` });
    else added.push({ ...p, id: `${p.id}-new`, title: `${CHANGE_WORD} ${p.title}` });
    withWord++;
  }
  return { catalog: [...catalog, ...added], withWord };
}

/** The used V8 heap a service reports on /metrics (prom-client's default metrics), MB; null without it. */
async function heapOf(base: string, agent: ReturnType<typeof keepAliveAgent>): Promise<number | null> {
  const res = await httpGet(`${base}/metrics`, agent);
  const m = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(res.body);
  return m ? Math.round(Number(m[1]) / 1e5) / 10 : null;
}
