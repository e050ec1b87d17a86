/**
 * `npm run eval -- <command> [options]`: offline evaluation tools.
 *
 *   search              index a dataset directory and score bm25 / vector / hybrid
 *   tune-fusion         choose the RRF vector weight and k on a tune half, report on a test half
 *   convert home-depot  Home Depot search relevance → dataset directory
 *   convert fashion     fashion product sample (weak labels) → dataset directory
 *   feed                leave-last-out accuracy of the feed routes and the fused feed
 *   convert amazon-video / convert taobao   sequential behaviour sets → interactions.tsv
 *   ranking             simulated shoppers → logged impressions → ESMM training → deploy → nDCG@10 of purchases
 *   ranking export      a service's served log ⋈ events → ranker training data
 *   diversity           λ sweep of the MMR stage on the simulator: nDCG@10 vs intra-list diversity and category coverage
 *   coupons             simulated shoppers: coupon targeting by affinity vs everyone vs a random group
 *
 * Commands are table entries (eval/command.ts): add one to COMMANDS to extend the CLI.
 * Exit codes: 0 ok, 1 the command failed, 2 bad arguments.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ENGINE_OPTIONS,
  UsageError,
  commandUsage,
  intOpt,
  requiredOpt,
  stringOpt,
  type Command,
  type OptionValues,
} from '../eval/kit/command.ts';
import { fashionCommand } from '../eval/convert/fashion.ts';
import { homeDepotCommand } from '../eval/convert/home-depot.ts';
import { amazonVideoCommand } from '../eval/convert/amazon-video.ts';
import { couponsCommand } from '../eval/coupons/command.ts';
import { taobaoCommand } from '../eval/convert/taobao.ts';
import { feedCommand } from '../eval/feed/command.ts';
import { diversityCommand, rankingCommand, rankingExportCommand } from '../eval/simulate/command.ts';
import { tuneFusionCommand } from '../eval/search/tune-fusion/command.ts';

const searchCommand: Command = {
  path: ['search'],
  summary:
    'Index DIR/products.jsonl, run every judged query of DIR/queries.tsv through bm25-only, vector-only and hybrid search, score against DIR/qrels.tsv and write OUTDIR/search.json, search-queries.tsv and search.html.',
  options: {
    data: ENGINE_OPTIONS.data,
    out: { type: 'string', value: 'OUTDIR', help: 'where to write the results', required: true },
    embedder: ENGINE_OPTIONS.embedder,
    'query-prefix': { type: 'string', value: 'S', help: 'prefix for query texts (e.g. "query: " for e5)' },
    'doc-prefix': { type: 'string', value: 'S', help: 'prefix for product texts (e.g. "passage: " for e5)' },
    'index-dir': ENGINE_OPTIONS['index-dir'],
    limit: { type: 'string', value: 'N', help: 'evaluate only the first N judged queries' },
    retrieval: {
      type: 'string',
      value: 'JSON',
      help: 'retrieval settings for the searcher, e.g. \'{"rrf_k":60,"weights":{"vector":0.5}}\' (recall_k is at least 100)',
    },
  },
  details: 'Metrics: nDCG@10 (gain 2^grade − 1), recall@100 and MRR@10 (relevant = grade > 0). See eval/README.md.',
  async run(values) {
    const embedderArg = stringOpt(values, 'embedder') ?? 'default';
    const queryPrefix = stringOpt(values, 'query-prefix');
    const documentPrefix = stringOpt(values, 'doc-prefix');
    if (embedderArg === 'default' && (queryPrefix !== undefined || documentPrefix !== undefined)) {
      throw new UsageError('--query-prefix/--doc-prefix only apply to a transformers model (--embedder PATH)');
    }
    const { parseEmbedderSpec } = await import('../core/embedding/load.ts');
    const embedder = parseEmbedderSpec(embedderArg, {
      ...(queryPrefix !== undefined && { queryPrefix }),
      ...(documentPrefix !== undefined && { documentPrefix }),
    });
    const indexDir = stringOpt(values, 'index-dir');
    const limit = intOpt(values, 'limit', 1);
    const retrievalText = stringOpt(values, 'retrieval');
    let retrieval: Record<string, unknown> | undefined;
    if (retrievalText !== undefined) {
      try {
        retrieval = JSON.parse(retrievalText) as Record<string, unknown>;
      } catch (err) {
        throw new UsageError(`--retrieval is not valid JSON: ${(err as Error).message}`);
      }
      if (typeof retrieval !== 'object' || retrieval === null || Array.isArray(retrieval))
        throw new UsageError('--retrieval must be a JSON object');
    }
    // Loaded lazily: `convert` must work without the engine's native modules.
    const { runSearchEvalOnDir, formatRunSummary } = await import('../eval/search/run.ts');
    const { json, files } = await runSearchEvalOnDir({
      data: requiredOpt(values, 'data'),
      out: requiredOpt(values, 'out'),
      embedder,
      ...(indexDir !== undefined && { indexDir }),
      ...(limit !== undefined && { limit }),
      ...(retrieval !== undefined && { retrieval }),
    });
    console.log(formatRunSummary(json));
    console.log(`wrote ${files.json}\n      ${files.tsv}\n      ${files.html}`);
  },
};

/** Every subcommand. Later issues add `ranking`, `coupons` here. */
export const COMMANDS: Command[] = [
  searchCommand,
  tuneFusionCommand,
  feedCommand,
  rankingCommand,
  rankingExportCommand,
  diversityCommand,
  couponsCommand,
  homeDepotCommand,
  fashionCommand,
  amazonVideoCommand,
  taobaoCommand,
];

export function mainUsage(commands: readonly Command[] = COMMANDS, prefix: string[] = []): string {
  const shown = commands.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const width = Math.max(...shown.map((c) => c.path.join(' ').length));
  return [
    `Usage: npm run eval -- ${prefix.length > 0 ? prefix.join(' ') + ' ' : ''}<command> [options]`,
    '',
    'Commands:',
    ...shown.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    `Run \`npm run eval -- <command> --help\` for the options of one command.`,
  ].join('\n');
}

/** Longest command path matching the leading positional words of argv. */
function findCommand(argv: readonly string[], commands: readonly Command[]): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best;
}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t + '\n'),
  err: (t) => process.stderr.write(t + '\n'),
};

/** Runs the CLI on argv (without `node script`); returns the exit code instead of exiting. */
export async function main(
  argv: readonly string[],
  commands: readonly Command[] = COMMANDS,
  io: CliIo = defaultIo,
): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    const code = argv.length === 0 ? 2 : 0;
    (code === 0 ? io.out : io.err)(mainUsage(commands));
    return code;
  }
  const cmd = findCommand(argv, commands);
  if (!cmd) {
    // A group word without its subcommand (e.g. `convert`) or an unknown command.
    const group = commands.filter((c) => c.path.length > 1 && c.path[0] === argv[0]);
    if (group.length > 0) {
      const sub = argv[1];
      if (sub === '--help' || sub === '-h') {
        io.out(mainUsage(commands, [argv[0]!]));
        return 0;
      }
      io.err(
        `${sub === undefined || sub.startsWith('-') ? `missing ${argv[0]} target` : `unknown ${argv[0]} target: ${sub}`}\n\n${mainUsage(commands, [argv[0]!])}`,
      );
      return 2;
    }
    io.err(`unknown command: ${argv[0]}\n\n${mainUsage(commands)}`);
    return 2;
  }
  const rest = argv.slice(cmd.path.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandUsage(cmd));
    return 0;
  }
  let values: OptionValues;
  try {
    const parsed = parseArgs({
      args: [...rest],
      options: Object.fromEntries(Object.entries(cmd.options).map(([name, o]) => [name, { type: o.type }])),
      strict: true,
      allowPositionals: false,
    });
    values = parsed.values as OptionValues;
    for (const [name, o] of Object.entries(cmd.options)) {
      if (o.required && (values[name] === undefined || values[name] === ''))
        throw new UsageError(`--${name} is required`);
    }
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${commandUsage(cmd)}`);
    return 2;
  }
  try {
    await cmd.run(values);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n\n${commandUsage(cmd)}`);
      return 2;
    }
    io.err(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
