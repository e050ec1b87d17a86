import { OpenAPIHono, z, type Hook } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { ApiError, fromZod, readJson } from './errors.ts';

/**
 * What every route module shares to be described by OpenAPI: the error schema and its responses,
 * the validation hook that gives zod failures the API's own 400 shape, and the JSON body handling
 * that keeps the API's behaviour (any Content-Type, `invalid_json`, `invalid_body`).
 */

export const ErrorSchema = z
  .object({
    error: z
      .object({
        code: z.string().openapi({ example: 'invalid_parameter' }),
        message: z.string(),
        field: z.string().optional().openapi({ description: 'The parameter or body field at fault (dotted path).' }),
      })
      .strict(),
  })
  .strict()
  .openapi('Error', { description: 'The one error shape every endpoint returns.' });

const ERROR_DESCRIPTIONS = {
  400: 'Invalid request: the error names the code and the field at fault.',
  401: 'Missing or wrong admin key.',
  403: 'Forbidden.',
  404: 'Not found.',
  409: 'Conflict with the current state.',
  413: 'Payload too large.',
  503: 'A server this answer needs did not answer within its budget; `Retry-After` says when to try again.',
} as const;

/** Every 503 says when trying again makes sense (core/dependency-guard.ts). */
const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds until a retry makes sense (the circuit breaker half-opens).',
    schema: { type: 'integer' as const, minimum: 1 },
  },
};
export type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** Error responses for `statuses`, each with the shared error schema; `descriptions` overrides the defaults. */
export function errorResponses<S extends ErrorStatus>(
  statuses: readonly S[],
  descriptions: Partial<Record<ErrorStatus, string>> = {},
) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: descriptions[s] ?? ERROR_DESCRIPTIONS[s],
        ...(s === 503 && { headers: RETRY_AFTER }),
        content: { 'application/json': { schema: ErrorSchema } },
      },
    ]),
  ) as Record<
    S,
    {
      description: string;
      headers?: typeof RETRY_AFTER;
      content: { 'application/json': { schema: typeof ErrorSchema } };
    }
  >;
}

/** A JSON response with `schema`. */
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/**
 * The validation hook of every route: the first zod issue becomes the API's 400
 * (`invalid_parameter`, `unknown_parameter`, `unknown_filter`, with its field), never the
 * library's own error shape. `remap` lets a route keep a more specific code (search's `invalid_query`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one hook for every route's types
export function validationHook(remap: (e: ApiError) => ApiError = (e) => e): Hook<any, any, any, any> {
  return (result) => {
    if (!result.success) throw remap(fromZod(result.error as z.ZodError));
  };
}

/** Every route module is one of these: OpenAPI-described routes that fail validation the API's way. */
export const createApi = (remap?: (e: ApiError) => ApiError) => new OpenAPIHono({ defaultHook: validationHook(remap) });

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Route middleware for a JSON object body, before the library validates it: a body that is not
 * JSON is `invalid_json`, one that is not an object `invalid_body` (as every endpoint has always
 * answered), and the body is read as JSON whatever its Content-Type says, as before.
 */
export const jsonObjectBody: MiddlewareHandler = async (c, next) => {
  const raw = await readJson(c.req);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ApiError(400, 'invalid_body', 'the request body must be a JSON object');
  const type = c.req.header('content-type')?.split(';')[0]?.trim() ?? '';
  if (!JSON_TYPE.test(type)) {
    // The library validates JSON bodies only under a JSON Content-Type (else 415): the parsed body
    // is cached on the request, so a JSON-typed copy without a body reads the same JSON.
    const headers = new Headers(c.req.raw.headers);
    headers.set('content-type', 'application/json');
    c.req.raw = new Request(c.req.url, { method: c.req.method, headers });
  }
  await next();
};

/** A JSON request body the library validates with `schema` (after {@link jsonObjectBody}). */
export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  ...(description !== undefined && { description }),
  content: { 'application/json': { schema } },
});

/** The bearer scheme of the admin endpoints (`SHELF_ADMIN_API_KEY`). */
export const ADMIN_SECURITY = 'adminKey';
export const adminSecurity = [{ [ADMIN_SECURITY]: [] }];

/**
 * Registers a schema the handler validates itself (not the library) as a named component, for
 * bodies documented by `$ref`. Converted by zod directly: schemas from lower floors are plain zod
 * schemas, without the `.openapi()` the library's registry expects.
 */
export function registerSchema(app: OpenAPIHono, name: string, schema: z.ZodType) {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  app.openAPIRegistry.registerComponent('schemas', name, json);
  return { $ref: `#/components/schemas/${name}` };
}
