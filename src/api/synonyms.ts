import { createRoute, z } from '@hono/zod-openapi';
import { SynonymRulesSchema, type CachedSynonyms } from '../../retrieval/index/synonyms.ts';
import { requireAdmin } from './coupons.ts';
import { ApiError, fromZod, readJson } from './errors.ts';
import { adminSecurity, createApi, errorResponses, jsonBody, jsonObjectBody, jsonResponse } from './openapi.ts';

/**
 * `/v1/admin/synonyms`: the shop's synonym set, replaced whole (PUT), read (GET), cleared
 * (DELETE). Applied at query time by every search from the next request on (this instance) or
 * within the cache period (`search.synonyms_cache_ms`, other instances); the version in force is
 * in search responses' `debug.lexical.synonyms_version`.
 */
const Rule = z.union([
  z
    .array(z.string())
    .openapi({ description: 'A multi-way set: each phrase finds the others.', example: ['tv', 'television'] }),
  z
    .object({ from: z.string(), to: z.array(z.string()) })
    .strict()
    .openapi({ description: 'A one-way rule: `from` also finds `to`.', example: { from: 'notebook', to: ['laptop'] } }),
]);

const SynonymSetSchema = z
  .object({
    version: z.number().int().openapi({ description: '0: never set; +1 on every replace or clear.' }),
    updated_at: z.string().optional(),
    synonyms: z.array(Rule),
  })
  .strict()
  .openapi('SynonymSet');

const PutBody = z
  .object({ synonyms: z.array(Rule).openapi({ description: 'The whole set (at most 10,000 rules).' }) })
  .strict()
  .openapi('SynonymSetRequest');

const adminRoute = { tags: ['admin'], security: adminSecurity };
const admin = (statuses: Array<400 | 413>) =>
  errorResponses([401, 403, ...statuses], { 403: 'admin_disabled: no SHELF_ADMIN_API_KEY is configured.' });

const getRoute = createRoute({
  ...adminRoute,
  method: 'get',
  path: '/',
  summary: 'Read the synonym set',
  responses: { 200: jsonResponse(SynonymSetSchema, 'The set in force.'), ...admin([]) },
});
const putRoute = createRoute({
  ...adminRoute,
  method: 'put',
  path: '/',
  summary: 'Replace the whole synonym set',
  middleware: [jsonObjectBody] as const,
  request: { body: jsonBody(PutBody) },
  responses: { 200: jsonResponse(SynonymSetSchema, 'The new set, with its version.'), ...admin([400, 413]) },
});
const deleteRoute = createRoute({
  ...adminRoute,
  method: 'delete',
  path: '/',
  summary: 'Clear the synonym set',
  responses: { 200: jsonResponse(SynonymSetSchema, 'The empty set, with its new version.'), ...admin([]) },
});

export function synonymRoutes(deps: { synonyms: CachedSynonyms; adminKey: string | undefined }) {
  const app = createApi();
  const store = deps.synonyms.store;
  app.use('*', requireAdmin(deps.adminKey));

  app.openapi(getRoute, async (c) => c.json(await store.get(), 200));
  // The body is validated here (not by the library) so a bad rule is named by its index.
  app.openapi(putRoute, async (c) => {
    const raw = await readJson(c.req);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new ApiError(400, 'invalid_body', 'the request body must be a JSON object: {"synonyms": [...]}');
    const parsed = z.object({ synonyms: SynonymRulesSchema }).strict().safeParse(raw);
    if (!parsed.success) throw fromZod(parsed.error);
    const set = await store.put(parsed.data.synonyms);
    deps.synonyms.invalidate();
    return c.json(set, 200);
  });
  app.openapi(deleteRoute, async (c) => {
    const set = await store.clear();
    deps.synonyms.invalidate();
    return c.json(set, 200);
  });
  return app;
}
