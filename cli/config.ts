import { Command, Option } from 'commander';
import { ConfigError, ConfigFileError, loadSettings, type LoadedSettings } from '../src/settings/load.ts';
import { describeSettings, maskedSettings } from '../src/settings/describe.ts';

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

program.parse(process.argv);
