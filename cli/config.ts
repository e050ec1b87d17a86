import { Command, Option } from 'commander';
import { ConfigError, ConfigFileError, loadSettings, type LoadedSettings } from '../src/settings/load.ts';
import { describeSettings, maskedSettings } from '../src/settings/describe.ts';
import { mintShopperToken } from '../src/trust/shopper-token.ts';

/**
 * `npm run config -- print|check`: the effective settings (defaults < SHELF_CONFIG file <
 * SHELF_FEED_CONFIG < environment) and where each value came from, secrets masked; or only
 * whether they are valid. Exit 0: valid; 1: invalid settings; 2: the settings file cannot be read
 * or the command line is wrong.
 */
function load(): LoadedSettings {
  try {
    return loadSettings(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(err instanceof ConfigFileError ? 2 : 1);
  }
}

// `npm run config -- print | head` is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const show = (v: unknown) => (v === undefined ? '(unset)' : typeof v === 'string' ? v : JSON.stringify(v));

const program = new Command('config')
  .description('Show or check the effective Shelf settings (see README, "Settings")')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .showHelpAfterError();

program
  .command('print')
  .description('print every setting, its value and where it came from (default, file, variable); secrets masked')
  .addOption(
    new Option('--json', 'machine-readable: {"settings": {...}, "sources": {"<path>": "<source>"}, "files": [...]}'),
  )
  .option('--changed', 'only settings that are not at their default')
  .action((opts: { json?: boolean; changed?: boolean }) => {
    const loaded = load();
    const entries = describeSettings(loaded).filter((e) => !opts.changed || e.source !== 'default');
    if (opts.json) {
      const sources = Object.fromEntries(entries.map((e) => [e.path, e.source]));
      console.log(JSON.stringify({ settings: maskedSettings(loaded), sources, files: loaded.files }, null, 2));
      return;
    }
    const rows = entries.map((e) => [`${e.path} = ${show(e.value)}`, e.source] as const);
    const width = Math.min(72, Math.max(...rows.map(([l]) => l.length)));
    for (const [line, source] of rows) console.log(`${line.padEnd(width)}  # ${source}`);
  });

program
  .command('check')
  .description('validate the settings without starting anything')
  .action(() => {
    const loaded = load();
    const changed = describeSettings(loaded).filter((e) => e.source !== 'default').length;
    const files = loaded.files.length ? ` (files: ${loaded.files.join(', ')})` : '';
    console.log(`configuration ok: ${changed} setting(s) not at their default${files}`);
  });

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `1h`, `7d`, or milliseconds. */
function parseTtl(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`--ttl: expected a duration such as 15m, 1h or 7d, got "${text}"`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

program
  .command('shopper-token')
  .description(
    "mint a shopper token with SHELF_SHOPPER_TOKEN_SECRET (what the shop's back end gives a logged-in shopper; README, Deployment)",
  )
  .option('--user <id>', 'the user_id the token speaks for')
  .option('--session <id>', 'the session_id the token speaks for (with --user too: both, e.g. for identify)')
  .option('--ttl <duration>', 'lifetime: 90s, 15m, 1h, 7d', '1h')
  .action(async (opts: { user?: string; session?: string; ttl: string }) => {
    const secret = load().settings.service.trust.shopper_token_secret;
    if (secret === undefined) {
      console.error('shopper-token: set SHELF_SHOPPER_TOKEN_SECRET (service.trust.shopper_token_secret) first');
      process.exit(1);
    }
    if (opts.user === undefined && opts.session === undefined) {
      console.error('shopper-token: name the shopper with --user, --session or both');
      process.exit(2);
    }
    let ttlMs: number;
    try {
      ttlMs = parseTtl(opts.ttl);
    } catch (err) {
      console.error(`shopper-token: ${(err as Error).message}`);
      process.exit(2);
    }
    console.log(await mintShopperToken(secret, { user_id: opts.user, session_id: opts.session, ttlMs }));
  });

await program.parseAsync(process.argv);
