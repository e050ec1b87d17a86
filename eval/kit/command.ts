/**
 * The command table behind `npm run eval -- <command> ...`: every subcommand is a table entry
 * (path, options, run), so adding one is one more entry in cli/eval.ts, which turns the table
 * into a commander program (generated --help, exit codes: cli/run.ts). Option values arrive as
 * strings; the helpers below parse them and throw UsageError (exit 2) on bad values.
 */

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Placeholder shown in usage, e.g. DIR, N. */
  value?: string;
  help: string;
  required?: boolean;
  /** Shown in usage; applied by the command itself. */
  default?: string;
  /** An input that must exist: a missing one is a one-line error and exit 2 before the command runs. */
  exists?: 'file' | 'folder';
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
    exists: 'folder',
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
