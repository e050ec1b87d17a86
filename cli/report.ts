/**
 * `npm run report -- experiment --id ID [--data DIR] --out DIR` and
 * `npm run report -- shop [--from T] [--to T] [--data DIR] --out DIR`: reports from the shop's own
 * logs (the served log and the behaviour events), as JSON and self-contained HTML.
 */
import { loadConfig } from '../src/config.ts';
import { ReportInputError, writeExperimentReport, writeShopReport } from '../eval/report/command.ts';
import { InvalidArgumentError, type Command } from 'commander';
import { action, exit, int, program, runCli } from './run.ts';

const prog = program({ tool: 'report', name: 'npm run report --' })
  .description("Reports from the shop's own logs: an online experiment, or the shop's search and recommendations.")
  .usage('<report> [options]');

/** --from / --to: epoch ms or an ISO-8601 time (commander argParser). */
const instant = (v: string): number => {
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new InvalidArgumentError(`must be epoch ms or an ISO-8601 time, got "${v}"`);
  return t;
};

const fail = (err: unknown): number => {
  if (err instanceof ReportInputError) {
    console.error(`report: ${err.message}`);
    return 1;
  }
  throw err;
};

prog
  .command('experiment')
  .description('per arm and surface: requests, shoppers, CTR, add-to-cart, conversion, revenue, coupon cost, lifts')
  .requiredOption('--id <ID>', 'the experiment id')
  .option('--data <DIR>', "the service's data dir (default: settings service.dataDir, or the configured servers)")
  .requiredOption('--out <DIR>', 'folder to write experiment.json and experiment.html to')
  .option(
    '--window-ms <MS>',
    'purchase attribution window after a click (default: experiments.attribution_window_ms)',
    int(0),
  )
  .action(
    action(async (o: { id: string; data?: string; out: string; windowMs?: number }, _cmd: Command) => {
      try {
        const { report, files } = await writeExperimentReport(
          { settings: loadConfig(), dataDir: o.data },
          o.id,
          o.out,
          {
            ...(o.windowMs !== undefined && { windowMs: o.windowMs }),
          },
        );
        console.log(report.verdict.text);
        console.log(`wrote ${files.json}\n      ${files.html}`);
      } catch (err) {
        return fail(err);
      }
    }),
  );

prog
  .command('shop')
  .description('search volume, zero-result and top queries, CTR by position, feed and similar items, revenue, coupons')
  .option('--from <TIME>', 'from (inclusive): epoch ms or ISO-8601', instant)
  .option('--to <TIME>', 'to (exclusive): epoch ms or ISO-8601', instant)
  .option('--data <DIR>', "the service's data dir (default: settings service.dataDir, or the configured servers)")
  .requiredOption('--out <DIR>', 'folder to write shop.json and shop.html to')
  .option('--window-ms <MS>', 'purchase attribution window after a click', int(0))
  .action(
    action(async (o: { from?: number; to?: number; data?: string; out: string; windowMs?: number }, _cmd: Command) => {
      const { report, files } = await writeShopReport({ settings: loadConfig(), dataDir: o.data }, o.out, o);
      console.log(
        `${report.search.searches} searches, zero-result rate ${(report.search.zero_result_rate * 100).toFixed(1)}%`,
      );
      console.log(`wrote ${files.json}\n      ${files.html}`);
    }),
  );

runCli(prog, process.argv.slice(2)).then(exit);
