import { parseArgs } from 'node:util';
import path from 'node:path';
import { loadConfig, ROOT } from '../src/config.ts';
import { loadTextEmbedder, parseEmbedderSpec } from '../src/embedding/load.ts';
import { runBackendsBench } from './backends-bench.ts';
import { runKafkaBench } from './kafka-bench.ts';
import { runSearchBench } from './search-bench.ts';
import { runFreshnessBench } from './freshness-bench.ts';
import { runRankBench } from './rank-bench.ts';
import { runRerankBench } from './rerank-bench.ts';

/** `npm run bench -- <name> ...`: one entry per benchmark; later issues add theirs here. */
const BENCHES: Record<string, { usage: string; run: (argv: string[]) => Promise<void> }> = {
  search: {
    usage: 'search --products N --out OUTDIR [--queries 1000] [--seed 42] [--embedder default|MODEL_DIR]',
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: {
          products: { type: 'string', default: '100000' },
          out: { type: 'string', default: 'out/bench' },
          queries: { type: 'string', default: '1000' },
          seed: { type: 'string', default: '42' },
          embedder: { type: 'string' },
        },
        strict: true,
      });
      const config = loadConfig({ ...process.env, ...(values.embedder && { SHELF_EMBEDDER: values.embedder }) });
      const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
      const res = await runSearchBench({
        products: positiveInt(values.products, 'products'),
        outDir: values.out,
        embedder,
        queries: positiveInt(values.queries, 'queries'),
        seed: positiveInt(values.seed, 'seed'),
      });
      console.log(JSON.stringify(res, null, 2));
    },
  },
  freshness: {
    usage:
      'freshness --out OUTDIR [--backend embedded|kafka] [--trials 200] [--ingest-seconds 10] [--catalog data/demo/catalog.jsonl]',
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: {
          out: { type: 'string', default: 'out/bench' },
          backend: { type: 'string', default: 'embedded' },
          trials: { type: 'string', default: '200' },
          'ingest-seconds': { type: 'string', default: '10' },
          catalog: { type: 'string', default: path.join(ROOT, 'data/demo/catalog.jsonl') },
        },
        strict: true,
      });
      const backend = values.backend;
      if (backend !== 'embedded' && backend !== 'kafka')
        throw new UsageError(`--backend must be embedded or kafka, got "${backend}"`);
      const env = { ...process.env };
      if (backend === 'embedded') {
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
      const res = await runFreshnessBench({
        config,
        embedder,
        catalog: values.catalog,
        outDir: values.out,
        trials: positiveInt(values.trials, 'trials'),
        ingestSeconds: positiveInt(values['ingest-seconds'], 'ingest-seconds'),
        backend,
      });
      console.log(JSON.stringify(res, null, 2));
    },
  },
  rank: {
    usage:
      'rank --out OUTDIR [--candidates 500] [--iterations 1000] [--model models/ranker/default] [--products N (also search over HTTP, ranking off vs on)] [--queries 1000] [--feed-shoppers 200 (0: skip)]',
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: {
          out: { type: 'string', default: 'out/bench' },
          candidates: { type: 'string', default: '500' },
          iterations: { type: 'string', default: '1000' },
          model: { type: 'string', default: path.join(ROOT, 'models/ranker/default') },
          products: { type: 'string', default: '0' },
          queries: { type: 'string', default: '1000' },
          'feed-shoppers': { type: 'string', default: '200' },
          seed: { type: 'string', default: '42' },
        },
        strict: true,
      });
      const products = Number(values.products);
      if (!Number.isInteger(products) || products < 0)
        throw new UsageError(`--products must be an integer >= 0, got "${values.products}"`);
      const feedShoppers = Number(values['feed-shoppers']);
      if (!Number.isInteger(feedShoppers) || feedShoppers < 0)
        throw new UsageError(`--feed-shoppers must be an integer >= 0, got "${values['feed-shoppers']}"`);
      const config = loadConfig({ ...process.env, SHELF_CATALOG: '' });
      const embedder =
        products > 0 || feedShoppers > 0
          ? await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder))
          : undefined;
      const res = await runRankBench({
        feedShoppers,
        outDir: values.out,
        candidates: positiveInt(values.candidates, 'candidates'),
        iterations: positiveInt(values.iterations, 'iterations'),
        modelDir: path.resolve(values.model),
        products,
        queries: positiveInt(values.queries, 'queries'),
        seed: positiveInt(values.seed, 'seed'),
        ...(embedder && { embedder }),
      });
      console.log(JSON.stringify(res, null, 2));
    },
  },
  rerank: {
    usage:
      'rerank --out OUTDIR [--items 200] [--top-n 200] [--dim 128] [--page 20] [--coupons 10] [--iterations 1000] [--seed 42]',
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: {
          out: { type: 'string', default: 'out/bench' },
          items: { type: 'string', default: '200' },
          'top-n': { type: 'string' },
          dim: { type: 'string', default: '128' },
          page: { type: 'string', default: '20' },
          coupons: { type: 'string', default: '10' },
          iterations: { type: 'string', default: '1000' },
          seed: { type: 'string', default: '42' },
        },
        strict: true,
      });
      const res = runRerankBench({
        outDir: values.out,
        items: positiveInt(values.items, 'items'),
        ...(values['top-n'] !== undefined && { topN: positiveInt(values['top-n'], 'top-n') }),
        dim: positiveInt(values.dim, 'dim'),
        page: positiveInt(values.page, 'page'),
        coupons: positiveInt(values.coupons, 'coupons'),
        iterations: positiveInt(values.iterations, 'iterations'),
        seed: positiveInt(values.seed, 'seed'),
      });
      console.log(JSON.stringify(res, null, 2));
    },
  },
  backends: {
    usage:
      'backends --products N --out OUTDIR [--queries 1000] [--seed 42] [--k 100] [--embedder default|MODEL_DIR]   (needs ELASTICSEARCH_URL; with QDRANT_URL also vectors and hybrid)',
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: {
          products: { type: 'string', default: '100000' },
          out: { type: 'string', default: 'out/bench' },
          queries: { type: 'string', default: '1000' },
          seed: { type: 'string', default: '42' },
          k: { type: 'string', default: '100' },
          embedder: { type: 'string' },
        },
        strict: true,
      });
      const url = process.env.ELASTICSEARCH_URL;
      const qdrantUrl = process.env.QDRANT_URL || undefined;
      if (!url)
        throw new UsageError(
          'the backends bench compares against a real Elasticsearch: set ELASTICSEARCH_URL (scripts/servers/elasticsearch.sh start)',
        );
      const config = loadConfig({ ...process.env, ...(values.embedder && { SHELF_EMBEDDER: values.embedder }) });
      const embedder = qdrantUrl
        ? await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder))
        : undefined;
      const res = await runBackendsBench({
        products: positiveInt(values.products, 'products'),
        outDir: values.out,
        elasticsearchUrl: url,
        qdrantUrl,
        embedder,
        queries: positiveInt(values.queries, 'queries'),
        seed: positiveInt(values.seed, 'seed'),
        k: positiveInt(values.k, 'k'),
      });
      console.log(JSON.stringify(res, null, 2));
    },
  },
  kafka: {
    usage:
      'kafka --out OUTDIR [--rate 200] [--seconds 30] [--burst 20000] [--users 1000]   (needs KAFKA_BROKERS and REDIS_URL)',
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: {
          out: { type: 'string', default: 'out/bench' },
          rate: { type: 'string', default: '200' },
          seconds: { type: 'string', default: '30' },
          burst: { type: 'string', default: '20000' },
          users: { type: 'string', default: '1000' },
        },
        strict: true,
      });
      const { kafkaBrokers, redisUrl } = loadConfig().backends;
      if (!kafkaBrokers || !redisUrl) {
        throw new UsageError(
          'the kafka bench needs real servers: set KAFKA_BROKERS and REDIS_URL (scripts/servers/kafka.sh and redis.sh start local ones)',
        );
      }
      const res = await runKafkaBench({
        brokers: kafkaBrokers,
        redisUrl,
        outDir: values.out,
        rate: positiveInt(values.rate, 'rate'),
        seconds: positiveInt(values.seconds, 'seconds'),
        burst: positiveInt(values.burst, 'burst'),
        users: positiveInt(values.users, 'users'),
      });
      console.log(JSON.stringify(res, null, 2));
    },
  },
};

function positiveInt(s: string, name: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got "${s}"`);
  return n;
}

class UsageError extends Error {}

const usage = () =>
  `usage: npm run bench -- <benchmark> [options]\n\n${Object.values(BENCHES)
    .map((b) => `  ${b.usage}`)
    .join('\n')}`;

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    await bench.run(rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(err as Error).message}\n\n${usage()}`);
      return 2;
    }
    throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench failed: ${(err as Error).stack}`);
    process.exit(1);
  },
);
