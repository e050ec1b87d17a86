import { createRoute, z } from '@hono/zod-openapi';
import { requireAdmin } from '../api/coupons.ts';
import { ApiError } from '../api/errors.ts';
import { createApi, jsonResponse } from '../api/openapi.ts';
import { consoleErrors, consoleRoute, RenderedReportSchema } from './admin-schemas.ts';
import { listReportFiles, readReportFile, ReportNotFoundError, type ConsoleReports } from './reports.ts';

/**
 * The console's reports: the experiment report (its live per-arm metrics) and the shop report,
 * computed now from the shop's logs by the report code, and the offline report files found in
 * `console.reports_dir`. HTML is returned in the body and shown by the console in a sandboxed
 * frame: the admin key travels in the Authorization header, never in a URL.
 */

const IdParam = z.object({ id: z.string().min(1).max(128).openapi({ description: 'The experiment id.' }) });
const epoch = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$|^\d+$/, 'an ISO-8601 date or epoch milliseconds')
  .optional();
const ShopQuery = z.object({ from: epoch, to: epoch }).strict();
const FileQuery = z.object({ name: z.string().min(1).max(1000) }).strict();

const FileList = z
  .object({
    dir: z.string().openapi({ description: 'The folder (settings `console.reports_dir`), by its base name.' }),
    files: z.array(z.object({ name: z.string(), bytes: z.number().int(), modified: z.number() }).strict()),
  })
  .strict()
  .openapi('ReportFiles');

const notConfigured = 'reports_off: this service was started without the report code (npm start has it).';

const experiment = createRoute({
  ...consoleRoute,
  method: 'get',
  path: '/experiments/{id}',
  summary: "An experiment's report from the shop's logs, now (per-arm metrics, lift, SRM, verdict)",
  request: { params: IdParam },
  responses: {
    200: jsonResponse(RenderedReportSchema, 'experiment.json and experiment.html, as npm run report writes them.'),
    ...consoleErrors([400, 404], { 404: `experiment_not_found, or ${notConfigured}` }),
  },
});
const shop = createRoute({
  ...consoleRoute,
  method: 'get',
  path: '/shop',
  summary: "The shop report from the shop's logs, now",
  request: { query: ShopQuery },
  responses: {
    200: jsonResponse(RenderedReportSchema, 'shop.json and shop.html, as npm run report writes them.'),
    ...consoleErrors([400, 404], { 404: notConfigured }),
  },
});
const files = createRoute({
  ...consoleRoute,
  method: 'get',
  path: '/files',
  summary: 'The offline report HTML files in the reports folder (console.reports_dir), newest first',
  responses: { 200: jsonResponse(FileList, 'The files.'), ...consoleErrors([]) },
});
const file = createRoute({
  ...consoleRoute,
  method: 'get',
  path: '/file',
  summary: 'One offline report file',
  request: { query: FileQuery },
  responses: {
    200: { description: 'The report page.', content: { 'text/html': { schema: z.string() } } },
    ...consoleErrors([400, 404], { 404: 'report_not_found: not a file the listing names.' }),
  },
});

const timeOf = (s: string | undefined) =>
  s === undefined ? undefined : /^\d+$/.test(s) ? Number(s) : Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s);

export function reportRoutes(deps: {
  reports: ConsoleReports | undefined;
  reportsDir: string;
  /** Writes the served entries still buffered, so a report sees every response already answered. */
  flush: () => Promise<void>;
  adminKey: string | undefined;
}) {
  const app = createApi();
  app.use('*', requireAdmin(deps.adminKey));
  const reports = () => {
    if (!deps.reports) throw new ApiError(404, 'reports_off', notConfigured);
    return deps.reports;
  };
  app.openapi(experiment, async (c) => {
    const r = reports();
    await deps.flush();
    try {
      return c.json(await r.experiment(c.req.valid('param').id), 200);
    } catch (err) {
      if (err instanceof ReportNotFoundError) throw new ApiError(404, 'experiment_not_found', err.message, 'id');
      throw err;
    }
  });
  app.openapi(shop, async (c) => {
    const r = reports();
    const q = c.req.valid('query');
    const [from, to] = [timeOf(q.from), timeOf(q.to)];
    if (Number.isNaN(from) || Number.isNaN(to))
      throw new ApiError(400, 'invalid_parameter', 'from and to: ISO-8601 dates or epoch milliseconds', 'from');
    await deps.flush();
    return c.json(await r.shop({ from, to }), 200);
  });
  app.openapi(files, async (c) => {
    const dir = deps.reportsDir.split(/[\\/]/).filter(Boolean).at(-1) ?? deps.reportsDir;
    return c.json({ dir, files: await listReportFiles(deps.reportsDir) }, 200);
  });
  app.openapi(file, async (c) => {
    const html = await readReportFile(deps.reportsDir, c.req.valid('query').name);
    if (html === undefined)
      throw new ApiError(404, 'report_not_found', 'no such report file in the reports folder', 'name');
    return c.html(html, 200);
  });
  return app;
}
