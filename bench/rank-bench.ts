import fs from 'node:fs';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { indexCatalog } from '../indexer/index-catalog.ts';
import { silentProgress, terminalProgress } from '../indexer/progress.ts';
import { SqliteStateStore } from '../behavior/embedded/sqlite-state-store.ts';
import type { StateStore } from '../behavior/state-store.ts';
import { emptyUserState, type UserState } from '../behavior/user-state.ts';
import { productTimes } from '../ranking/apply.ts';
import { RankConfigSchema } from '../ranking/config.ts';
import type { RankInput } from '../ranking/inputs.ts';
import { Ranker } from '../ranking/ranker.ts';
import { openSearcher } from '../retrieval/recall/searcher.ts';
import { createApp } from '../src/app.ts';
import { loadConfig, ROOT } from '../src/config.ts';
import { openService } from '../src/service.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { mulberry32 } from '../core/rng.ts';
import { summarize } from './stats.ts';
import { syntheticCatalog } from './synthetic.ts';
import { MmrConfigSchema } from '../diversity/config.ts';

export interface RankBenchOptions {
  outDir: string;
  candidates?: number;
  iterations?: number;
  modelDir?: string;
  seed?: number;
  /** Also measure search over HTTP with ranking off and on at this many synthetic products (0: skip). */
  products?: number;
  queries?: number;
  /** Also measure /v1/feed with ranking off and on over the demo catalog with this many shoppers (0: skip). */
  feedShoppers?: number;
  embedder?: TextEmbedder;
  quiet?: boolean;
}

/** A state store holding one shopper and popularity for every product, in memory. */
function memoryState(user: UserState, rnd: () => number): StateStore {
  return {
    getUsers: async (subjects: readonly string[]) =>
      new Map(subjects.filter((s) => s === user.subject).map((s) => [s, user])),
    itemCounts: async (ids: readonly string[]) => new Map(ids.map((id) => [id, Math.floor(rnd() * 500)])),
  } as unknown as StateStore;
}

/**
 * Ranking cost: one request's candidates (default 500) featurized, scored in one onnxruntime
 * run and sorted, `iterations` times after a warm-up. Optionally, hybrid search over HTTP at N
 * products with ranking off and on (window 100), side by side.
 */
export async function runRankBench(opts: RankBenchOptions) {
  const log = (s: string) => opts.quiet || console.error(s);
  const n = opts.candidates ?? 500;
  const iterations = opts.iterations ?? 1000;
  const rnd = mulberry32(opts.seed ?? 42);
  const modelDir = opts.modelDir ?? path.join(ROOT, 'models/ranker/default');
  const user = emptyUserState('u:bench');
  user.categories = { 'sports/footwear': 3, 'home & kitchen/cookware': 1.5, electronics: 0.7 };
  user.brands = { nike: 2, sony: 1 };
  user.price = { w: 2, log_sum: 2 * Math.log(80) };
  user.counts = { view: 40, click: 12, add_to_cart: 3, purchase: 2, impression: 300 };
  user.recent = [{ id: 'c7', ts: 1, w: 2 }];
  const ranker = await Ranker.open(
    RankConfigSchema.parse({ model_dir: modelDir, refresh_ms: 0, window: Math.max(n, 100) }),
    { state: memoryState(user, rnd) },
  );
  if (ranker.status.mode !== 'model')
    throw new Error(`no usable model in ${modelDir}: ${JSON.stringify(ranker.status)}`);
  const cats = [
    'sports/footwear/running',
    'home & kitchen/cookware/pans',
    'electronics/audio',
    '图书/教育',
    'toys/blocks',
  ];
  const brands = ['nike', 'sony', 't-fal', 'lego', '小米'];
  const candidates: RankInput[] = Array.from({ length: n }, (_, i) => ({
    id: `c${i}`,
    fusion_position: i,
    fused_score: 2 / (61 + i),
    routes: {
      // Term coverage as a three-word query's hits report it (rank-features-v2 reads it).
      bm25: { rank: i + 1, score: 20 - i * 0.02, coverage: [1, 2 / 3, 1 / 3][i % 3]! },
      ...(i % 2 === 0 && { vector: { rank: i / 2 + 1, score: 0.8 - i * 0.001 } }),
    },
    category_key: cats[i % cats.length],
    brand_key: brands[i % brands.length],
    price: 5 + rnd() * 500,
    updated_ms: Date.now() - rnd() * 400 * 86_400_000,
  }));
  const req = { surface: 'search' as const, subject: 'u:bench' };
  for (let i = 0; i < 100; i++) await ranker.rank(req, candidates);
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const s = performance.now();
    await ranker.rank(req, candidates);
    ms.push(performance.now() - s);
  }
  const scoring = summarize(ms);
  const version = ranker.status.model_version;
  log(`rank ${n} candidates: p50 ${scoring.p50_ms} ms, p99 ${scoring.p99_ms} ms (model ${version})`);
  await ranker.close();

  let search: Record<string, unknown> | undefined;
  if (opts.products && opts.products > 0) {
    if (!opts.embedder) throw new Error('the search part needs an embedder');
    search = await searchWithRanking(
      opts.products,
      opts.queries ?? 1000,
      opts.seed ?? 42,
      modelDir,
      opts.embedder,
      opts.outDir,
      log,
      opts.quiet ?? false,
    );
  }

  let feed: Record<string, unknown> | undefined;
  if (opts.feedShoppers && opts.feedShoppers > 0) {
    if (!opts.embedder) throw new Error('the feed part needs an embedder');
    feed = await feedWithRanking(opts.feedShoppers, modelDir, opts.embedder, log);
  }

  const result = {
    candidates: n,
    p50_ms: scoring.p50_ms,
    p99_ms: scoring.p99_ms,
    target_p99_ms: 5,
    scoring: {
      ...scoring,
      iterations,
      includes: 'featurize (user + item + match + context) + one onnxruntime run + sort; state reads from memory',
    },
    model: { dir: path.relative(ROOT, modelDir) || modelDir, version: version ?? null },
    ...(search && { search }),
    ...(feed && { feed }),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  };
  fs.mkdirSync(opts.outDir, { recursive: true });
  fs.writeFileSync(path.join(opts.outDir, 'bench-rank.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

/** /v1/feed in process over the demo catalog: shoppers with 5 clicks each, ranking off vs on, interleaved. */
async function feedWithRanking(shoppers: number, modelDir: string, embedder: TextEmbedder, log: (s: string) => void) {
  const dir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'shelf-rank-feed-'));
  const catalog = path.join(ROOT, 'data/demo/catalog.jsonl');
  const config = loadConfig({
    SHELF_DATA_DIR: dir,
    SHELF_CATALOG: catalog,
    SHELF_CONSUMER: 'inline',
    SHELF_RANK_MODEL_DIR: modelDir,
  });
  const service = await openService(config, { embedder, catalog, log: () => {} });
  try {
    const ids = fs
      .readFileSync(catalog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { id: string }).id);
    const events = [];
    let n = 0;
    for (let u = 0; u < shoppers; u++)
      for (let k = 0; k < 5; k++)
        events.push({
          event_id: `b${n++}`,
          type: 'click',
          user_id: `u${u}`,
          product_id: ids[(u * 7 + k * 13) % ids.length],
          ts: Date.now() - 1000 + k,
        });
    for (let i = 0; i < events.length; i += 1000) {
      await service.app.request('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: events.slice(i, i + 1000) }),
      });
    }
    const last = `b${n - 1}`;
    while (!(await service.behavior.state.applied([last])).has(last)) await new Promise((r) => setTimeout(r, 20));
    const ms = { off: [] as number[], on: [] as number[] };
    for (let round = 0; round < 3; round++) {
      for (let u = 0; u < shoppers; u++) {
        for (const mode of ['off', 'on'] as const) {
          service.ranker.setMode(mode === 'on' ? 'model' : 'off');
          const s = performance.now();
          const res = await service.app.request(`/v1/feed?user_id=u${u}&size=10`);
          await res.arrayBuffer();
          if (round > 0) ms[mode].push(performance.now() - s);
        }
      }
    }
    const out = {
      shoppers,
      catalog: 'data/demo/catalog.jsonl',
      in_process: true,
      ranking_off: summarize(ms.off),
      ranking_on: summarize(ms.on),
    };
    log(
      `feed in process: ranking off p50 ${out.ranking_off.p50_ms} / p99 ${out.ranking_off.p99_ms} ms; on p50 ${out.ranking_on.p50_ms} / p99 ${out.ranking_on.p99_ms} ms`,
    );
    return out;
  } finally {
    await service.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function searchWithRanking(
  products: number,
  queryCount: number,
  seed: number,
  modelDir: string,
  embedder: TextEmbedder,
  outDir: string,
  log: (s: string) => void,
  quiet: boolean,
) {
  const work = path.join(outDir, `work-rank-${products}`);
  const dataDir = path.join(work, 'data');
  const { products: catalog, queries } = syntheticCatalog(products, seed, queryCount);
  if (!fs.existsSync(path.join(dataDir, 'CURRENT'))) {
    fs.mkdirSync(work, { recursive: true });
    const catalogPath = path.join(work, 'catalog.jsonl');
    fs.writeFileSync(catalogPath, catalog.map((p) => JSON.stringify(p)).join('\n') + '\n');
    log(`indexing ${products} products`);
    await indexCatalog({ catalogPath, dataDir, embedder, progress: quiet ? silentProgress : terminalProgress() });
  }
  const searcher = await openSearcher({ dataDir, embedder });
  // The embedded state store, as served: the ranker reads the shopper and the candidates' popularity from it.
  const state = new SqliteStateStore({ file: path.join(work, 'state.sqlite'), trendingHalfLifeMs: 86_400_000 });
  const ranker = await Ranker.open(RankConfigSchema.parse({ model_dir: modelDir, refresh_ms: 0 }), {
    state,
    updatedAt: productTimes(searcher),
  });
  // Two apps on the same searcher and ranker: without and with the diversity stage (the
  // service's default MMR settings for search), each on its own port.
  const listen = async (app: ReturnType<typeof createApp>) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return { server, port: (server.address() as { port: number }).port };
  };
  const plain = await listen(createApp({ searcher, embedder, ranker }));
  const diverse = await listen(createApp({ searcher, embedder, ranker, mmr: MmrConfigSchema.parse({}) }));
  const url = (port: number, q: string) =>
    `http://127.0.0.1:${port}/v1/search?q=${encodeURIComponent(q)}&size=10&user_id=bench`;
  const out: Record<string, ReturnType<typeof summarize>> = {};
  // Interleaved: each query runs with ranking off, on, and on + MMR, so all see the same machine state.
  const modes = {
    off: { rank: 'off', port: plain.port },
    on: { rank: 'model', port: plain.port },
    on_mmr: { rank: 'model', port: diverse.port },
  } as const;
  const ms = { off: [] as number[], on: [] as number[], on_mmr: [] as number[] };
  for (const q of queries.slice(0, 100))
    for (const p of [plain.port, diverse.port]) await (await fetch(url(p, q))).arrayBuffer();
  for (const q of queries) {
    for (const mode of ['off', 'on', 'on_mmr'] as const) {
      ranker.setMode(modes[mode].rank);
      const s = performance.now();
      const res = await fetch(url(modes[mode].port, q));
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status} for ${q}`);
      ms[mode].push(performance.now() - s);
    }
  }
  plain.server.close();
  diverse.server.close();
  await ranker.close();
  await state.close();
  await searcher.close();
  out.ranking_off = summarize(ms.off);
  out.ranking_on = summarize(ms.on);
  out.ranking_on_mmr = summarize(ms.on_mmr);
  log(
    `search over HTTP at ${products}: ranking off p50 ${out.ranking_off.p50_ms} / p99 ${out.ranking_off.p99_ms} ms; on p50 ${out.ranking_on.p50_ms} / p99 ${out.ranking_on.p99_ms} ms; ` +
      `on + MMR p50 ${out.ranking_on_mmr.p50_ms} / p99 ${out.ranking_on_mmr.p99_ms} ms`,
  );
  return {
    products,
    queries: queries.length,
    window: 100,
    state: 'embedded SQLite (shopper + item counts read per request)',
    mmr: MmrConfigSchema.parse({}).search,
    http: out,
    target_p99_ms: 20,
  };
}
