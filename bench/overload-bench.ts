import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { httpGet, keepAliveAgent } from './http-get.ts';
import { startService } from './service-process.ts';
import { summarize } from './stats.ts';

/**
 * Overload: the real service (`npm start` on the demo catalog, its own process) hammered on
 * `GET /v1/search` by many keep-alive connections from this process, after an unloaded
 * baseline in the same run. What a client sees: throughput, latency of the admitted (200)
 * answers, the share shed (503 overloaded) and rate limited (429), how fast the refusals come,
 * and how many answers took longer than the client's patience (`slowMs`, 1 s).
 */

export interface OverloadOptions {
  /** Concurrent connections under load. */
  connections: number;
  /** Seconds of load. */
  durationS: number;
  /** Sequential requests of the unloaded baseline (one connection). */
  unloadedRequests: number;
  /** An answer slower than this is a failure of the acceptance (the client's patience). */
  slowMs: number;
  /** Client-side time-out of one request. */
  timeoutMs: number;
  outDir: string;
  /** Environment of the service (settings such as SHELF_MAX_IN_FLIGHT); the caller's by default. */
  env?: NodeJS.ProcessEnv;
}

const QUERIES = [
  'running shoes',
  'noise cancelling headphones',
  '跑步鞋',
  'cat food',
  'nonstick pan',
  'lego',
  '电动牙刷',
  'laptop backpack',
  'coffee maker',
  'yoga mat',
  'wireless mouse',
  '英语词典',
];

interface Shot {
  status: number;
  ms: number;
  retryAfter: string | null;
}

/** Keep-alive connections, at most `connections` of them: each worker loop reuses one. */
let agent = keepAliveAgent(1);

/** One search (node:http: lighter than fetch, and the load generator shares the machine with the service). */
async function shoot(url: string, i: number, timeoutMs: number): Promise<Shot> {
  const q = encodeURIComponent(QUERIES[i % QUERIES.length]!);
  // The body is dropped: a run keeps every shot.
  const { status, ms, retryAfter } = await httpGet(`${url}/v1/search?q=${q}&size=10`, agent, timeoutMs);
  return { status, ms, retryAfter };
}

export async function runOverloadBench(o: OverloadOptions) {
  const dir = mkdtempSync(path.join(tmpdir(), 'shelf-overload-'));
  const service = await startService(o.env ?? process.env, path.join(dir, 'data'));
  const url = service.url;
  try {
    // Warm up (model, caches, JIT), then the unloaded baseline: one connection, one request at a time.
    for (let i = 0; i < 50; i++) await shoot(url, i, o.timeoutMs);
    const unloaded: Shot[] = [];
    for (let i = 0; i < o.unloadedRequests; i++) unloaded.push(await shoot(url, i, o.timeoutMs));

    agent.destroy();
    agent = keepAliveAgent(o.connections);
    const load1 = loadavg()[0]!;
    const shots: Shot[] = [];
    const until = performance.now() + o.durationS * 1000;
    let n = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: o.connections }, async () => {
        while (performance.now() < until) shots.push(await shoot(url, n++, o.timeoutMs));
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const load2 = loadavg()[0]!;

    const by = (f: (s: Shot) => boolean) => shots.filter(f);
    const ok = by((s) => s.status === 200);
    const shed = by((s) => s.status === 503);
    const limited = by((s) => s.status === 429);
    const other = by((s) => ![200, 429, 503].includes(s.status));
    const refused = [...shed, ...limited];
    const unloadedSummary = summarize(unloaded.filter((s) => s.status === 200).map((s) => s.ms));
    const admitted = summarize(ok.map((s) => s.ms));
    const share = (k: number) => Math.round((k / Math.max(1, shots.length)) * 10_000) / 100;
    const result = {
      benchmark: 'overload',
      connections: o.connections,
      duration_s: Math.round(seconds * 10) / 10,
      service_env: Object.fromEntries(
        Object.entries(o.env ?? process.env).filter(([k]) => k.startsWith('SHELF_') && !/SECRET|KEY/.test(k)),
      ),
      load_average_1m: { before: Math.round(load1 * 100) / 100, after: Math.round(load2 * 100) / 100 },
      unloaded: unloadedSummary,
      requests: shots.length,
      throughput_rps: Math.round((shots.length / seconds) * 10) / 10,
      admitted_rps: Math.round((ok.length / seconds) * 10) / 10,
      admitted,
      admitted_p99_over_unloaded_p99: Math.round((admitted.p99_ms / unloadedSummary.p99_ms) * 100) / 100,
      shed_pct: share(shed.length),
      rate_limited_pct: share(limited.length),
      refused: summarize(refused.map((s) => s.ms)),
      refused_max_ms: Math.round(Math.max(0, ...refused.map((s) => s.ms))),
      refusals_without_retry_after: refused.filter((s) => s.retryAfter === null).length,
      other_statuses: Object.fromEntries(
        [...new Set(other.map((s) => s.status))].map((st) => [
          st === 0 ? 'timeout_or_error' : String(st),
          by((s) => s.status === st).length,
        ]),
      ),
      slower_than_ms: o.slowMs,
      slower_than: shots.filter((s) => s.ms > o.slowMs).length,
      max_ms: Math.round(Math.max(0, ...shots.map((s) => s.ms))),
    };
    mkdirSync(o.outDir, { recursive: true });
    writeFileSync(path.join(o.outDir, 'overload.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    agent.destroy();
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
