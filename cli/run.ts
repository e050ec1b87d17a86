/**
 * The one command-line library of every entry point (`npm run eval|bench|index|consumer|train`,
 * `npm start`): commander programs that never exit the process themselves, typed option parsers,
 * and one error policy:
 *
 *   - bad usage (unknown command or option, missing or bad value, a `UsageError` thrown by the
 *     command, a missing input file or folder): one line, then a usage hint; exit 2
 *   - anything else: `<tool> failed: <message>` (the stack only with SHELF_DEBUG=1); exit 1
 *   - an action may return a number: that is the exit code (e.g. `index --strict` → 1)
 *
 *     const prog = program({ tool: 'bench', name: 'npm run bench --' });
 *     prog.command('rank').option('--iterations <N>', 'rounds', int(1), 1000).action(action(async (o) => …));
 *     exit(await runCli(prog, process.argv.slice(2)));
 */
import { statSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../eval/kit/command.ts';

export { UsageError };

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t + '\n'),
  err: (t) => process.stderr.write(t + '\n'),
};

interface ProgramInfo {
  /** Short name for messages: `eval: --data /x: no such folder`, `eval failed: …`. */
  tool: string;
  io: Io;
  /** The word before the usage line in help and hints ("Usage:" unless a CLI's tests fixed another). */
  usageTitle: string;
}

const INFO = new WeakMap<Command, ProgramInfo>();
const EXIT = new WeakMap<Command, number>();
const HINT = new WeakMap<Command, () => string>();
const MUST_EXIST = new WeakMap<Option, 'file' | 'folder'>();
/** The command whose action threw, for the usage hint. */
const THROWN_BY = new WeakMap<object, Command>();

/** `npm run eval -- convert fashion`: the names from the program down to `cmd`. */
export const commandPath = (cmd: Command): string =>
  cmd.parent ? `${commandPath(cmd.parent)} ${cmd.name()}` : cmd.name();
const rootOf = (cmd: Command): Command => (cmd.parent ? rootOf(cmd.parent) : cmd);
const infoOf = (cmd: Command): ProgramInfo => INFO.get(rootOf(cmd))!;

/**
 * A commander program. `name` is what usage lines start with (e.g. `npm run eval --`); output
 * goes to `io`; parse errors throw instead of exiting (runCli maps them to exit codes).
 */
export function program(opts: { tool: string; name: string; description?: string; io?: Io; usageTitle?: string }) {
  const io = opts.io ?? processIo;
  const prog = new Command(opts.name);
  if (opts.description) prog.description(opts.description);
  INFO.set(prog, { tool: opts.tool, io, usageTitle: opts.usageTitle ?? 'Usage:' });
  return prog;
}

/** The usage hint printed under an error: the command's usage line and where to find more. */
export function usageHint(cmd: Command): string {
  const custom = HINT.get(cmd);
  if (custom) return custom();
  return `${infoOf(cmd).usageTitle} ${cmd.createHelp().commandUsage(cmd)}  (${commandPath(cmd)} --help for more)`;
}

/** Replace the usage hint of one command (e.g. a group prints its subcommands). */
export function setUsageHint(cmd: Command, hint: () => string): void {
  HINT.set(cmd, hint);
}

/** Mark an option as an input that must exist; checked before the action runs. */
export function mustExist(option: Option, kind: 'file' | 'folder'): Option {
  MUST_EXIST.set(option, kind);
  return option;
}

function checkInputs(cmd: Command): void {
  for (const o of cmd.options) {
    const kind = MUST_EXIST.get(o);
    const value = cmd.getOptionValue(o.attributeName()) as unknown;
    if (!kind) continue;
    for (const v of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (typeof v !== 'string' || v === '') continue;
      let st;
      try {
        st = statSync(v);
      } catch {
        st = undefined;
      }
      const ok = st && (kind === 'folder' ? st.isDirectory() : st.isFile());
      if (!ok) throw new UsageError(`${infoOf(cmd).tool}: ${o.long} ${v}: no such ${kind}`);
    }
  }
}

/**
 * Wraps a command action: checks the inputs marked with mustExist, runs it, and records a
 * returned number as the exit code. Errors keep the command for the usage hint.
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | void> | number | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args.at(-1) as Command;
    try {
      checkInputs(cmd);
      const code = await fn(...args);
      if (typeof code === 'number') EXIT.set(rootOf(cmd), code);
    } catch (err) {
      if (typeof err === 'object' && err !== null && !THROWN_BY.has(err)) THROWN_BY.set(err, cmd);
      throw err;
    }
  };
}

function prepare(cmd: Command, info: ProgramInfo): void {
  cmd.exitOverride();
  // `ranking export --out F`: options after a subcommand belong to it, not to `ranking`.
  if (cmd.commands.length > 0) cmd.enablePositionalOptions();
  cmd.configureOutput({
    writeOut: (s) => info.io.out(s.replace(/\n$/, '')),
    writeErr: (s) => info.io.err(s.replace(/\n$/, '')),
    outputError: (s, write) => write(`${s.trimEnd()}\n${usageHint(cmd)}\n`),
  });
  const configured = cmd.configureHelp();
  cmd.configureHelp({
    styleTitle: (t: string) => (t === 'Usage:' ? info.usageTitle : t),
    // `--times N` rather than `--times <N>`, as the usage lines are written.
    optionTerm: (o: Option) => o.flags.replace(/<([^>]+)>/g, '$1').replace(/\[([^\]]+)\]/g, '[$1]'),
    ...configured,
  });
  for (const sub of cmd.commands) prepare(sub, info);
}

/** Exit code of an error; prints it (one line + usage hint, or a short failure message). */
export function reportError(err: unknown, prog: Command): number {
  const info = infoOf(prog);
  if (err instanceof CommanderError) {
    // Commander has already printed the message (and the hint, via outputError) or the help.
    const help = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code);
    return help && err.exitCode === 0 ? 0 : 2;
  }
  const cmd = (typeof err === 'object' && err !== null && THROWN_BY.get(err)) || prog;
  if (err instanceof UsageError || err instanceof InvalidArgumentError) {
    info.io.err(`${err.message}\n${usageHint(cmd)}`);
    return 2;
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT' && typeof e.path === 'string') {
    info.io.err(`${info.tool}: ${e.path}: no such file or folder`);
    return 2;
  }
  const message = err instanceof Error ? err.message : String(err);
  info.io.err(`${info.tool} failed: ${message}`);
  if (process.env.SHELF_DEBUG && err instanceof Error && err.stack) info.io.err(err.stack);
  return 1;
}

/** Parses argv (without `node script`), runs the action, returns the exit code. */
export async function runCli(prog: Command, argv: readonly string[]): Promise<number> {
  prepare(prog, infoOf(prog));
  EXIT.delete(prog);
  try {
    await prog.parseAsync([...argv], { from: 'user' });
    return EXIT.get(prog) ?? 0;
  } catch (err) {
    return reportError(err, prog);
  }
}

/** Sets the exit code and ends the process once stdout/stderr are flushed (for one-shot CLIs). */
export function exit(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// ---------------------------------------------------------------- typed option parsers

/** An integer ≥ min (commander argParser). */
export function int(min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`must be an integer ≥ ${min}, got "${value}"`);
    return n;
  };
}

/** A finite number ≥ min. */
export function num(min = -Infinity): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min)
      throw new InvalidArgumentError(`must be a number${min > -Infinity ? ` ≥ ${min}` : ''}, got "${value}"`);
    return n;
  };
}

/** One of the given words (shown in help by Option.choices when used there). */
export function oneOf<T extends string>(...values: T[]): (value: string) => T {
  return (value) => {
    if (!(values as string[]).includes(value))
      throw new InvalidArgumentError(`must be one of ${values.join(', ')}, got "${value}"`);
    return value as T;
  };
}

/** A repeatable string option: `--data a --data b` → ['a', 'b']. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
