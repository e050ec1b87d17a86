/**
 * The small command framework behind `npm run eval -- <command> ...`: every subcommand is a
 * table entry (name, options, run), so adding `feed`, `ranking` or `coupons` later is one
 * more entry in eval/cli.ts. Options are parsed with node:util parseArgs in strict mode.
 */

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Placeholder shown in usage, e.g. DIR, N. */
  value?: string;
  help: string;
  required?: boolean;
  /** Shown in usage; applied by the command itself. */
  default?: string;
}

export type OptionValues = Record<string, string | boolean | undefined>;

export interface Command {
  /** Words after `eval`, e.g. ['search'] or ['convert', 'home-depot']. */
  path: string[];
  summary: string;
  /** Extra lines shown under the options in `--help`. */
  details?: string;
  options: Record<string, OptionSpec>;
  run(values: OptionValues): Promise<void>;
}

/** Options of every command that indexes a dataset folder with the real engine. */
export const ENGINE_OPTIONS: Record<'data' | 'embedder' | 'index-dir', OptionSpec> = {
  data: {
    type: 'string',
    value: 'DIR',
    help: 'dataset directory (products.jsonl, queries.tsv, qrels.tsv)',
    required: true,
  },
  embedder: {
    type: 'string',
    value: 'default|PATH',
    help: 'text embedder: the shipped model or a transformers.js model folder',
    default: 'default',
  },
  'index-dir': {
    type: 'string',
    value: 'DIR',
    help: 'keep the index here and reuse it next time (indexing is incremental)',
    default: 'a temp dir, removed',
  },
};

/** Wrong arguments: the CLI prints the message and the usage, then exits with code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export function stringOpt(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requiredOpt(values: OptionValues, name: string): string {
  const v = stringOpt(values, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** Parses an integer option; `min` defaults to 0. */
export function intOpt(values: OptionValues, name: string, min = 0): number | undefined {
  const v = stringOpt(values, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
}

export function commandUsage(cmd: Command, prog = 'npm run eval --'): string {
  const required = Object.entries(cmd.options)
    .filter(([, o]) => o.required)
    .map(([name, o]) => `--${name} ${o.value ?? 'VALUE'}`);
  const lines = [
    `Usage: ${prog} ${cmd.path.join(' ')} ${[...required, '[options]'].join(' ')}`,
    '',
    cmd.summary,
    '',
    'Options:',
  ];
  const rows = Object.entries(cmd.options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const extra = [
      o.required ? 'required' : undefined,
      o.default !== undefined ? `default: ${o.default}` : undefined,
    ].filter(Boolean);
    return [flag, o.help + (extra.length > 0 ? ` (${extra.join('; ')})` : '')] as const;
  });
  rows.push(['--help', 'show this help']);
  const width = Math.max(...rows.map(([f]) => f.length));
  for (const [flag, help] of rows) lines.push(`  ${flag.padEnd(width)}  ${help}`);
  if (cmd.details) lines.push('', cmd.details);
  return lines.join('\n');
}
