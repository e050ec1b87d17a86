import { serve } from '@hono/node-server';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from '../src/config.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import type { Product } from '../core/catalog/product.ts';
import { readCatalog } from '../core/catalog/read.ts';
import { openService } from '../src/service.ts';
import { followGenerations } from '../src/follow-generations.ts';
import type { Subscription } from '../behavior/event-log.ts';
import { openIndexBackend } from '../retrieval/index/open-backend.ts';
import { indexLocation } from '../src/settings/schema.ts';
import type { IndexSummary } from '../indexer/index-catalog.ts';
import { percentile } from '../eval/kit/stats.ts';
import { summarize } from './stats.ts';

export interface CatalogFreshnessOptions {
  config: Config;
  embedder: TextEmbedder;
  catalog: string;
  outDir: string;
  /** Updates timed (each a price or a stock change of one product). */
  updates: number;
  /**
   * embedded: the endpoint applies into a new generation. kafka: the endpoint publishes on the
   * catalog topic and a follower (as `npm run index -- --follow`, in this process) applies it to
   * the index the config names (Elasticsearch + Qdrant when set).
   */
  backend: 'embedded' | 'kafka';
  /** Give up on one update after this long. */
  timeoutMs?: number;
}

/**
 * Catalog freshness as a shop sees it, over real HTTP: `POST /v1/admin/catalog/changes` with
 * one `{"op":"update"}` line (a new price, or stock 0 / back in stock, alternately), then the
 * client polls `/v1/search` for the product's title until the item shows the new price or stock
 * flag. The lag is from sending the update to the first answer that shows it.
 *
 * Each lag is also split where its time went (`breakdown_ms`, p50 and p99 of each part):
 * - embedded: `endpoint` (the POST, which applies the line: `lock`, `read`, `embed`, `write`,
 *   `commit` of the indexer run and `serve`, the service switching to the new generation, from the
 *   answer's `phases_ms`) and `visible_after_endpoint` (the searches after it until one shows it);
 * - kafka: `endpoint` (validate and publish), `delivery` (from the 202 to the follower starting
 *   the batch: the broker and the consumer's fetch), `apply` (the follower's indexer run, split into
 *   the same phases) and `visible_after_apply` (from the end of the follower's run to the first
 *   search that shows it; negative when a search saw it before the run ended).
 */
export async function runCatalogFreshnessBench(opts: CatalogFreshnessOptions) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shelf-catfresh-'));
  const namespace = `catfresh${Date.now().toString(36)}`;
  const key = `bench-${Math.random().toString(36).slice(2)}`;
  const config: Config = {
    ...opts.config,
    service: { ...opts.config.service, dataDir, catalog: '' },
    backends: { ...opts.config.backends, namespace },
    coupons: { ...opts.config.coupons, admin_api_key: key },
  };
  const service = await openService(config, { embedder: opts.embedder, catalog: opts.catalog });
  const server = serve({ fetch: service.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // As `npm start` does: follow generations another process commits (the follower, embedded).
  const generations = followGenerations({
    searcher: service.searcher,
    refreshMs: config.service.refreshMs,
    dataDir: service.backend.kind === 'embedded' ? dataDir : undefined,
  });
  let follower: { sub: Subscription; close: () => Promise<void> } | undefined;
  // The follower's batches as they end: one per update, as each update is sent only once the
  // previous one shows (so a batch never holds two).
  const batches: Array<{ at: number; summary: IndexSummary }> = [];
  try {
    if (opts.backend === 'kafka') {
      // A topic the service just created may not be in every broker's metadata yet: retry the start.
      for (let attempt = 1; !follower; attempt++) {
        try {
          follower = await startFollower(config, opts.embedder, dataDir, (summary) =>
            batches.push({ at: performance.now(), summary }),
          );
        } catch (err) {
          if (attempt >= 10) throw err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
    const { products } = await readCatalog(opts.catalog);
    const timeout = opts.timeoutMs ?? 30_000;
    const search = async (p: Product) => {
      const res = await fetch(`${base}/v1/search?q=${encodeURIComponent(p.title)}&size=50`);
      if (res.status !== 200) throw new Error(`GET /v1/search: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { items: Array<{ id: string; price?: number; in_stock: boolean }> }).items.find(
        (i) => i.id === p.id,
      );
    };
    // Products a title search finds (the lag is read off search results).
    const probes: Product[] = [];
    for (let i = 0; probes.length < Math.min(opts.updates, 50) && i < products.length; i++) {
      const p = products[(i * 37) % products.length]!;
      if (!probes.some((q) => q.id === p.id) && (await search(p))) probes.push(p);
    }
    if (probes.length === 0) throw new Error('no product of the catalog is found by a search for its title');
    const lags: number[] = [];
    const applyMs: number[] = [];
    /** Per update: when the POST was sent and answered, when a search first showed it, the answer's phases. */
    const timed: Array<{ sent: number; answered: number; visible: number; phases?: Record<string, number> }> = [];
    const state = new Map(probes.map((p) => [p.id, { price: p.price ?? 10, inStock: p.in_stock }]));
    for (let t = 0; t < opts.updates; t++) {
      const p = probes[t % probes.length]!;
      const s = state.get(p.id)!;
      const priceChange = t % 2 === 0;
      if (priceChange) s.price = Math.round((s.price + 1.11) * 100) / 100;
      else s.inStock = !s.inStock;
      const line = priceChange
        ? { op: 'update', product: { id: p.id, price: s.price } }
        : { op: 'update', product: { id: p.id, stock: s.inStock ? 5 : 0 } };
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/admin/catalog/changes`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${key}` },
        body: JSON.stringify(line) + '\n',
      });
      const body = (await res.json()) as { accepted?: number; phases_ms?: Record<string, number> };
      if ((res.status !== 200 && res.status !== 202) || body.accepted !== 1)
        throw new Error(`POST /v1/admin/catalog/changes: ${res.status} ${JSON.stringify(body)}`);
      const answered = performance.now();
      applyMs.push(answered - t0);
      for (;;) {
        const item = await search(p);
        if (item && (priceChange ? item.price === s.price : item.in_stock === s.inStock)) break;
        if (performance.now() - t0 > timeout)
          throw new Error(`the update of ${p.id} did not show in search within ${timeout} ms`);
        if (opts.backend === 'kafka') await new Promise((r) => setTimeout(r, 20));
      }
      const visible = performance.now();
      lags.push(visible - t0);
      timed.push({ sent: t0, answered, visible, ...(body.phases_ms && { phases: body.phases_ms }) });
    }
    if (opts.backend === 'kafka') {
      // A search can show an update before the follower's run has returned: wait for the last runs.
      const until = performance.now() + timeout;
      while (batches.length < timed.length && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    }
    const s = summarize(lags);
    const round = (x: number) => Math.round(x * 1000) / 1000;
    const result = {
      backend: opts.backend,
      index: service.backend.kind,
      updates: lags.length,
      products_updated: probes.length,
      catalog_products: products.length,
      p50_ms: s.p50_ms,
      p90_ms: s.p90_ms,
      p99_ms: s.p99_ms,
      mean_ms: s.mean_ms,
      max_ms: round(Math.max(...lags)),
      within_2s: lags.filter((l) => l <= 2000).length,
      endpoint_p50_ms: summarize(applyMs).p50_ms,
      endpoint_p99_ms: summarize(applyMs).p99_ms,
      breakdown_ms: breakdown(opts.backend, timed, batches),
      load_average: os.loadavg().map((x) => Math.round(x * 100) / 100),
    };
    fs.mkdirSync(opts.outDir, { recursive: true });
    fs.writeFileSync(path.join(opts.outDir, 'bench-catalog-freshness.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    generations.stop();
    await follower?.sub.stop();
    await follower?.close();
    server.close();
    await service.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

type Part = { p50: number; p99: number };

/** Where each update's lag went, p50 and p99 of each part (see runCatalogFreshnessBench). */
function breakdown(
  backend: 'embedded' | 'kafka',
  timed: Array<{ sent: number; answered: number; visible: number; phases?: Record<string, number> }>,
  batches: Array<{ at: number; summary: IndexSummary }>,
): Record<string, Part> {
  const rows: Array<Record<string, number>> = timed.map((t, i) => {
    const endpoint = t.answered - t.sent;
    if (backend === 'embedded') return { endpoint, ...t.phases, visible_after_endpoint: t.visible - t.answered };
    const b = batches[i];
    if (!b) return { endpoint };
    const started = b.at - b.summary.took_ms;
    return {
      endpoint,
      delivery: started - t.answered,
      apply: b.summary.took_ms,
      ...b.summary.phases_ms,
      visible_after_apply: t.visible - b.at,
    };
  });
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const round = (x: number) => Math.round(x * 10) / 10;
  return Object.fromEntries(
    names.map((n) => {
      const xs = rows.map((r) => r[n]).filter((x): x is number => x !== undefined);
      return [n, { p50: round(percentile(xs, 50)), p99: round(percentile(xs, 99)) }];
    }),
  );
}

/** `npm run index -- --follow`, in this process: the catalog topic applied to the served index. */
async function startFollower(
  config: Config,
  embedder: TextEmbedder,
  dataDir: string,
  onBatch: (summary: IndexSummary) => void,
) {
  const { KafkaCatalogChanges } = await import('../behavior/kafka/catalog-changes.ts');
  const { followCatalogChanges } = await import('../indexer/follow-catalog.ts');
  // Its own back end, as `npm run index -- --follow` has: not the service's (guarded reads).
  const backend = openIndexBackend(indexLocation(config));
  const topic = await KafkaCatalogChanges.open({
    brokers: config.backends.kafkaBrokers!,
    namespace: config.backends.namespace,
  });
  const sub = await followCatalogChanges({
    topic,
    group: `${config.backends.namespace}-indexer`,
    dataDir,
    backend,
    embedder,
    imageBase: dataDir,
    onBatch,
    onError: (err) => console.error(`catalog follower: ${err.message}`),
  });
  return {
    sub,
    close: async () => {
      await topic.close();
      await backend.close();
    },
  };
}
