import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, ROOT } from '../src/config.ts';
import { loadTextEmbedder, parseEmbedderSpec } from '../core/embedding/load.ts';
import { runBackendsBench } from '../bench/backends-bench.ts';
import { printTable, runQdrantLatency, type LatencyOptions } from '../bench/qdrant-latency.ts';
import { runKafkaBench } from '../bench/kafka-bench.ts';
import { runSearchBench } from '../bench/search-bench.ts';
import { runSuggestBench } from '../bench/suggest-bench.ts';
import { runFreshnessBench } from '../bench/freshness-bench.ts';
import { runCatalogFreshnessBench } from '../bench/catalog-freshness-bench.ts';
import { runRankBench } from '../bench/rank-bench.ts';
import { runRerankBench } from '../bench/rerank-bench.ts';
import { runOverloadBench } from '../bench/overload-bench.ts';
import { runSequenceBench } from '../bench/sequence-bench.ts';

import { action, exit, int, mustExist, program, runCli, UsageError } from './run.ts';
import { Option } from 'commander';

/** `npm run bench -- <name> [options]`: one subcommand per benchmark; each prints its JSON result. */
const prog = program({ tool: 'bench', name: 'npm run bench --' })
  .description('Benchmarks; each writes OUTDIR/<name>.json (and a report) and prints the result.')
  .usage('<benchmark> [options]');
const print = (res: unknown) => console.log(JSON.stringify(res, null, 2));
const positive = int(1);

prog
  .command('search')
  .description('search latency and throughput on N synthetic products')
  .option('--products <N>', 'catalog size', positive, 100000)
  .option('--out <OUTDIR>', 'where to write', 'out/bench')
  .option('--queries <N>', 'queries to time', positive, 1000)
  .option('--seed <N>', 'seed', positive, 42)
  .option('--embedder <SPEC>', 'default or a transformers.js model folder (default: SHELF_EMBEDDER)')
  .action(
    action(async (o: { products: number; out: string; queries: number; seed: number; embedder?: string }) => {
      const config = loadConfig({ ...process.env, ...(o.embedder && { SHELF_EMBEDDER: o.embedder }) });
      const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
      print(await runSearchBench({ products: o.products, outDir: o.out, embedder, queries: o.queries, seed: o.seed }));
    }),
  );

prog
  .command('suggest')
  .description('GET /v1/suggest on N synthetic products (the search bench catalog), typed prefix by prefix, over HTTP')
  .option('--products <N>', 'catalog size', positive, 100000)
  .option('--out <OUTDIR>', 'where to write (an index the search bench built in OUTDIR/work-N is reused)', 'out/bench')
  .option('--requests <N>', 'typed prefixes to time', positive, 5000)
  .option('--change <N>', 'products in the catalog change whose incremental update is timed', positive, 100)
  .option('--seed <N>', 'seed', positive, 42)
  .option('--embedder <SPEC>', 'default or a transformers.js model folder (default: SHELF_EMBEDDER)')
  .action(
    action(
      async (o: {
        products: number;
        out: string;
        requests: number;
        change: number;
        seed: number;
        embedder?: string;
      }) => {
        const config = loadConfig({ ...process.env, ...(o.embedder && { SHELF_EMBEDDER: o.embedder }) });
        const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
        print(
          await runSuggestBench({
            products: o.products,
            outDir: o.out,
            embedder,
            embedderSpec: config.embedder.model,
            requests: o.requests,
            change: o.change,
            seed: o.seed,
          }),
        );
      },
    ),
  );

prog
  .command('overload')
  .description(
    'the service (demo catalog, its own process) under N connections hammering search: throughput, admitted p50/p99 vs unloaded, share shed/limited',
  )
  .option('--connections <N>', 'concurrent connections', positive, 64)
  .option('--duration <S>', 'seconds of load', positive, 20)
  .option('--unloaded <N>', 'sequential requests of the unloaded baseline', positive, 300)
  .option('--slow-ms <MS>', "the client's patience: answers slower than this are counted", positive, 1000)
  .option('--timeout-ms <MS>', 'client time-out per request', positive, 10000)
  .option('--out <OUTDIR>', 'where to write', 'out/bench')
  .action(
    action(
      async (o: {
        connections: number;
        duration: number;
        unloaded: number;
        slowMs: number;
        timeoutMs: number;
        out: string;
      }) =>
        print(
          await runOverloadBench({
            connections: o.connections,
            durationS: o.duration,
            unloadedRequests: o.unloaded,
            slowMs: o.slowMs,
            timeoutMs: o.timeoutMs,
            outDir: o.out,
          }),
        ),
    ),
  );

prog
  .command('freshness')
  .description('time from an event to a changed feed, embedded or through Kafka and Redis')
  .option('--out <OUTDIR>', 'where to write', 'out/bench')
  .addOption(new Option('--backend <NAME>', 'behaviour backend').choices(['embedded', 'kafka']).default('embedded'))
  .option('--trials <N>', 'events timed', positive, 200)
  .option('--ingest-seconds <N>', 'seconds of background ingest', positive, 10)
  .addOption(
    new Option('--sequence <ON>', "the feed's sequence route (the model in sequence.model_dir)")
      .choices(['on', 'off'])
      .default('on'),
  )
  .addOption(
    mustExist(
      new Option('--catalog <FILE>', 'catalog to serve').default(path.join(ROOT, 'data/demo/catalog.jsonl')),
      'file',
    ),
  )
  .action(
    action(
      async (o: {
        out: string;
        backend: 'embedded' | 'kafka';
        trials: number;
        ingestSeconds: number;
        catalog: string;
        sequence: 'on' | 'off';
      }) => {
        const env = { ...process.env };
        if (o.backend === 'embedded') {
          delete env.KAFKA_BROKERS;
          delete env.REDIS_URL;
        } else if (!env.KAFKA_BROKERS || !env.REDIS_URL) {
          throw new UsageError(
            '--backend kafka needs KAFKA_BROKERS and REDIS_URL (scripts/servers/kafka.sh and redis.sh start local ones)',
          );
        }
        // The index stays embedded here: this measures the behaviour path, not search.
        delete env.ELASTICSEARCH_URL;
        delete env.QDRANT_URL;
        const config = loadConfig({ ...env, SHELF_CATALOG: '' });
        const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
        print(
          await runFreshnessBench({
            config,
            embedder,
            catalog: o.catalog,
            outDir: o.out,
            trials: o.trials,
            ingestSeconds: o.ingestSeconds,
            backend: o.backend,
            sequence: o.sequence === 'on',
          }),
        );
      },
    ),
  );

prog
  .command('sequence')
  .description('serving cost of the sequence route: shopper tower p50/p99 per call, the route on a cache miss and hit')
  .addOption(
    mustExist(
      new Option('--model <DIR>', 'a model folder from `npm run train -- sequence`').makeOptionMandatory(),
      'folder',
    ),
  )
  .option('--calls <N>', 'calls to time', positive, 1000)
  .option('--k <N>', 'items recalled per call', positive, 100)
  .option('--seed <N>', 'seed of the histories', positive, 42)
  .action(
    action(async (o: { model: string; calls: number; k: number; seed: number }) =>
      print(await runSequenceBench({ modelDir: o.model, calls: o.calls, k: o.k, seed: o.seed })),
    ),
  );

prog
  .command('catalog-freshness')
  .description('time from POST /v1/admin/catalog/changes (a price or stock update) to a search that shows it')
  .option('--out <OUTDIR>', 'where to write', 'out/bench')
  .addOption(
    new Option('--backend <NAME>', 'embedded: applied by the endpoint; kafka: through the catalog topic and a follower')
      .choices(['embedded', 'kafka'])
      .default('embedded'),
  )
  .option('--updates <N>', 'updates timed', positive, 100)
  .addOption(
    mustExist(
      new Option('--catalog <FILE>', 'catalog to serve').default(path.join(ROOT, 'data/demo/catalog.jsonl')),
      'file',
    ),
  )
  .action(
    action(async (o: { out: string; backend: 'embedded' | 'kafka'; updates: number; catalog: string }) => {
      const env = { ...process.env };
      if (o.backend === 'embedded') {
        // Everything on this machine, no server.
        for (const k of ['KAFKA_BROKERS', 'REDIS_URL', 'ELASTICSEARCH_URL', 'QDRANT_URL']) delete env[k];
      } else if (!env.KAFKA_BROKERS) {
        throw new UsageError(
          '--backend kafka needs KAFKA_BROKERS (and ELASTICSEARCH_URL + QDRANT_URL for the production index; scripts/servers/ starts local ones)',
        );
      }
      const config = loadConfig({ ...env, SHELF_CATALOG: '' });
      const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
      print(
        await runCatalogFreshnessBench({
          config,
          embedder,
          catalog: o.catalog,
          outDir: o.out,
          updates: o.updates,
          backend: o.backend,
        }),
      );
    }),
  );

prog
  .command('rank')
  .description('ranker latency per candidate set; with --products also search over HTTP, ranking off vs on')
  .option('--out <OUTDIR>', 'where to write', 'out/bench')
  .option('--candidates <N>', 'candidates per request', positive, 500)
  .option('--iterations <N>', 'timed rounds', positive, 1000)
  .addOption(
    mustExist(
      new Option('--model <DIR>', 'ranker model folder').default(path.join(ROOT, 'models/ranker/default')),
      'folder',
    ),
  )
  .option('--products <N>', 'also search over HTTP on N products, ranking off vs on (0: skip)', int(0), 0)
  .option('--queries <N>', 'queries for the HTTP part', positive, 1000)
  .option('--feed-shoppers <N>', 'shoppers for the feed part (0: skip)', int(0), 200)
  .option('--seed <N>', 'seed', positive, 42)
  .action(
    action(
      async (o: {
        out: string;
        candidates: number;
        iterations: number;
        model: string;
        products: number;
        queries: number;
        feedShoppers: number;
        seed: number;
      }) => {
        const config = loadConfig({ ...process.env, SHELF_CATALOG: '' });
        const embedder =
          o.products > 0 || o.feedShoppers > 0
            ? await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder))
            : undefined;
        print(
          await runRankBench({
            feedShoppers: o.feedShoppers,
            outDir: o.out,
            candidates: o.candidates,
            iterations: o.iterations,
            modelDir: path.resolve(o.model),
            products: o.products,
            queries: o.queries,
            seed: o.seed,
            ...(embedder && { embedder }),
          }),
        );
      },
    ),
  );

prog
  .command('rerank')
  .description('latency of the diversity and coupon stages on one page')
  .option('--out <OUTDIR>', 'where to write', 'out/bench')
  .option('--items <N>', 'candidates', positive, 200)
  .option('--top-n <N>', 'items reordered (default: all)', positive)
  .option('--dim <N>', 'embedding dimensions', positive, 128)
  .option('--page <N>', 'page size', positive, 20)
  .option('--coupons <N>', 'coupons considered', positive, 10)
  .option('--iterations <N>', 'timed rounds', positive, 1000)
  .option('--seed <N>', 'seed', positive, 42)
  .action(
    action(
      (o: {
        out: string;
        items: number;
        topN?: number;
        dim: number;
        page: number;
        coupons: number;
        iterations: number;
        seed: number;
      }) => {
        print(
          runRerankBench({
            outDir: o.out,
            items: o.items,
            ...(o.topN !== undefined && { topN: o.topN }),
            dim: o.dim,
            page: o.page,
            coupons: o.coupons,
            iterations: o.iterations,
            seed: o.seed,
          }),
        );
      },
    ),
  );

prog
  .command('backends')
  .description('embedded index vs Elasticsearch (BM25), and with QDRANT_URL hnswlib vs Qdrant and hybrid over HTTP')
  .option('--products <N>', 'catalog size', positive, 100000)
  .option('--out <OUTDIR>', 'where to write', 'out/bench')
  .option('--queries <N>', 'queries to time', positive, 1000)
  .option('--seed <N>', 'seed', positive, 42)
  .option('--k <N>', 'results per query', positive, 100)
  .option('--embedder <SPEC>', 'default or a transformers.js model folder (default: SHELF_EMBEDDER)')
  .action(
    action(
      async (o: { products: number; out: string; queries: number; seed: number; k: number; embedder?: string }) => {
        const url = process.env.ELASTICSEARCH_URL;
        const qdrantUrl = process.env.QDRANT_URL || undefined;
        if (!url)
          throw new UsageError(
            'the backends bench compares against a real Elasticsearch: set ELASTICSEARCH_URL (scripts/servers/elasticsearch.sh start)',
          );
        const config = loadConfig({ ...process.env, ...(o.embedder && { SHELF_EMBEDDER: o.embedder }) });
        // Vectors (and hybrid) are compared only when there is a Qdrant to compare against.
        const embedder = qdrantUrl
          ? await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder))
          : undefined;
        print(
          await runBackendsBench({
            products: o.products,
            outDir: o.out,
            elasticsearchUrl: url,
            qdrantUrl,
            embedder,
            queries: o.queries,
            seed: o.seed,
            k: o.k,
          }),
        );
      },
    ),
  );

prog
  .command('qdrant-latency')
  .description(
    "one Qdrant query four ways (the adapter, the raw client, fetch, curl) beside the server's own time (needs a Qdrant)",
  )
  .option('--url <URL>', 'the Qdrant to measure', process.env.QDRANT_URL ?? 'http://127.0.0.1:6533')
  .option('--collection <NAME>', 'scratch collection (dropped after unless --keep)', 'shelf_bench_latency')
  .option('--points <N>', 'random points', positive, 20000)
  .option('--dim <N>', 'vector size', positive, 128)
  .option('--queries <N>', 'timed queries per case', positive, 200)
  .option('--warmup <N>', 'warm-up queries', positive, 20)
  .option('--curl-block <N>', 'queries per curl process', positive, 20)
  .option('--seed <N>', 'seed', positive, 42)
  .option('--keep', 'keep the collection')
  .option('--out <FILE>', 'also write the result as JSON')
  .action(
    action(async (o: Omit<LatencyOptions, 'keep' | 'log'> & { keep?: boolean; out?: string }) => {
      const out = await runQdrantLatency({ ...o, keep: o.keep ?? false, log: (s) => console.error(s) });
      if (o.out) writeFileSync(o.out, JSON.stringify(out, null, 2) + '\n');
      printTable(out);
    }),
  );

prog
  .command('kafka')
  .description('behaviour stream throughput and lag (needs KAFKA_BROKERS and REDIS_URL)')
  .option('--out <OUTDIR>', 'where to write', 'out/bench')
  .option('--rate <N>', 'events per second', positive, 200)
  .option('--seconds <N>', 'duration', positive, 30)
  .option('--burst <N>', 'events in the burst phase', positive, 20000)
  .option('--users <N>', 'distinct users', positive, 1000)
  .action(
    action(async (o: { out: string; rate: number; seconds: number; burst: number; users: number }) => {
      const { kafkaBrokers, redisUrl } = loadConfig().backends;
      if (!kafkaBrokers || !redisUrl) {
        throw new UsageError(
          'the kafka bench needs real servers: set KAFKA_BROKERS and REDIS_URL (scripts/servers/kafka.sh and redis.sh start local ones)',
        );
      }
      print(
        await runKafkaBench({
          brokers: kafkaBrokers,
          redisUrl,
          outDir: o.out,
          rate: o.rate,
          seconds: o.seconds,
          burst: o.burst,
          users: o.users,
        }),
      );
    }),
  );

runCli(prog, process.argv.slice(2)).then(exit);
