import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, ROOT } from '../../src/config.ts';
import { loadTextEmbedder, parseEmbedderSpec } from '../../core/embedding/load.ts';
import type { TextEmbedder } from '../../core/embedding/embedder.ts';
import { openService, type Service } from '../../src/service.ts';
import { exportTrainingData, type TrainingSummary } from '../../ranking/training-data.ts';
import { mulberry32, type Rng } from '../../core/rng.ts';
import { comparePaired } from '../kit/stats.ts';
import { RANKING_SHOP, type ShopSize } from './defaults.ts';
import { loadTaobaoShapes, requestTimes, type Shape } from './sessions.ts';
import {
  buildWorld,
  buyProb,
  clickProb,
  drawQuery,
  examine,
  loadCatalogProducts,
  type SimUser,
  type World,
} from './world.ts';

const run = promisify(execFile);

/**
 * The whole ranking loop against the real service, in process (Hono app.request, no sockets):
 *
 *   serve (heuristic order, features logged) → simulated shoppers see, click and buy, events go
 *   to POST /v1/events with the request_id → export (served log ⋈ events) → train.py (ESMM +
 *   baselines) → deploy the model into the folder the running service polls → serve again,
 *   and compare fusion order, the heuristic and the model on fresh requests by nDCG@10 of the
 *   purchases the hidden preferences say each shopper would make.
 *
 * Everything is seeded and replayed in event time (the service's ranker clock follows the
 * simulated time), so a run is reproducible. All figures it produces come from SIMULATED
 * shoppers over a real catalog and real (Taobao) session shapes.
 */
/** The simulated shop every simulator command runs: catalog, session shapes, shoppers, visits. */
export interface ShopOptions {
  catalog?: string;
  taobao?: string;
  /** Scratch folder: index, behaviour logs (and, for the loop, training data and the candidate model). */
  workDir: string;
  users?: number;
  maxVisits?: number;
  perVisit?: number;
  /** Fresh requests per shopper in the evaluation phase. */
  evalRequests?: number;
  seed?: number;
  embedder?: TextEmbedder;
  log?: (line: string) => void;
}

export interface LoopOptions extends ShopOptions {
  pageSize?: number;
  /** Extra train.py arguments (e.g. --epochs 20). */
  trainArgs?: string[];
  python?: string;
}

export interface NdcgReport {
  requests: number;
  /** Requests with at least one sampled purchase (the ones sampled nDCG averages over). */
  judged: number;
  fusion: number;
  heuristic: number;
  model: number;
  /** Same, with each item's purchase probability as a graded gain (no sampling noise). */
  expected: { fusion: number; heuristic: number; model: number };
  /**
   * The trained model's expected nDCG@10 against the heuristic and fusion orders, paired over
   * requests: mean difference, bootstrap 95% interval, randomization p (kit/stats.ts).
   */
  model_vs?: Record<'heuristic' | 'fusion', { mean_diff: number; ci95: [number, number]; p_value: number }>;
}

export interface LoopResult {
  training: { summary: TrainingSummary; metrics: Record<string, unknown>; model_version: string; seconds: number };
  deployed: { version: string; picked_up_ms: number };
  ndcg10: { search: NdcgReport; feed: NdcgReport };
  served_after_deploy: { model_version: string | undefined; has_scores: boolean };
  log_phase: { requests: number; impressions: number; clicks: number; purchases: number; seconds: number };
  config: Required<Pick<LoopOptions, 'users' | 'maxVisits' | 'perVisit' | 'evalRequests' | 'pageSize' | 'seed'>> & {
    catalog: string;
    taobao: string;
  };
}

/** Simulated time starts here (fixed, so runs are reproducible; well before any wall clock). */
export const SIM_EPOCH = Date.parse('2025-06-01T08:00:00Z');

/** Simulated event time; the service's ranker clock reads it. */
export interface SimClock {
  now: number;
}

/**
 * Simulated shoppers visit the running service (their Taobao shape spaces the requests), see a
 * page, click and buy by their hidden preferences, and the events go to /v1/events: this is
 * what gives the state store its history. The served log records every page.
 */
export async function shopPhase(
  service: Service,
  world: World,
  shapes: readonly Shape[],
  cfg: { seed: number; maxVisits: number; perVisit: number; pageSize: number },
  clock: SimClock,
): Promise<{ requests: number; impressions: number; clicks: number; purchases: number }> {
  const stats = { requests: 0, impressions: 0, clicks: 0, purchases: 0 };
  for (const [i, user] of world.users.entries()) {
    const rng = mulberry32(cfg.seed * 1_000_003 + i);
    const shape: Shape = shapes[i % shapes.length]!;
    const userStart = SIM_EPOCH + i * 60_000;
    for (const visit of requestTimes(shape, cfg.maxVisits, cfg.perVisit)) {
      for (const [k, offset] of visit.entries()) {
        clock.now = userStart + offset;
        const surface = rng() < (k === 0 ? 0.6 : 0.5) ? 'search' : 'feed';
        const res = await request(service, surface, user, world, rng, cfg.pageSize, false);
        const events = act(user, world, res, clock.now, rng);
        stats.requests++;
        stats.impressions += res.items.length;
        stats.clicks += events.filter((e) => e.type === 'click').length;
        stats.purchases += events.filter((e) => e.type === 'purchase').length;
        await postEvents(service, events);
      }
    }
  }
  await service.served.flush();
  return stats;
}

export const DEFAULT_TAOBAO = path.resolve(ROOT, '../shared/datasets/taobao-userbehavior-sample/UserBehavior.csv');

/**
 * The simulated shop every simulator command starts from: the world (catalog + hidden
 * preferences), the Taobao session shapes, and the real service over the catalog with an inline
 * consumer, the ranker reading `modelDir` and its clock on simulated time, MMR off (each command
 * compares orders itself), request ids reset so a seeded run repeats.
 */
export async function openSimShop(
  o: ShopOptions,
  d: ShopSize & { pageSize: number; modelDir: string; refreshMs: number },
) {
  const cfg = {
    users: o.users ?? d.users,
    maxVisits: o.maxVisits ?? d.maxVisits,
    perVisit: o.perVisit ?? d.perVisit,
    evalRequests: o.evalRequests ?? d.evalRequests,
    pageSize: d.pageSize,
    seed: o.seed ?? d.seed,
    catalog: path.resolve(o.catalog ?? path.join(ROOT, 'data/demo/catalog.jsonl')),
    taobao: path.resolve(o.taobao ?? DEFAULT_TAOBAO),
  };
  const log = o.log ?? (() => {});
  const world = buildWorld(loadCatalogProducts(cfg.catalog), cfg.users, cfg.seed);
  const shapes = loadTaobaoShapes(cfg.taobao);
  if (shapes.length === 0) throw new Error(`${cfg.taobao}: no page views`);
  const config = loadConfig({
    SHELF_DATA_DIR: path.join(o.workDir, 'data'),
    SHELF_CATALOG: cfg.catalog,
    SHELF_CONSUMER: 'inline',
    SHELF_RANK: 'model',
    // The loop compares orders on search too: the shipped model is what it trains.
    SHELF_RANK_SEARCH: 'model',
    SHELF_RANK_MODEL_DIR: d.modelDir,
    SHELF_RANK_REFRESH_MS: String(d.refreshMs),
    SHELF_MMR_SEARCH_ENABLED: 'false',
    SHELF_MMR_FEED_ENABLED: 'false',
    SHELF_MMR_SIMILAR_ENABLED: 'false',
    // Simulated shoppers act faster than people: no per-shopper rate limit, no shedding.
    SHELF_MAX_IN_FLIGHT: '0',
    SHELF__SERVICE__LIMITS__SHOPPER__POINTS: '0',
  });
  const embedder = o.embedder ?? (await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder)));
  const service = await openService(config, {
    embedder,
    catalog: config.service.catalog,
    log: (l) => log(`service: ${l}`),
    // Seeded request ids, named by the service (a client cannot choose them): the training split hashes them.
    // Only the pages request() asks for count, as when the simulator sent them as X-Request-Id.
    requestIds: (c) =>
      c.req.method === 'GET' && /^\/v1\/(search|feed)$/.test(c.req.path)
        ? `sim-${c.req.query('user_id')}-${++requestSeq}`
        : crypto.randomUUID(),
  });
  const clock: SimClock = { now: SIM_EPOCH };
  resetRequestIds();
  service.ranker.clock = () => clock.now;
  return { cfg, log, world, shapes, service, clock, dataDir: config.service.dataDir };
}

export async function runRankingLoop(o: LoopOptions): Promise<LoopResult> {
  const modelDir = path.join(o.workDir, 'serving-model');
  await mkdir(modelDir, { recursive: true });
  // This loop compares the ranker's orders; diversity (diversity/) has its own eval (`eval -- diversity`).
  const { cfg, log, world, shapes, service, clock, dataDir } = await openSimShop(o, {
    ...RANKING_SHOP,
    pageSize: o.pageSize ?? 10,
    modelDir,
    refreshMs: 100,
  });
  try {
    // ---- 1. serve under the heuristic order, log, and let simulated shoppers act
    service.ranker.setMode('heuristic');
    const t0 = performance.now();
    const stats = await shopPhase(service, world, shapes, cfg, clock);
    const logSeconds = (performance.now() - t0) / 1000;
    log(
      `log phase: ${stats.requests} requests, ${stats.impressions} impressions, ${stats.clicks} clicks, ${stats.purchases} purchases in ${logSeconds.toFixed(1)} s`,
    );

    // ---- 2. export what was served and what happened, train
    const trainFile = path.join(o.workDir, 'training.jsonl');
    const summary = await exportTrainingData(dataDir, trainFile);
    const candidate = path.join(o.workDir, 'candidate-model');
    const t1 = performance.now();
    const { stdout } = await run(
      o.python ?? '/usr/bin/python3',
      [
        path.join(ROOT, 'models/ranker/train.py'),
        '--data',
        trainFile,
        '--out',
        candidate,
        '--seed',
        String(cfg.seed),
        '--source',
        `simulator: ${path.basename(cfg.catalog)}, ${cfg.users} simulated shoppers, Taobao session shapes, seed ${cfg.seed}`,
        ...(o.trainArgs ?? []),
      ],
      { maxBuffer: 64 << 20 },
    );
    const trained = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      version: string;
      metrics: Record<string, unknown>;
    };
    const trainSeconds = (performance.now() - t1) / 1000;
    log(`trained ${trained.version} in ${trainSeconds.toFixed(1)} s`);

    // ---- 3. deploy into the folder the running service polls; no restart
    const t2 = performance.now();
    await deployModel(candidate, modelDir);
    service.ranker.setMode('model');
    while (service.ranker.status.model_version !== trained.version) {
      if (performance.now() - t2 > 15_000)
        throw new Error(
          `the service did not pick up model ${trained.version}: ${JSON.stringify(service.ranker.status)}`,
        );
      await sleep(20);
    }
    const pickedUp = performance.now() - t2;

    // ---- 4. serve again: fusion vs heuristic vs model on fresh requests (no events sent)
    const acc = { search: newAcc(), feed: newAcc() };
    let afterDeploy: LoopResult['served_after_deploy'] = { model_version: undefined, has_scores: false };
    for (const { i, r, user, rng, surface, query } of freshRequests(world, cfg, clock)) {
      const lists: Record<'fusion' | 'heuristic' | 'model', string[]> = { fusion: [], heuristic: [], model: [] };
      for (const mode of ['off', 'heuristic', 'model'] as const) {
        service.ranker.setMode(mode);
        const res = await request(
          service,
          surface,
          user,
          world,
          rng,
          cfg.pageSize,
          mode === 'model' && i === 0 && r === 0,
          query,
        );
        lists[mode === 'off' ? 'fusion' : mode] = res.items.map((it) => it.id);
        if (res.debug)
          afterDeploy = {
            model_version: res.debug.ranking?.model_version,
            has_scores: res.items.every(
              (it) => typeof it.debug?.p_ctr === 'number' && typeof it.debug?.p_cvr === 'number',
            ),
          };
      }
      score(acc[surface], user, world, lists, mulberry32(cfg.seed * 31 + i * 1_000 + r));
    }
    service.ranker.setMode('model');
    return {
      training: { summary, metrics: trained.metrics, model_version: trained.version, seconds: round(trainSeconds, 1) },
      deployed: { version: trained.version, picked_up_ms: Math.round(pickedUp) },
      ndcg10: { search: report(acc.search), feed: report(acc.feed) },
      served_after_deploy: afterDeploy,
      log_phase: { ...stats, seconds: round(logSeconds, 1) },
      config: cfg,
    };
  } finally {
    await service.close();
  }
}

/**
 * The evaluation requests after the shopping phase, the same for every evaluation of one world
 * (the ranking loop, the diversity sweep): per user a seeded generator, a clock 30 days on, and
 * `evalRequests` draws of surface and query. A generator, so the caller's own draws from `rng`
 * between two requests stay in the same order.
 */
export function* freshRequests(
  world: World,
  cfg: { seed: number; evalRequests: number },
  clock: SimClock,
): Generator<{ i: number; r: number; user: SimUser; rng: Rng; surface: 'search' | 'feed'; query: string | undefined }> {
  for (const [i, user] of world.users.entries()) {
    const rng = mulberry32(cfg.seed * 7_919 + i + 1);
    clock.now = SIM_EPOCH + 30 * 86_400_000 + i * 60_000;
    for (let r = 0; r < cfg.evalRequests; r++) {
      const surface = rng() < 0.5 ? 'search' : 'feed';
      yield { i, r, user, rng, surface, query: surface === 'search' ? drawQuery(user, world, rng) : undefined };
    }
  }
}

/** Copies a trained model into a served folder: model.onnx first, metadata.json last, each by rename. */
export async function deployModel(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const f of ['model.onnx', 'metadata.json']) {
    await copyFile(path.join(from, f), path.join(to, `${f}.tmp`));
    await rename(path.join(to, `${f}.tmp`), path.join(to, f));
  }
}

let requestSeq = 0;

/** Restarts the seeded request ids (a run's ids must not depend on earlier runs in the process). */
export function resetRequestIds(): void {
  requestSeq = 0;
}

export interface ShownItem {
  id: string;
  score?: number;
  category?: string;
  brand?: string;
  debug?: { p_ctr?: number; p_cvr?: number };
}
export interface Shown {
  request_id: string;
  items: ShownItem[];
  debug?: { ranking?: { model_version?: string } };
}

export async function request(
  service: Service,
  surface: 'search' | 'feed',
  user: SimUser,
  world: World,
  rng: Rng,
  size: number,
  debug: boolean,
  fixedQuery?: string,
): Promise<Shown> {
  const params = new URLSearchParams({ user_id: user.id, size: String(size), ...(debug && { debug: 'true' }) });
  if (surface === 'search') params.set('q', fixedQuery ?? drawQuery(user, world, rng));
  // The service names the request with a seeded id (openSimShop's requestIds): the training split hashes it.
  const res = await service.app.request(`/v1/${surface}?${params}`);
  if (res.status !== 200) throw new Error(`${surface} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Shown;
}

interface SimEvent {
  event_id: string;
  type: 'impression' | 'click' | 'purchase';
  user_id: string;
  product_id: string;
  request_id: string;
  position: number;
  ts: number;
}

/** What the shopper does with a page: every slot is an impression; clicks and purchases by the hidden model. */
function act(user: SimUser, world: World, shown: Shown, ts: number, rng: Rng): SimEvent[] {
  const out: SimEvent[] = [];
  const base = { user_id: user.id, request_id: shown.request_id };
  shown.items.forEach((it, k) => {
    const p = world.byId.get(it.id);
    out.push({
      ...base,
      event_id: `${shown.request_id}:i:${k}`,
      type: 'impression',
      product_id: it.id,
      position: k,
      ts: ts + 100,
    });
    if (!p) return;
    if (rng() < examine(k) * clickProb(user, p)) {
      out.push({
        ...base,
        event_id: `${shown.request_id}:c:${k}`,
        type: 'click',
        product_id: it.id,
        position: k,
        ts: ts + 2_000 + k,
      });
      if (rng() < buyProb(user, p))
        out.push({
          ...base,
          event_id: `${shown.request_id}:p:${k}`,
          type: 'purchase',
          product_id: it.id,
          position: k,
          ts: ts + 60_000 + k,
        });
    }
  });
  return out;
}

/** Posts the events and waits until the consumer applied them, so the next request sees them. */
async function postEvents(service: Service, events: SimEvent[]): Promise<void> {
  if (events.length === 0) return;
  const res = await service.app.request('/v1/events', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  if (res.status !== 200) throw new Error(`events answered ${res.status}: ${await res.text()}`);
  const last = events.at(-1)!.event_id;
  const t0 = performance.now();
  while (!(await service.behavior.state.applied([last])).has(last)) {
    if (performance.now() - t0 > 10_000) throw new Error('the consumer did not apply the simulated events within 10 s');
    await sleep(1);
  }
}

interface Acc {
  requests: number;
  judged: number;
  sums: Record<'fusion' | 'heuristic' | 'model', number>;
  expected: Record<'fusion' | 'heuristic' | 'model', number>;
  /** Per request, the expected nDCG@10 of each order (for the paired intervals). */
  perRequest: Record<'fusion' | 'heuristic' | 'model', number[]>;
}
const newAcc = (): Acc => ({
  requests: 0,
  judged: 0,
  sums: { fusion: 0, heuristic: 0, model: 0 },
  expected: { fusion: 0, heuristic: 0, model: 0 },
  perRequest: { fusion: [], heuristic: [], model: [] },
});

/**
 * nDCG@10 of purchases: each item of the union of the three lists is bought or not (one draw of
 * P(click | examined) · P(buy | click), shared by the three orders); the ideal is the union's
 * purchases first. The expected variant uses the probability itself as the gain.
 */
function score(
  acc: Acc,
  user: SimUser,
  world: World,
  lists: Record<'fusion' | 'heuristic' | 'model', string[]>,
  rng: Rng,
): void {
  const union = [...new Set([...lists.fusion, ...lists.heuristic, ...lists.model])].sort();
  const p = new Map(
    union.map((id) => {
      const sp = world.byId.get(id);
      return [id, sp ? clickProb(user, sp) * buyProb(user, sp) : 0] as const;
    }),
  );
  const bought = new Map(union.map((id) => [id, rng() < p.get(id)! ? 1 : 0] as const));
  acc.requests++;
  const k = 10;
  const judged = [...bought.values()].some((b) => b > 0);
  if (judged) acc.judged++;
  for (const m of ['fusion', 'heuristic', 'model'] as const) {
    if (judged) acc.sums[m] += ndcg(lists[m], bought, k);
    const e = ndcg(lists[m], p, k);
    acc.expected[m] += e;
    acc.perRequest[m].push(e);
  }
}

export function ndcg(list: readonly string[], gain: ReadonlyMap<string, number>, k: number): number {
  const disc = (i: number) => 1 / Math.log2(i + 2);
  let dcg = 0;
  list.slice(0, k).forEach((id, i) => (dcg += (gain.get(id) ?? 0) * disc(i)));
  const ideal = [...gain.values()]
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((s, g, i) => s + g * disc(i), 0);
  return ideal > 0 ? dcg / ideal : 0;
}

function report(a: Acc): NdcgReport {
  const avg = (x: number, n: number) => round(n > 0 ? x / n : 0, 4);
  return {
    requests: a.requests,
    judged: a.judged,
    fusion: avg(a.sums.fusion, a.judged),
    heuristic: avg(a.sums.heuristic, a.judged),
    model: avg(a.sums.model, a.judged),
    expected: {
      fusion: avg(a.expected.fusion, a.requests),
      heuristic: avg(a.expected.heuristic, a.requests),
      model: avg(a.expected.model, a.requests),
    },
    model_vs: {
      heuristic: paired(a.perRequest.model, a.perRequest.heuristic),
      fusion: paired(a.perRequest.model, a.perRequest.fusion),
    },
  };
}

function paired(a: readonly number[], b: readonly number[]) {
  const c = comparePaired(a, b, { rounds: 2000, seed: 42 });
  return {
    mean_diff: round(c.mean_diff, 5),
    ci95: [round(c.ci_low, 5), round(c.ci_high, 5)] as [number, number],
    p_value: round(c.p_value, 4),
  };
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The trained model's metadata (for reports). */
export async function readModelMetadata(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(dir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
}
