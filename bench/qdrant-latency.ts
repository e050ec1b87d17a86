import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { QdrantClient } from '@qdrant/js-client-rest';
import { dropCollection } from '../retrieval/index/qdrant/qdrant-aliases.ts';
import {
  qdrantClient,
  qdrantFilter,
  QdrantVectorStore,
  VECTOR_NAME,
} from '../retrieval/index/qdrant/qdrant-vector-store.ts';
import type { VectorPoint } from '../retrieval/index/stores.ts';
import type { Filters } from '../retrieval/index/types.ts';
import { summarize } from './stats.ts';
import { mulberry32 } from '../core/rng.ts';

/**
 * Where does the time of a Qdrant vector query go between the server and the Node client?
 * One collection of random vectors, then the same queries sent, interleaved query by query, through
 *  - `adapter`: QdrantVectorStore.search (the production path, with whatever client it builds),
 *  - `client-default` / `client-identity`: the raw @qdrant/js-client-rest client, as it comes and
 *    with `Accept-Encoding: identity`,
 *  - `fetch-gzip` / `fetch-identity`: Node's fetch with the same JSON body, with its default
 *    `Accept-Encoding: gzip, deflate` and with `identity`,
 *  - `curl` / `curl-compressed`: one curl process per block of queries (so its keep-alive connection
 *    is reused, as the Node pools reuse theirs), without and with `--compressed`,
 * and Qdrant's own `time` of each answer (from the fetch variants) as the server-side floor.
 *
 *   SHELF_QDRANT_PORT=6533 SHELF_QDRANT_GRPC_PORT=6534 bash scripts/servers/qdrant.sh start
 *   npx tsx bench/qdrant-latency.ts --url http://127.0.0.1:6533 [--points 20000] [--queries 200]
 */

const execFileP = promisify(execFile);

export interface LatencyOptions {
  url: string;
  collection: string;
  points: number;
  dim: number;
  /** Timed queries per case (k × filter). */
  queries: number;
  warmup: number;
  /** Queries per curl process. */
  curlBlock: number;
  seed: number;
  keep: boolean;
  log: (s: string) => void;
}

function randomVector(rand: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = rand() * 2 - 1;
  return v;
}

const CATEGORIES = ['home/kitchen', 'home/garden', 'fashion/shoes', 'fashion/bags', 'electronics/audio'];
const BRANDS = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];

async function ensureCollection(opts: LatencyOptions): Promise<void> {
  const client = qdrantClient({ url: opts.url });
  if ((await client.collectionExists(opts.collection)).exists) {
    const { count } = await client.count(opts.collection, { exact: true });
    if (count === opts.points) return;
    await dropCollection(client, opts.collection);
  }
  const store = await QdrantVectorStore.open({ url: opts.url, client, collection: opts.collection, dim: opts.dim });
  const rand = mulberry32(opts.seed);
  const t0 = performance.now();
  for (let i = 0; i < opts.points; i += 512) {
    const batch: VectorPoint[] = [];
    for (let j = i; j < Math.min(opts.points, i + 512); j++) {
      batch.push({
        product: {
          id: `p${j}`,
          title: `product ${j}`,
          category: CATEGORIES[j % CATEGORIES.length]!,
          brand: BRANDS[j % BRANDS.length]!,
          price: Math.round(rand() * 100000) / 100,
          in_stock: rand() < 0.7,
        },
        hash: `h${j}`,
        vector: randomVector(rand, opts.dim),
      });
    }
    await store.upsert(batch);
  }
  // Time queries on the built HNSW graph, not on a segment the optimizer is still indexing.
  for (let i = 0; i < 600; i++) {
    if ((await client.getCollection(opts.collection)).status === 'green') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  opts.log(`wrote ${opts.points} points in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

interface Case {
  name: string;
  k: number;
  filters?: Filters;
}

const CASES: Case[] = [
  { name: 'top-10, plain', k: 10 },
  { name: 'top-100, plain', k: 100 },
  { name: 'top-10, filtered', k: 10, filters: { in_stock: true, price_max: 500 } },
  { name: 'top-100, filtered', k: 100, filters: { in_stock: true, price_max: 500 } },
];

/** The body QdrantVectorStore.search sends for this query. */
function queryBody(vector: Float32Array, k: number, filters: Filters | undefined) {
  const filter = qdrantFilter(filters);
  return {
    query: Array.from(vector),
    using: VECTOR_NAME,
    limit: k,
    with_payload: ['product_id'],
    with_vector: false,
    ...(filter && { filter }),
  };
}

async function time(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

/** One curl process, one request per body on one keep-alive connection; curl's own time_total of each, ms. */
async function curlBlock(url: string, bodies: string[], compressed: boolean, dir: string): Promise<number[]> {
  const args: string[] = [];
  bodies.forEach((b, i) => {
    const file = path.join(dir, `q${i}.json`);
    fs.writeFileSync(file, b);
    if (i > 0) args.push('--next');
    args.push('-s', '-o', '/dev/null', '-w', '%{time_total}\\n', '-H', 'content-type: application/json');
    if (compressed) args.push('--compressed');
    args.push('--data-binary', `@${file}`, url);
  });
  const { stdout } = await execFileP('curl', args);
  return stdout
    .trim()
    .split('\n')
    .map((s) => Number(s) * 1000);
}

export async function runQdrantLatency(opts: LatencyOptions) {
  await ensureCollection(opts);
  const endpoint = `${opts.url.replace(/\/+$/, '')}/collections/${encodeURIComponent(opts.collection)}/points/query`;
  const store = QdrantVectorStore.attach(qdrantClient({ url: opts.url }), opts.collection, opts.dim);
  const clientDefault = new QdrantClient({ url: opts.url, checkCompatibility: false });
  const clientIdentity = new QdrantClient({
    url: opts.url,
    checkCompatibility: false,
    headers: { 'accept-encoding': 'identity' },
  });
  const viaFetch = async (body: string, encoding: string | undefined, server: number[] | undefined) => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(encoding !== undefined && { 'accept-encoding': encoding }) },
      body,
    });
    const json = (await res.json()) as { time: number };
    server?.push(json.time * 1000);
  };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shelf-qlat-'));
  const rand = mulberry32(opts.seed + 1);
  const loadStart = os.loadavg();
  const results: Record<string, Record<string, ReturnType<typeof summarize>>> = {};
  try {
    for (const c of CASES) {
      const ms: Record<string, number[]> = {
        adapter: [],
        'client-default': [],
        'client-identity': [],
        'fetch-gzip': [],
        'fetch-identity': [],
        curl: [],
        'curl-compressed': [],
        'server (Qdrant time)': [],
      };
      const server = ms['server (Qdrant time)']!;
      const variants: Array<[string, (v: Float32Array, body: object, json: string, timed: boolean) => Promise<void>]> =
        [
          ['adapter', (v) => store.search(v, c.k, c.filters).then(() => undefined)],
          ['client-default', (_v, body) => clientDefault.query(opts.collection, body).then(() => undefined)],
          ['client-identity', (_v, body) => clientIdentity.query(opts.collection, body).then(() => undefined)],
          ['fetch-gzip', (_v, _b, json, timed) => viaFetch(json, undefined, timed ? server : undefined)],
          ['fetch-identity', (_v, _b, json, timed) => viaFetch(json, 'identity', timed ? server : undefined)],
        ];
      const total = opts.warmup + opts.queries;
      for (let start = 0; start < total; start += opts.curlBlock) {
        const block: string[] = [];
        for (let i = start; i < Math.min(total, start + opts.curlBlock); i++) {
          const v = randomVector(rand, opts.dim);
          const body = queryBody(v, c.k, c.filters);
          const json = JSON.stringify(body);
          block.push(json);
          const timed = i >= opts.warmup;
          // Rotate the order, so no variant always runs first (right after a curl block) or last.
          for (let j = 0; j < variants.length; j++) {
            const [name, run] = variants[(i + j) % variants.length]!;
            const t = await time(() => run(v, body, json, timed));
            if (timed) ms[name]!.push(t);
          }
        }
        const timedFrom = Math.max(0, opts.warmup - start);
        for (const compressed of start % (2 * opts.curlBlock) === 0 ? [false, true] : [true, false]) {
          const t = await curlBlock(endpoint, block, compressed, tmp);
          ms[compressed ? 'curl-compressed' : 'curl']!.push(...t.slice(timedFrom));
        }
      }
      results[c.name] = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, summarize(v)]));
      opts.log(`${c.name}: done`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!opts.keep) await dropCollection(qdrantClient({ url: opts.url }), opts.collection);
  }
  return {
    url: opts.url,
    points: opts.points,
    dim: opts.dim,
    queries_per_case: opts.queries,
    loadavg_start: loadStart.map((x) => Math.round(x * 100) / 100),
    loadavg_end: os.loadavg().map((x) => Math.round(x * 100) / 100),
    results,
  };
}

/** The console table of a run: per case, p50 / p99 of each variant beside Qdrant's own time. */
export function printTable(out: Awaited<ReturnType<typeof runQdrantLatency>>): void {
  const cases = Object.keys(out.results);
  const variants = Object.keys(out.results[cases[0]!]!);
  console.log(`| variant | ${cases.map((c) => `${c} p50 / p99 ms`).join(' | ')} |`);
  console.log(`|---|${cases.map(() => '---').join('|')}|`);
  for (const v of variants) {
    const cells = cases.map((c) => {
      const s = out.results[c]![v]!;
      return `${s.p50_ms.toFixed(1)} / ${s.p99_ms.toFixed(1)}`;
    });
    console.log(`| ${v} | ${cells.join(' | ')} |`);
  }
  console.log(`load average: start ${out.loadavg_start.join(', ')}, end ${out.loadavg_end.join(', ')}`);
}
