import { serve } from '@hono/node-server';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from '../src/config.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { openService } from '../src/service.ts';
import { LIMITS_OFF } from '../src/settings/schema.ts';
import { summarize } from './stats.ts';

export interface FreshnessOptions {
  config: Config;
  embedder: TextEmbedder;
  catalog: string;
  outDir: string;
  /** Click → feed round trips measured. */
  trials: number;
  /** Seconds of sustained ingestion for the throughput figure. */
  ingestSeconds: number;
  backend: 'embedded' | 'kafka';
  /**
   * The feed's `sequence` route (the model in config.sequence.model_dir) on (default) or off. On,
   * a round trip ends only when the feed shows items the route recalled from the click: the
   * shopper tower's run at feed time is inside the measured time.
   */
  sequence?: boolean;
}

/**
 * Freshness as a shopper sees it, over real HTTP: a new shopper clicks a product
 * (`POST /v1/events` returns once the event is durable), then the client polls `/v1/feed`
 * until the feed is built from that click. The time in between covers the stream, the
 * consumer, the state store and the feed. Ingestion is measured separately: batches of 1,000
 * events posted by a few concurrent clients for a fixed time.
 */
export async function runFreshnessBench(opts: FreshnessOptions) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shelf-fresh-'));
  const namespace = `bench${Date.now().toString(36)}`;
  const config: Config = {
    ...opts.config,
    // It measures ingestion and freshness, not protection: no rate limits, no shedding.
    service: { ...opts.config.service, dataDir, limits: LIMITS_OFF },
    backends: { ...opts.config.backends, namespace },
    ...(opts.sequence === false && { sequence: { ...opts.config.sequence, model_dir: '' } }),
  };
  const service = await openService(config, { embedder: opts.embedder, catalog: opts.catalog });
  const server = serve({ fetch: service.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sequence = service.sequence.status;
  try {
    if (opts.sequence !== false && !sequence.active)
      throw new Error(
        `the sequence route is not served (${sequence.reason}): pass sequence: false to measure without it`,
      );
    const ids = await productIds(opts.catalog);
    const post = async (events: unknown[]) => {
      const res = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
      });
      if (res.status !== 200) throw new Error(`POST /v1/events: ${res.status} ${await res.text()}`);
      return (await res.json()) as { accepted: number };
    };
    const feed = async (user: string) =>
      (await (await fetch(`${base}/v1/feed?user_id=${user}&size=10&debug=true`)).json()) as {
        cold_start: boolean;
        items: Array<{ routes?: Record<string, unknown> }>;
      };
    // The click shows once the feed is built from it, and, with the sequence route on, once that
    // route's recall from the click is on the page.
    const reflects = (f: Awaited<ReturnType<typeof feed>>) =>
      !f.cold_start && (!sequence.active || f.items.some((i) => i.routes?.['sequence'] !== undefined));

    // Warm-up: some history so the feed's routes have data, and JIT-warm code paths.
    const warm = Array.from({ length: 2000 }, (_, i) => ({
      event_id: `warm-${i}`,
      type: 'click',
      user_id: `w${i % 50}`,
      product_id: ids[(i * 7) % ids.length]!,
      ts: Date.now(),
    }));
    for (let i = 0; i < warm.length; i += 500) await post(warm.slice(i, i + 500));
    await waitApplied(service, `warm-${warm.length - 1}`);

    const latencies: number[] = [];
    for (let t = 0; t < opts.trials; t++) {
      const user = `fresh-${namespace}-${t}`;
      const t0 = performance.now();
      await post([
        { event_id: `${user}-click`, type: 'click', user_id: user, product_id: ids[t % ids.length]!, ts: Date.now() },
      ]);
      for (;;) {
        if (reflects(await feed(user))) break;
        if (performance.now() - t0 > 10_000) throw new Error(`feed for ${user} did not reflect the click within 10 s`);
      }
      latencies.push(performance.now() - t0);
    }

    // Ingestion: durable acceptance rate with 4 concurrent clients posting 1,000-event batches.
    let accepted = 0;
    let posted = 0;
    const lastIds: string[] = [];
    let batchNo = 0;
    const until = performance.now() + opts.ingestSeconds * 1000;
    const t0 = performance.now();
    const client = async (c: number) => {
      while (performance.now() < until) {
        const b = batchNo++;
        const events = Array.from({ length: 1000 }, (_, i) => ({
          event_id: `ing-${c}-${b}-${i}`,
          type: i % 10 === 0 ? 'add_to_cart' : 'view',
          user_id: `ing-u${(b * 1000 + i) % 5000}`,
          product_id: ids[(b * 31 + i) % ids.length]!,
          ts: Date.now(),
        }));
        // Await first, then add: `accepted += (await post(…)).accepted` reads `accepted` before the
        // await, so four overlapping clients overwrote each other's counts (it reported about a
        // quarter of the events the service had accepted).
        const answer = await post(events);
        accepted += answer.accepted;
        posted += events.length;
        lastIds.push(events[events.length - 1]!.event_id);
      }
    };
    await Promise.all([0, 1, 2, 3].map(client));
    const ingestS = (performance.now() - t0) / 1000;

    // How long the consumer needs to apply that backlog (the live feed lags by this under such load).
    const tApply = performance.now();
    const expected = accepted + warm.length + opts.trials;
    let applied: number | undefined;
    for (let i = 0; ; i++) {
      // Every batch's last event applied (the consumer's count, when it runs in this process, must
      // also reach every accepted event: batches land in different partitions).
      const stats = service.consumer?.stats;
      applied = stats && stats.applied + stats.duplicates;
      const done =
        applied !== undefined
          ? applied >= expected
          : (await service.behavior.state.applied(lastIds)).size === lastIds.length;
      if (done) break;
      if (i > 6000) throw new Error('consumer did not drain the ingestion backlog within 10 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }
    const drainS = (performance.now() - tApply) / 1000;
    const s = summarize(latencies);
    const result = {
      backend: opts.backend,
      stream: service.behavior.log.kind,
      state: service.behavior.state.kind,
      trials: latencies.length,
      p50_ms: s.p50_ms,
      p99_ms: s.p99_ms,
      mean_ms: s.mean_ms,
      max_ms: Math.round(Math.max(...latencies) * 1000) / 1000,
      events_per_s: Math.round(accepted / ingestS),
      ingested_events: accepted,
      posted_events: posted,
      ...(applied !== undefined && { applied_events: applied }),
      consumer_events_per_s: Math.round((accepted + warm.length) / (ingestS + drainS)),
      consumer_drain_s_after_ingest: Math.round(drainS * 100) / 100,
      catalog_products: ids.length,
      sequence_route: sequence.active,
      ...(sequence.model_version !== undefined && { sequence_model: sequence.model_version }),
    };
    fs.mkdirSync(opts.outDir, { recursive: true });
    fs.writeFileSync(path.join(opts.outDir, 'bench-freshness.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    server.close();
    await service.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function waitApplied(
  service: { behavior: { state: { applied(ids: string[]): Promise<Set<string>> } } },
  id: string,
): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if ((await service.behavior.state.applied([id])).size > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`event ${id} was not applied within a minute`);
}

async function productIds(catalog: string): Promise<string[]> {
  const { readCatalog } = await import('../core/catalog/read.ts');
  const { products } = await readCatalog(catalog);
  return products.map((p) => p.id);
}
