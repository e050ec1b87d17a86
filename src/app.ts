import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { logger } from 'hono/logger';
import type { Searcher } from '../retrieval/searcher.ts';
import type { TextEmbedder } from './embedding/embedder.ts';
import { ApiError, errorResponse } from './api/errors.ts';
import { searchRoutes } from './api/search.ts';
import { createMetrics, type Metrics } from './metrics.ts';

export interface AppDeps {
  searcher: Searcher;
  embedder: TextEmbedder | undefined;
  metrics?: Metrics;
  logRequests?: boolean;
}

/**
 * The HTTP surface, composed as Hono middleware: request ids and metrics wrap everything,
 * each API area is its own sub-app, and one error handler gives every failure the same shape.
 */
export function createApp(deps: AppDeps) {
  const metrics = deps.metrics ?? createMetrics();
  const app = new Hono();

  app.use('*', requestId({ headerName: 'X-Request-Id', generator: () => crypto.randomUUID() }));
  if (deps.logRequests) app.use('*', logger());
  app.use('*', async (c, next) => {
    await next();
    metrics.httpRequests.inc({ route: c.req.routePath, status: String(c.res.status) });
  });

  app.route('/v1/search', searchRoutes({ searcher: deps.searcher, metrics }));

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    const generation = deps.searcher.generation;
    return c.json({
      ready: true,
      index: { generation: generation ?? null, empty: generation === undefined },
      embedder: deps.embedder ? { id: deps.embedder.id, dim: deps.embedder.dim } : null,
    });
  });
  app.get('/metrics', async (c) => c.text(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }));

  app.notFound((c) => errorResponse(c, new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    console.error(`[${c.get('requestId')}]`, err);
    return errorResponse(c, new ApiError(500, 'internal', 'internal error'));
  });
  return app;
}
