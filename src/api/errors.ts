import type { Context, HonoRequest } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';

/** The one error shape every endpoint returns: machine-readable code, human message, the field at fault. */
export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** Response headers that go with the error (Retry-After on a 429 or 503). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export function errorResponse(c: Context, err: ApiError) {
  const body: ApiErrorBody = {
    error: { code: err.code, message: err.message, ...(err.field !== undefined && { field: err.field }) },
  };
  return c.json(body, err.status, err.headers);
}

/** Turns the first zod issue into a 400 that names the field and why. */
export function fromZod(error: z.ZodError, prefix: string[] = []): ApiError {
  const issue = error.issues[0]!;
  const pathParts = [...prefix, ...issue.path.map(String)];
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const field = [...pathParts, key].join('.');
    const isFilter = pathParts.at(-1) === 'filters';
    return new ApiError(
      400,
      isFilter ? 'unknown_filter' : 'unknown_parameter',
      `unknown ${isFilter ? 'filter' : 'parameter'} "${key}"`,
      field,
    );
  }
  const field = pathParts.join('.') || undefined;
  return new ApiError(400, 'invalid_parameter', field ? `${field}: ${issue.message}` : issue.message, field);
}

/** The request body as JSON, or the one 400 every endpoint gives for a body that is not. */
export async function readJson(req: HonoRequest): Promise<unknown> {
  try {
    return await req.json();
  } catch {
    throw new ApiError(400, 'invalid_json', 'the request body is not valid JSON');
  }
}

/**
 * `raw` (a JSON body, or a GET's query folded into one) parsed by `schema`, or the 400 every
 * endpoint gives: `invalid_body` when it is not an object, else the first zod issue.
 */
export function parseObject<T extends z.ZodType>(schema: T, raw: unknown): z.output<T> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ApiError(400, 'invalid_body', 'the request body must be a JSON object');
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw fromZod(parsed.error);
  return parsed.data;
}

/** For endpoints about one shopper (feed, coupons): the schema leaves both ids optional, one is required. */
export function requireSubject<B extends { user_id?: string | undefined; session_id?: string | undefined }>(b: B): B {
  if (b.user_id === undefined && b.session_id === undefined)
    throw new ApiError(400, 'missing_subject', 'one of user_id or session_id is required', 'user_id');
  return b;
}
