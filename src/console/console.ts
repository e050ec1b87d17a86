import type { OpenAPIHono } from '@hono/zod-openapi';
import type { StateStore } from '../../behavior/state-store.ts';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import type { IndexBackend } from '../../retrieval/index/index-backend.ts';
import type { Searcher } from '../../retrieval/recall/searcher.ts';
import type { DeployedModelsStatus } from './index-api.ts';
import type { Settings } from '../settings/schema.ts';
import { indexRoutes } from './index-api.ts';
import { playgroundRoutes } from './playground-api.ts';
import type { ConsoleReports } from './reports.ts';
import { reportRoutes } from './reports-api.ts';
import { shopperRoutes } from './shopper-api.ts';
import { consoleStaticRoutes } from './static-routes.ts';

/** What the console needs from the service (AppDeps.console). */
export interface ConsoleDeps {
  /** The service's settings: playground overrides are validated against them; `console.reports_dir`. */
  settings: Settings;
  /** The admin key; undefined: the console's API answers 403 admin_disabled (the login form says so). */
  adminKey?: string | undefined;
  /** The experiment and shop reports (the report code, handed in by the entry point); undefined: reports_off. */
  reports?: ConsoleReports | undefined;
  /** The index back end the searcher reads: its kind, and the drift check. */
  backend: IndexBackend;
}

/**
 * Mounts the console: its pages at `/console`, and the admin read endpoints they use (declared in
 * the OpenAPI document like every route). `pipeline` is the service's pipeline without the served
 * log: what a merchandiser looks at is not traffic.
 */
export function mountConsole(
  app: OpenAPIHono,
  deps: ConsoleDeps & {
    pipeline: Pipeline;
    searcher: Searcher;
    state: StateStore | undefined;
    flush: () => Promise<void>;
    /** The ranker's and the sequence model's deployed versions now. */
    models: () => DeployedModelsStatus;
  },
) {
  const { adminKey, settings } = deps;
  app.route('/console', consoleStaticRoutes());
  app.get('/console/', (c) => c.redirect('/console', 301));
  app.route('/v1/admin/playground', playgroundRoutes({ pipeline: deps.pipeline, settings, adminKey }));
  if (deps.state)
    app.route(
      '/v1/admin/shopper',
      shopperRoutes({ pipeline: deps.pipeline, state: deps.state, searcher: deps.searcher, adminKey }),
    );
  app.route(
    '/v1/admin/index',
    indexRoutes({
      searcher: deps.searcher,
      backend: deps.backend,
      dataDir: settings.service.dataDir,
      adminKey,
      models: deps.models,
    }),
  );
  app.route(
    '/v1/admin/reports',
    reportRoutes({ reports: deps.reports, reportsDir: settings.console.reports_dir, flush: deps.flush, adminKey }),
  );
}
