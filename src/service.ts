import { indexCatalog } from '../indexer/index-catalog.ts';
import type { Progress } from '../indexer/progress.ts';
import { indexRunOf, recordIndexRun } from '../indexer/run-log.ts';
import { startConsumer, type RunningConsumer } from '../behavior/consumer.ts';
import { startConsumerThread } from '../behavior/consumer-thread.ts';
import { indexItems } from '../behavior/index-items.ts';
import { openBehavior, type Behavior } from '../behavior/open-behavior.ts';
import { startRetention, type Retention } from '../behavior/retention.ts';
import type { CouponLedger } from '../coupons/ledger.ts';
import { openCouponLedger } from '../coupons/open-ledger.ts';
import { ServedLog } from '../behavior/served-log.ts';
import type { IndexBackend } from '../retrieval/index/index-backend.ts';
import { openIndexBackend, openSequenceItemIndexes, openSynonymStore } from '../retrieval/index/open-backend.ts';
import { CachedSynonyms, type SynonymStore } from '../retrieval/index/synonyms.ts';
import { openSearcher, type Searcher } from '../retrieval/recall/searcher.ts';
import { productTimes } from '../ranking/apply.ts';
import { SequenceRecall, sequenceIndexOptions } from '../retrieval/recall/sequence-recall.ts';
import { Ranker } from '../ranking/ranker.ts';
import { createApp, type AppDeps } from './app.ts';
import { indexLocation, type Settings as Config } from './settings/schema.ts';
import { requireDependencies, type Dependency, type DependencyStatus } from '../core/dependencies.ts';
import type { ImageEmbedder, TextEmbedder } from '../core/embedding/embedder.ts';
import { loadTextEmbedder, parseEmbedderSpec } from '../core/embedding/load.ts';
import { TextModels } from '../core/embedding/text-models.ts';
import { createMetrics, guardMetrics, showBreakers, type Metrics } from '../core/metrics.ts';
import { createGuards, type DependencyGuard, type DependencyGuards } from '../core/dependency-guard.ts';
import { PopularityMemory } from '../ranking/popularity.ts';
import { redisClient } from '../behavior/redis/redis-connect.ts';
import { defaultMaxInFlight } from './api/limits.ts';
import { openExperimentStore } from '../pipeline/experiments/open-store.ts';
import type { ExperimentStore } from '../pipeline/experiments/store.ts';
import { Experiments } from './experiments/experiments.ts';
import type { ConsoleReports } from './console/reports.ts';
import { Suggester } from '../retrieval/recall/suggest/suggester.ts';
import type { CatalogChangeSink } from '../indexer/change-batch.ts';
import { openCatalogChanges } from './open-catalog-changes.ts';

export interface Service {
  app: ReturnType<typeof createApp>;
  searcher: Searcher;
  backend: IndexBackend;
  behavior: Behavior;
  coupons: CouponLedger;
  /** Experiment definitions, shared by every instance. */
  experiments: Experiments;
  consumer: RunningConsumer | undefined;
  ranker: Ranker;
  /** The learned sequence model (feed route `sequence`, similar items), hot-reloaded like the ranker. */
  sequence: SequenceRecall;
  /** Search-box suggestions (undefined when `suggest.enabled` is false). */
  suggester: Suggester | undefined;
  /** What each response showed (with the ranker's features); flush() before reading the log. */
  served: ServedLog;
  /** The background compaction of the embedded stores (settings `retention`). */
  retention: Retention;
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
  /**
   * The extra text models (`embedder.extra_models`), already loaded; default: loaded here from the
   * settings' folders (and closed with the service).
   */
  extraEmbedders?: readonly TextEmbedder[] | undefined;
  imageEmbedder?: ImageEmbedder | undefined;
  /** Bring the index up to date with this catalog before serving (a no-op when nothing changed). */
  catalog?: string | undefined;
  progress?: Progress;
  log?: (line: string) => void;
  /** How the service names its requests (default random UUIDs); see AppDeps.requestIds. */
  requestIds?: AppDeps['requestIds'];
  /**
   * The experiment and shop reports the console shows, from the report code (eval/report/
   * console-reports.ts; `npm start` passes them). Undefined: the console's report endpoints answer reports_off.
   */
  reports?: ConsoleReports | undefined;
}

export async function openService(config: Config, opts: ServiceOptions): Promise<Service> {
  const { embedder, imageEmbedder } = opts;
  const log = opts.log ?? (() => {});
  const dataDir = config.service.dataDir;
  // Every call the serving path makes to a server runs within its budget, behind its breaker:
  // each store is opened with the guards and guards its own remote calls.
  const metrics = createMetrics();
  const guards = createGuards(config.backends.budgets, guardMetrics(metrics));
  const backend = openIndexBackend(indexLocation(config), guards);
  let behavior: Behavior | undefined;
  let coupons: CouponLedger | undefined;
  let closeLimits: () => void = () => {};
  let experimentStore: ExperimentStore | undefined;
  let synonymStore: SynonymStore | undefined;
  let suggester: Suggester | undefined;
  // Every text model the served generations may need: the configured ones, and those a later
  // generation records (loaded from its folder when the searcher switches to it).
  const textModels = new TextModels([embedder], config.embedder);
  const ownExtras: TextEmbedder[] = [];
  let catalogChanges: CatalogChangeSink | undefined;
  try {
    const extraEmbedders: TextEmbedder[] = [...(opts.extraEmbedders ?? [])];
    if (!opts.extraEmbedders)
      for (const dir of config.embedder.extra_models) {
        const e = await loadTextEmbedder(parseEmbedderSpec(dir, config.embedder));
        ownExtras.push(e);
        extraEmbedders.push(e);
      }
    for (const e of extraEmbedders) textModels.add(e);
    behavior = await openBehavior({
      dataDir,
      backends: config.backends,
      config: config.behavior,
      retention: config.retention,
      guards,
    });
    coupons = await openCouponLedger({
      dataDir,
      redisUrl: config.backends.redisUrl,
      namespace: config.backends.namespace,
      guards,
    });
    showBreakers(metrics, guardsInUse(config, guards));
    experimentStore = await openExperimentStore({
      dataDir,
      redisUrl: config.backends.redisUrl,
      namespace: config.backends.namespace,
      guards,
    });
    // Start-up refuses to go on while a configured server is unreachable; /readyz reports each.
    const dependencies: Dependency[] = [
      ...backend.dependencies(),
      ...behavior.dependencies(),
      ...coupons.dependencies(),
      ...experimentStore.dependencies(),
    ];
    const status = await requireDependencies(dependencies);
    for (const d of status) log(`${d.name}: ${d.detail}`);
    if (opts.catalog) {
      const s = await indexCatalog({
        catalogPath: opts.catalog,
        dataDir,
        backend,
        embedder,
        extraEmbedders,
        ...(opts.progress && { progress: opts.progress }),
        ...(imageEmbedder && { imageEmbedder }),
      });
      recordIndexRun(dataDir, indexRunOf('catalog', opts.catalog, s));
      log(`index: ${s.indexed} indexed, ${s.unchanged} unchanged, ${s.skipped} skipped → ${s.generation}`);
      for (const f of s.writeFailures)
        log(
          `index: ${f.op} of ${f.ids.length} product(s) failed in the ${f.store} store: ${f.reason} (run npm run index -- --verify)`,
        );
    }
    synonymStore = await openSynonymStore(indexLocation(config), guards);
    const synonyms = new CachedSynonyms(synonymStore, 1000, (err) =>
      console.error(`synonyms: ${err.message} (searching with the last set read)`),
    );
    const searcher = await openSearcher({
      backend,
      embedder,
      imageEmbedder,
      retrieval: config.retrieval,
      models: textModels,
      // The old generation keeps serving; readyz names the refused one until it is fixed or replaced.
      onModelError: (r) => {
        metrics.textModelRefused.inc();
        console.error(
          `index generation ${r.generation} not served: ${r.reason} (still serving ${searcher.generation ?? 'nothing'})`,
        );
      },
    });
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
        retention: config.retention,
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
      // A remote store's popularity is kept in memory: anonymous searches never wait on it.
      ...(b.state.kind === 'redis' && { popularity: new PopularityMemory((ids) => b.state.itemCounts(ids)) }),
      updatedAt: productTimes(searcher),
      registry: metrics.registry,
      log: (l) => (opts.log ? opts.log(l) : console.error(l)),
    });
    // Rate-limit counters in Redis are shared by every instance. Their own client: a command that
    // cannot be sent at once fails at once (no offline queue), and the in-memory counter decides.
    // Not awaited: the limits never wait for Redis (their in-memory counter decides meanwhile).
    const limitsRedis = config.backends.redisUrl
      ? redisClient(config.backends.redisUrl, 'limits', { commandTimeoutMs: 1000 })
      : undefined;
    limitsRedis?.on('error', () => {});
    limitsRedis?.connect().catch(() => {});
    closeLimits = () => limitsRedis?.disconnect();
    const sequence = await SequenceRecall.open(config.sequence, {
      // The item table must match the catalog served now (a model from another shop is refused).
      catalogHas: (ids) =>
        searcher.withSnapshot(async (snap) => new Set(snap ? (await snap.text.get([...ids])).keys() : [])),
      // Its item embeddings: hnswlib in memory, or a Qdrant collection (named vector `sequence`).
      indexes: openSequenceItemIndexes(indexLocation(config), guards, sequenceIndexOptions(config.sequence)),
      // Products it never saw get a vector from their stored text vector (its text projection).
      catalog: {
        get generation() {
          return searcher.generation;
        },
        missing: (known) =>
          searcher.withSnapshot(async (snap) => {
            const vectors = snap?.vectors;
            if (!snap || !vectors?.vectorsOf) return { embedderId: snap?.embedderId, vectors: new Map() };
            const ids = [...(await vectors.hashes()).keys()].filter((id) => !known(id));
            return { embedderId: snap.embedderId, vectors: ids.length > 0 ? await vectors.vectorsOf(ids) : new Map() };
          }),
      },
      registry: metrics.registry,
      log: (l) => (opts.log ? opts.log(l) : console.error(l)),
    });
    const experiments = new Experiments(experimentStore, config, config.experiments, {
      onError: (err) => console.error(`experiments: ${err.message}`),
      deployed: () => ({ ranking: ranker.versions, sequence: sequence.versions, text: searcher.textModels.deployed }),
    });
    // Suggestions from the served catalog and the served log's popular queries (rebuilt on a new generation).
    suggester = config.suggest.enabled
      ? new Suggester({
          config: config.suggest,
          index: searcher,
          served: b.served,
          onError: (err) => console.error(`suggestions: ${err.message} (retrying)`),
        })
      : undefined;
    await suggester?.start();
    catalogChanges = await openCatalogChanges(config, { backend, searcher, embedder, imageEmbedder });
    const app = createApp({
      trust: config.service.trust,
      limits: {
        ...config.service.limits,
        max_in_flight:
          config.service.limits.max_in_flight ??
          defaultMaxInFlight(config.backends.elasticsearchUrl !== undefined || config.backends.qdrantUrl !== undefined),
      },
      limitsRedis,
      namespace: config.backends.namespace,
      searcher,
      ranker,
      sequence,
      mmr: config.diversity,
      embedder,
      textModelVersion: config.embedder.model_version,
      metrics,
      logRequests: config.service.logRequests,
      bodyLimits: config.service.bodyLimits,
      requestIds: opts.requestIds,
      dependencies,
      behavior: { log: b.log, state: b.state, served, feed: config.feed, config: config.behavior },
      coupons: { ledger: coupons, adminKey: config.coupons.admin_api_key },
      catalog: { changes: catalogChanges, adminKey: config.coupons.admin_api_key },
      couponTargeting: config.coupons.targeting,
      experiments: { experiments, settings: config, adminKey: config.coupons.admin_api_key },
      synonyms: { cache: synonyms, adminKey: config.coupons.admin_api_key },
      console: { settings: config, adminKey: config.coupons.admin_api_key, reports: opts.reports, backend },
      suggest: suggester && { suggester, config: config.suggest },
    });
    const retention = startRetention({
      log: b.log,
      served: b.served,
      state: b.state,
      config: config.retention,
      onPruned: (store, rows) => metrics.retentionPruned.inc({ store }, rows),
      onError: (store, err) => {
        metrics.retentionErrors.inc({ store });
        console.error(
          `retention: pruning ${store} failed: ${err.message} (retrying in ${config.retention.interval_ms} ms)`,
        );
      },
    });
    const ledger = coupons;
    const store = experimentStore;
    const suggest = suggester;
    const changes = catalogChanges;
    return {
      app,
      searcher,
      backend,
      behavior: b,
      coupons: ledger,
      experiments,
      consumer,
      ranker,
      sequence,
      suggester: suggest,
      served,
      retention,
      catalogChanges: changes,
      metrics,
      dependencies: status,
      async close() {
        await retention.stop();
        await consumer?.stop();
        await suggest?.close();
        await changes.close?.();
        await ranker.close();
        await sequence.close();
        await served.flush();
        await searcher.close();
        await textModels.close();
        for (const e of ownExtras) await e.close?.();
        await b.close();
        await ledger.close();
        await store.close();
        await synonymStore?.close();
        await backend.close();
        closeLimits();
      },
    };
  } catch (err) {
    closeLimits();
    await textModels.close().catch(() => {});
    for (const e of ownExtras) await e.close?.().catch(() => {});
    await suggester?.close().catch(() => {});
    await catalogChanges?.close?.().catch(() => {});
    await behavior?.close().catch(() => {});
    await coupons?.close().catch(() => {});
    await experimentStore?.close().catch(() => {});
    await synonymStore?.close().catch(() => {});
    await backend.close().catch(() => {});
    throw err;
  }
}

/** The guards of the servers this configuration uses (their breakers show on /metrics). */
function guardsInUse(config: Config, guards: DependencyGuards): DependencyGuard[] {
  const b = config.backends;
  return [
    ...(b.redisUrl ? [guards.redis] : []),
    ...(b.kafkaBrokers ? [guards.kafka] : []),
    ...(b.elasticsearchUrl && b.qdrantUrl ? [guards.elasticsearch, guards.qdrant] : []),
  ];
}
