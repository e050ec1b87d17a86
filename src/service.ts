import { indexCatalog } from '../indexer/index-catalog.ts';
import type { Progress } from '../indexer/progress.ts';
import { startConsumer, type RunningConsumer } from '../behavior/consumer.ts';
import { startConsumerThread } from '../behavior/consumer-thread.ts';
import { indexItems } from '../behavior/index-items.ts';
import { openBehavior, type Behavior } from '../behavior/open-behavior.ts';
import type { CouponLedger } from '../coupons/ledger.ts';
import { openCouponLedger } from '../coupons/open-ledger.ts';
import { ServedLog } from '../behavior/served-log.ts';
import type { IndexBackend } from '../retrieval/index/index-backend.ts';
import { openIndexBackend } from '../retrieval/index/open-backend.ts';
import { openSearcher, type Searcher } from '../retrieval/recall/searcher.ts';
import { productTimes } from '../ranking/apply.ts';
import { Ranker } from '../ranking/ranker.ts';
import { createApp, type AppDeps } from './app.ts';
import { indexLocation, type Settings as Config } from './settings/schema.ts';
import { requireDependencies, type Dependency, type DependencyStatus } from '../core/dependencies.ts';
import type { ImageEmbedder, TextEmbedder } from '../core/embedding/embedder.ts';
import { createMetrics, type Metrics } from '../core/metrics.ts';
import type { CatalogChangeSink } from '../indexer/change-batch.ts';
import { openCatalogChanges } from './open-catalog-changes.ts';

export interface Service {
  app: ReturnType<typeof createApp>;
  searcher: Searcher;
  backend: IndexBackend;
  behavior: Behavior;
  coupons: CouponLedger;
  consumer: RunningConsumer | undefined;
  ranker: Ranker;
  /** What each response showed (with the ranker's features); flush() before reading the log. */
  served: ServedLog;
  /** Where POST /v1/admin/catalog/changes sends its lines (the index, or the catalog topic). */
  catalogChanges: CatalogChangeSink;
  metrics: Metrics;
  dependencies: DependencyStatus[];
  close(): Promise<void>;
}

/**
 * Everything `npm start` serves, without the HTTP listener: the index back end, the behaviour
 * stream and state, the in-process consumer, and the Hono app. Benchmarks and tests start the
 * same thing the service runs.
 */
export interface ServiceOptions {
  embedder: TextEmbedder;
  imageEmbedder?: ImageEmbedder | undefined;
  /** Bring the index up to date with this catalog before serving (a no-op when nothing changed). */
  catalog?: string | undefined;
  progress?: Progress;
  log?: (line: string) => void;
  /** How the service names its requests (default random UUIDs); see AppDeps.requestIds. */
  requestIds?: AppDeps['requestIds'];
}

export async function openService(config: Config, opts: ServiceOptions): Promise<Service> {
  const { embedder, imageEmbedder } = opts;
  const log = opts.log ?? (() => {});
  const dataDir = config.service.dataDir;
  const backend = openIndexBackend(indexLocation(config));
  let behavior: Behavior | undefined;
  let coupons: CouponLedger | undefined;
  try {
    behavior = await openBehavior({ dataDir, backends: config.backends, config: config.behavior });
    coupons = await openCouponLedger({
      dataDir,
      redisUrl: config.backends.redisUrl,
      namespace: config.backends.namespace,
    });
    // Start-up refuses to go on while a configured server is unreachable; /readyz reports each.
    const dependencies: Dependency[] = [
      ...backend.dependencies(),
      ...behavior.dependencies(),
      ...coupons.dependencies(),
    ];
    const status = await requireDependencies(dependencies);
    for (const d of status) log(`${d.name}: ${d.detail}`);
    if (opts.catalog) {
      const s = await indexCatalog({
        catalogPath: opts.catalog,
        dataDir,
        backend,
        embedder,
        ...(opts.progress && { progress: opts.progress }),
        ...(imageEmbedder && { imageEmbedder }),
      });
      log(`index: ${s.indexed} indexed, ${s.unchanged} unchanged, ${s.skipped} skipped → ${s.generation}`);
      for (const f of s.writeFailures)
        log(
          `index: ${f.op} of ${f.ids.length} product(s) failed in the ${f.store} store: ${f.reason} (run npm run index -- --verify)`,
        );
    }
    const metrics = createMetrics();
    const searcher = await openSearcher({ backend, embedder, imageEmbedder, retrieval: config.retrieval });
    const served = new ServedLog(behavior.served, (_err, lost) => metrics.servedLogLost.inc(lost));
    const b = behavior;
    const onApplied = (r: { events: number; duplicates: number; deadLetters: number }) => {
      metrics.eventsApplied.inc(r.events);
      metrics.eventsDuplicate.inc(r.duplicates);
      metrics.deadLetters.inc(r.deadLetters);
    };
    const onError = (err: Error) => {
      metrics.consumerErrors.inc();
      console.error(`behaviour consumer: ${err.message} (retrying)`);
    };
    const items = indexItems(searcher);
    let consumer: RunningConsumer | undefined;
    if (config.service.consumer === 'thread') {
      const thread = await startConsumerThread({
        dataDir,
        backends: config.backends,
        config: config.behavior,
        items,
        onApplied,
        onError,
      });
      b.log.onAppend?.(() => thread.wake());
      consumer = thread;
    } else if (config.service.consumer === 'inline') {
      consumer = await startConsumer({
        log: b.log,
        state: b.state,
        items,
        config: config.behavior,
        onApplied: (r) => onApplied({ events: r.events.length, duplicates: r.duplicates, deadLetters: r.deadLetters }),
        onError,
      });
    }
    const ranker = await Ranker.open(config.ranking, {
      state: b.state,
      updatedAt: productTimes(searcher),
      registry: metrics.registry,
      log: (l) => (opts.log ? opts.log(l) : console.error(l)),
    });
    const catalogChanges = await openCatalogChanges(config, { backend, searcher, embedder, imageEmbedder });
    const app = createApp({
      searcher,
      ranker,
      mmr: config.diversity,
      embedder,
      metrics,
      logRequests: config.service.logRequests,
      bodyLimits: config.service.bodyLimits,
      requestIds: opts.requestIds,
      dependencies,
      behavior: { log: b.log, state: b.state, served, feed: config.feed, config: config.behavior },
      coupons: { ledger: coupons, adminKey: config.coupons.admin_api_key },
      catalog: { changes: catalogChanges, adminKey: config.coupons.admin_api_key },
      couponTargeting: config.coupons.targeting,
    });
    const ledger = coupons;
    return {
      app,
      searcher,
      backend,
      behavior: b,
      coupons: ledger,
      consumer,
      ranker,
      served,
      catalogChanges,
      metrics,
      dependencies: status,
      async close() {
        await consumer?.stop();
        await catalogChanges.close?.();
        await ranker.close();
        await served.flush();
        await searcher.close();
        await b.close();
        await ledger.close();
        await backend.close();
      },
    };
  } catch (err) {
    await behavior?.close().catch(() => {});
    await coupons?.close().catch(() => {});
    await backend.close().catch(() => {});
    throw err;
  }
}
