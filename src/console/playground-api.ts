import { createRoute, z } from '@hono/zod-openapi';
import type { Surface } from '../../core/candidate.ts';
import type { RequestOverrides } from '../../pipeline/context.ts';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { requireAdmin } from '../api/coupons.ts';
import { ApiError } from '../api/errors.ts';
import { createApi, jsonBody, jsonObjectBody, jsonResponse } from '../api/openapi.ts';
import { SearchResponseSchema } from '../api/schemas.ts';
import { validateBody } from '../api/search.ts';
import { armSettings, requestOverrides } from '../experiments/arm-settings.ts';
import { SettingsOverrideError } from '../settings/overrides.ts';
import type { Settings } from '../settings/schema.ts';
import { consoleErrors, consoleRoute } from './admin-schemas.ts';

/**
 * `POST /v1/admin/playground/search`: a search as the public endpoint runs it, with per-request
 * overrides of request-scoped settings (the same map an experiment arm takes), for the console's
 * side-by-side. It runs on a pipeline without the served log: a merchandiser's trial searches are
 * not shop traffic and must not count in reports or training data.
 */

const PlaygroundBody = z
  .object({
    search: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'A SearchRequest body, as POST /v1/search takes it (debug is always on).' }),
    overrides: z.record(z.string(), z.unknown()).default({}).openapi({
      description:
        'Request-scoped setting paths to values, e.g. `{"retrieval.weights.vector": 0.5, "ranking.mode": "off"}`.',
    }),
  })
  .strict()
  .openapi('PlaygroundSearchRequest');

const PlaygroundResponse = z
  .object({ overrides: z.record(z.string(), z.unknown()), response: SearchResponseSchema })
  .strict()
  .openapi('PlaygroundSearchResponse');

const route = createRoute({
  ...consoleRoute,
  method: 'post',
  path: '/search',
  summary: 'Search with per-request setting overrides (console playground; not logged)',
  middleware: [jsonObjectBody] as const,
  request: { body: jsonBody(PlaygroundBody) },
  responses: {
    200: jsonResponse(PlaygroundResponse, 'The search response under these settings, with debug.'),
    ...consoleErrors([400, 413], {
      400: 'Invalid search (as POST /v1/search), or invalid_override naming the setting path in `field`.',
    }),
  },
});

/** The pipeline's overrides for `surface` from a dotted override map, or the 400 naming the setting. */
export function overridesFor(settings: Settings, map: Record<string, unknown>, surface: Surface): RequestOverrides {
  try {
    return requestOverrides(armSettings(settings, map), Object.keys(map), surface);
  } catch (err) {
    if (!(err instanceof SettingsOverrideError)) throw err;
    throw new ApiError(400, 'invalid_override', err.message, err.path);
  }
}

export function playgroundRoutes(deps: { pipeline: Pipeline; settings: Settings; adminKey: string | undefined }) {
  const app = createApi();
  app.use('*', requireAdmin(deps.adminKey));
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    let search;
    try {
      search = validateBody({ ...body.search, debug: true });
    } catch (err) {
      if (err instanceof ApiError && err.field !== undefined)
        throw new ApiError(err.status, err.code, err.message, `search.${err.field}`);
      throw err;
    }
    const overrides = overridesFor(deps.settings, body.overrides, 'search');
    // Every field the search endpoint takes (filters, sort, …) goes through as it would there.
    const response = await deps.pipeline.search({ ...search, requestId: c.get('requestId'), overrides });
    // The pipeline's facet map is keyed by template literals the response schema spells as a catchall.
    return c.json(
      { overrides: body.overrides, response: response as unknown as z.output<typeof SearchResponseSchema> },
      200,
    );
  });
  return app;
}
