import { Hono } from 'hono';
import { z } from 'zod';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { ApiError, parseObject, readJson } from './errors.ts';

const MAX_QUERY_CHARS = 999;
/** Deep paging past this many results is what export jobs are for, not a search box. */
const MAX_WINDOW = 10_000;

const FiltersSchema = z
  .object({
    category: z.string().trim().min(1).max(500).optional(),
    brand: z.string().trim().min(1).max(200).optional(),
    price_min: z.number().finite().nonnegative().optional(),
    price_max: z.number().finite().nonnegative().optional(),
    in_stock: z.boolean().optional(),
  })
  .strict();

const SearchBodySchema = z
  .object({
    q: z
      .string({ error: 'required, as a string' })
      .trim()
      .min(1, 'must not be empty')
      .max(MAX_QUERY_CHARS, `must be at most ${MAX_QUERY_CHARS} characters`),
    size: z.number().int().min(1).max(100).default(10),
    page: z.number().int().min(1).default(1),
    filters: FiltersSchema.optional(),
    debug: z.boolean().default(false),
    /** The shopper, for personalised ranking (optional). */
    user_id: z.string().trim().min(1).max(128).optional(),
    session_id: z.string().trim().min(1).max(128).optional(),
  })
  .strict();

type SearchBody = z.output<typeof SearchBodySchema>;

const intParam = (s: string) => (/^-?\d+$/.test(s) ? Number(s) : s);
const numParam = (s: string) => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s);
const boolParam = (s: string) => (s === 'true' || s === '1' ? true : s === 'false' || s === '0' ? false : s);

/** GET carries the same fields as POST, flattened: filters are top-level query parameters. */
const GET_FIELDS: Record<string, { target: 'top' | 'filter'; coerce: (s: string) => unknown }> = {
  q: { target: 'top', coerce: (s) => s },
  size: { target: 'top', coerce: intParam },
  page: { target: 'top', coerce: intParam },
  debug: { target: 'top', coerce: boolParam },
  user_id: { target: 'top', coerce: (s) => s },
  session_id: { target: 'top', coerce: (s) => s },
  category: { target: 'filter', coerce: (s) => s },
  brand: { target: 'filter', coerce: (s) => s },
  price_min: { target: 'filter', coerce: numParam },
  price_max: { target: 'filter', coerce: numParam },
  in_stock: { target: 'filter', coerce: boolParam },
};

export function parseSearchParams(params: Record<string, string>): SearchBody {
  const body: Record<string, unknown> = {};
  const filters: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    const spec = GET_FIELDS[key];
    if (!spec) throw new ApiError(400, 'unknown_parameter', `unknown parameter "${key}"`, key);
    (spec.target === 'top' ? body : filters)[key] = spec.coerce(value);
  }
  if (Object.keys(filters).length > 0) body.filters = filters;
  return validateBody(body);
}

export function validateBody(raw: unknown): SearchBody {
  let b: SearchBody;
  try {
    b = parseObject(SearchBodySchema, raw);
  } catch (err) {
    // Keep the documented code for the most common mistake.
    if (err instanceof ApiError && err.field === 'q' && err.code === 'invalid_parameter')
      throw new ApiError(400, 'invalid_query', err.message, 'q');
    throw err;
  }
  const f = b.filters;
  if (f?.price_min !== undefined && f.price_max !== undefined && f.price_min > f.price_max) {
    throw new ApiError(
      400,
      'invalid_parameter',
      'filters.price_min must not exceed filters.price_max',
      'filters.price_min',
    );
  }
  if (b.page * b.size > MAX_WINDOW) {
    throw new ApiError(400, 'invalid_parameter', `page × size must be at most ${MAX_WINDOW}`, 'page');
  }
  return b;
}

/** `GET|POST /v1/search`: parse, run the serving pipeline, answer. */
export function searchRoutes(deps: { pipeline: Pipeline }) {
  const app = new Hono();
  const run = (body: SearchBody, requestId: string) =>
    deps.pipeline.search({
      requestId,
      q: body.q,
      filters: body.filters,
      page: body.page,
      size: body.size,
      debug: body.debug,
      user_id: body.user_id,
      session_id: body.session_id,
    });
  app.get('/', async (c) => c.json(await run(parseSearchParams(c.req.query()), c.get('requestId'))));
  app.post('/', async (c) => {
    const raw = await readJson(c.req);
    return c.json(await run(validateBody(raw), c.get('requestId')));
  });
  return app;
}
