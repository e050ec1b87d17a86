import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { loadTextEmbedder, parseEmbedderSpec } from '../src/embedding/load.ts';
import { runSearchBench } from './search-bench.ts';

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
};

function positiveInt(s: string, name: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got "${s}"`);
  return n;
}

class UsageError extends Error {}

const usage = () => `usage: npm run bench -- <benchmark> [options]\n\n${Object.values(BENCHES).map((b) => `  ${b.usage}`).join('\n')}`;

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
