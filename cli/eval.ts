/**
 * `npm run eval -- <command> [options]`: offline evaluation tools.
 *
 *   search              index a dataset directory and score bm25 / vector / hybrid
 *   tune-fusion         choose the RRF vector weight and k on a tune half, report on a test half
 *   convert home-depot  Home Depot search relevance → dataset directory
 *   convert fashion     fashion product sample (weak labels) → dataset directory
 *   feed                leave-last-out accuracy of the feed routes and the fused feed
 *   convert amazon-video / amazon-beauty-sports / taobao   sequential behaviour sets → interactions.tsv
 *   ranking             simulated shoppers → logged impressions → ESMM training → deploy → nDCG@10 of purchases
 *   ranking export      a service's served log ⋈ events → ranker training data
 *   diversity           λ sweep of the MMR stage on the simulator: nDCG@10 vs intra-list diversity and category coverage
 *   coupons             simulated shoppers: coupon targeting by affinity vs everyone vs a random group
 *   online              simulated shoppers drive a running service over HTTP (an experiment, the reports)
 *
 * Commands are table entries (eval/kit/command.ts): add one to COMMANDS to extend the CLI; the
 * table becomes a commander program (cli/run.ts: generated --help, one error policy).
 * Exit codes: 0 ok, 1 the command failed, 2 bad arguments or a missing input.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Option, type Command as Commander } from 'commander';
import {
  ENGINE_OPTIONS,
  UsageError,
  intOpt,
  requiredOpt,
  stringOpt,
  type Command,
  type OptionValues,
} from '../eval/kit/command.ts';
import { action, exit, mustExist, processIo, program, runCli, setUsageHint, type Io } from './run.ts';
import { fashionCommand } from '../eval/convert/fashion.ts';
import { homeDepotCommand } from '../eval/convert/home-depot.ts';
import { amazonVideoCommand } from '../eval/convert/amazon-video.ts';
import { amazonBeautySportsCommand } from '../eval/convert/amazon-beauty-sports.ts';
import { couponsCommand } from '../eval/coupons/command.ts';
import { taobaoCommand } from '../eval/convert/taobao.ts';
import { feedCommand } from '../eval/feed/command.ts';
import { diversityCommand, rankingCommand, rankingExportCommand } from '../eval/simulate/command.ts';
import { onlineCommand } from '../eval/simulate/online-command.ts';
import { demoSequencesCommand } from '../eval/simulate/sequences.ts';
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
    'queries-from': {
      type: 'string',
      value: 'FILE',
      help: "score only the queries this file names (first column: query id), e.g. a trained model's heldout-queries.tsv",
    },
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
    const queriesFrom = stringOpt(values, 'queries-from');
    if (queriesFrom !== undefined) {
      const { access } = await import('node:fs/promises');
      await access(queriesFrom).catch(() => {
        throw new UsageError(`--queries-from ${queriesFrom}: no such file`);
      });
    }
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
      ...(queriesFrom !== undefined && { queriesFrom }),
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
  onlineCommand,
  demoSequencesCommand,
  homeDepotCommand,
  fashionCommand,
  amazonVideoCommand,
  amazonBeautySportsCommand,
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

export type CliIo = Io;

/** The command table as a commander program: groups (`convert`, `ranking`) hold their targets. */
export function buildProgram(commands: readonly Command[] = COMMANDS, io: CliIo = processIo): Commander {
  const prog = program({ tool: 'eval', name: 'npm run eval --', io }).usage('<command> [options]');
  const groups = new Map<string, Commander>();
  const leaves = new Map<string, Commander>();
  const node = (parent: Commander, words: string[]): Commander => {
    const key = words.join(' ');
    const found = groups.get(key) ?? leaves.get(key);
    if (found) return found;
    const cmd = parent.command(words.at(-1)!);
    groups.set(key, cmd);
    return cmd;
  };
  for (const c of commands) {
    let parent = prog;
    for (let i = 1; i < c.path.length; i++) parent = node(parent, c.path.slice(0, i));
    const key = c.path.join(' ');
    // `ranking` is a command and the group of `ranking export`: one commander node for both.
    const cmd = groups.get(key) ?? parent.command(c.path.at(-1)!);
    groups.delete(key);
    leaves.set(key, cmd);
    defineLeaf(cmd, c);
  }
  for (const [key, cmd] of groups) defineGroup(cmd, key, commands);
  // Set last: subcommands copy their parent's help settings when they are created.
  prog.configureHelp({ formatHelp: () => mainUsage(commands) + '\n' });
  return prog;
}

function defineLeaf(cmd: Commander, c: Command): void {
  const required = Object.entries(c.options)
    .filter(([, o]) => o.required)
    .map(([name, o]) => `--${name} ${o.value ?? 'VALUE'}`);
  cmd.description(c.summary).usage([...required, '[options]'].join(' '));
  for (const [name, o] of Object.entries(c.options)) {
    const extra = [o.required ? 'required' : undefined, o.default !== undefined ? `default: ${o.default}` : undefined]
      .filter(Boolean)
      .join('; ');
    const option = new Option(
      `--${name}${o.type === 'string' ? ` <${o.value ?? 'VALUE'}>` : ''}`,
      o.help + (extra ? ` (${extra})` : ''),
    );
    cmd.addOption(o.exists ? mustExist(option, o.exists) : option);
  }
  if (c.details) cmd.addHelpText('after', `\n${c.details}`);
  cmd.action(
    action(async () => {
      const values: OptionValues = {};
      for (const [name] of Object.entries(c.options)) {
        const option = cmd.options.find((x) => x.long === `--${name}`)!;
        const v = cmd.getOptionValue(option.attributeName()) as string | boolean | undefined;
        if (v !== undefined) values[name] = v;
      }
      for (const [name, o] of Object.entries(c.options)) {
        if (o.required && (values[name] === undefined || values[name] === ''))
          throw new UsageError(`--${name} is required`);
      }
      await c.run(values);
    }),
  );
}

function defineGroup(cmd: Commander, key: string, commands: readonly Command[]): void {
  const words = key.split(' ');
  cmd
    .description(`${key} targets`)
    .argument('[target]')
    .configureHelp({ formatHelp: () => mainUsage(commands, words) + '\n' })
    .action(
      action((target: string | undefined) => {
        throw new UsageError(target === undefined ? `missing ${key} target` : `unknown ${key} target: ${target}`);
      }),
    );
  setUsageHint(cmd, () => mainUsage(commands, words));
}

/** Runs the CLI on argv (without `node script`); returns the exit code instead of exiting. */
export async function main(
  argv: readonly string[],
  commands: readonly Command[] = COMMANDS,
  io: CliIo = processIo,
): Promise<number> {
  if (argv.length === 0) {
    io.err(mainUsage(commands));
    return 2;
  }
  return runCli(buildProgram(commands, io), argv);
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly)
  main(process.argv.slice(2)).then(exit, (err: unknown) => {
    console.error(err);
    exit(1);
  });
