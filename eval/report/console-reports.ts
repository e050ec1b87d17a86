import type { ConsoleReports } from '../../src/console/reports.ts';
import { ReportNotFoundError } from '../../src/console/reports.ts';
import type { Settings } from '../../src/settings/schema.ts';
import { buildExperimentReport, buildShopReport, ReportInputError } from './command.ts';
import { experimentHtml } from './experiment-html.ts';
import { shopHtml } from './shop-html.ts';

/**
 * The reports the console shows, computed by the same code as `npm run report`, from the logs and
 * stores the service's own settings name: the console's live per-arm metrics are experiment.json.
 */
export function consoleReports(settings: Settings): ConsoleReports {
  const src = { settings };
  return {
    async experiment(id) {
      let r;
      try {
        r = await buildExperimentReport(src, id);
      } catch (err) {
        if (err instanceof ReportInputError) throw new ReportNotFoundError(err.message);
        throw err;
      }
      return { report: r as unknown as Record<string, unknown>, html: await experimentHtml(r) };
    },
    async shop(opts) {
      const r = await buildShopReport(src, opts);
      return { report: r as unknown as Record<string, unknown>, html: await shopHtml(r) };
    },
  };
}
