import { createRoute, z } from '@hono/zod-openapi';
import { subjectOf } from '../../core/candidate.ts';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { requireSubject } from './errors.ts';
import { createApi, errorResponses, jsonBody, jsonObjectBody, jsonResponse } from './openapi.ts';
import { queryParams } from './query-params.ts';
import { FeedResponseSchema } from './schemas.ts';
import type { ShopperAccess } from './shopper-access.ts';
import type { Context } from 'hono';

const idString = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

export const FeedBodySchema = z
  .object({
    user_id: idString(128).optional(),
    session_id: idString(128).optional(),
    size: z.number().int().min(1).max(100).default(10),
    context: z
      .object({ category: idString(500).optional(), product_id: idString(256).optional() })
      .strict()
      .optional(),
    exclude: z.array(idString(256)).max(1000).optional(),
    debug: z.boolean().default(false),
  })
  .strict()
  .openapi('FeedRequest', { description: 'One of user_id or session_id is required.' });

export type FeedBody = z.output<typeof FeedBodySchema>;

/** GET takes the same fields flat: category and product_id are the context, exclude is comma-separated. */
const feedQuery = queryParams(FeedBodySchema, { flatten: ['context'], maxItems: { exclude: 50 } });

const responses = {
  200: jsonResponse(FeedResponseSchema, 'The personalised list.'),
  ...errorResponses([400, 401, 403, 503], {
    400: 'Invalid request (missing_subject: neither user_id nor session_id).',
    401: 'shopper_token_required, invalid_token, token_expired (with shopper tokens on, the token names the shopper), invalid_server_key.',
    403: "token_mismatch: the user_id or session_id is not the shopper token's.",
    503: 'search_unavailable: the index could not be read within its budget (a failing shopper state or route is a 200 with `degraded`).',
  }),
};

const postResponses = {
  ...responses,
  ...errorResponses([413], { 413: 'payload_too_large: the body is over the limit.' }),
};

const getFeed = createRoute({
  method: 'get',
  path: '/',
  tags: ['feed'],
  summary: 'Feed (query parameters)',
  description: 'The same fields as POST, flattened: category and product_id are the context.',
  request: { query: feedQuery.schema },
  responses,
});

const postFeed = createRoute({
  method: 'post',
  path: '/',
  tags: ['feed'],
  summary: 'Feed ("guess you like")',
  middleware: [jsonObjectBody] as const,
  request: { body: jsonBody(FeedBodySchema) },
  responses: postResponses,
});

/** `GET|POST /v1/feed`: the personalised "guess you like" list. Parse, run the serving pipeline, answer. */
export function feedRoutes(deps: { pipeline: Pipeline; access: ShopperAccess }) {
  const app = createApi();
  const run = async (b: FeedBody, c: Context) => {
    // With shopper tokens on, the token names the shopper (the request may leave the ids out).
    const who = requireSubject(await deps.access.shopper(c, b, { required: true }));
    return deps.pipeline.feed({
      requestId: c.get('requestId'),
      subject: subjectOf(who)!,
      size: b.size,
      context: b.context,
      exclude: b.exclude,
      debug: b.debug,
    });
  };
  app.openapi(getFeed, async (c) => c.json(await run(feedQuery.parse(c.req.valid('query')), c), 200));
  app.openapi(postFeed, async (c) => c.json(await run(c.req.valid('json'), c), 200));
  return app;
}
