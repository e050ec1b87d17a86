import { z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';

/**
 * GET carries the same fields as the POST body, flattened into query parameters. This is the one
 * place query strings become body values: each parameter is coerced by the type of the body field
 * it stands for, then the body schema validates the result exactly as it validates a POST.
 *
 *   integer  "10" → 10 (anything else stays a string, for the body schema to reject)
 *   number   "9.5" → 9.5
 *   boolean  true | 1 → true, false | 0 → false
 *   array    "a,b" → ["a", "b"] (repeating the parameter appends)
 *   string   as given
 *
 * Fields of a `flatten`ed nested object (search's `filters`, feed's `context`) are top-level
 * parameters and fold back into that object. A `dynamic` prefix takes parameters named by the
 * shop's data (search's `attributes.color=red` → `filters.attributes.color: ["red"]`). A
 * single-valued parameter given twice is an error naming it: silently keeping one of two
 * `price_max` would answer a question the client did not ask.
 */
export interface QueryParams<B extends z.ZodObject = z.ZodObject> {
  /**
   * The flat parameters, for a route's `request.query`: it documents each parameter with its body
   * field's JSON schema, answers an unknown parameter with an `unrecognized_keys` issue (→ 400
   * unknown_parameter), and validates the folded body with the body schema, so the route's
   * validation hook reports body paths (`filters.in_stock`) as a POST would.
   */
  schema: z.ZodObject;
  /** Coerces the query values and folds them into the body's shape (unvalidated). */
  toBody(query: Query): Record<string, unknown>;
  /** The body a (validated) query stands for: `toBody`, parsed by the body schema (defaults applied). */
  parse(query: Query): z.output<B>;
  /**
   * With a `dynamic` family the schema cannot be strict, and a parsed object has already lost a
   * `__proto__` key: this route middleware answers any other unknown parameter from the raw query.
   */
  guard: MiddlewareHandler;
}

type Query = Readonly<Record<string, unknown>>;

type Kind = 'string' | 'int' | 'number' | 'boolean' | 'array';

interface Param {
  kind: Kind;
  /** The nested body field this parameter goes into, for flattened objects. */
  into?: string;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** The schema under optional/default/… wrappers (and the input side of a pipe). */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const def = s._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (WRAPPERS.has(def.type) && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return s;
  }
}

function kindOf(schema: z.ZodType): Kind {
  const s = unwrap(schema);
  switch (s._zod.def.type) {
    case 'union':
      // "One value or a list of them" (search's brand and category) takes a list.
      return (s._zod.def as unknown as { options: z.ZodType[] }).options.some((o) => kindOf(o) === 'array')
        ? 'array'
        : 'string';
    case 'number':
      return (s as z.ZodNumber).format === 'safeint' || (s as z.ZodNumber).format === 'int32' ? 'int' : 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return 'array';
    default:
      return 'string';
  }
}

const COERCE: Record<Kind, (values: readonly string[]) => unknown> = {
  string: (v) => v[0],
  int: (v) => (/^-?\d+$/.test(v[0]!) ? Number(v[0]) : v[0]),
  number: (v) => (v[0]!.trim() !== '' && Number.isFinite(Number(v[0])) ? Number(v[0]) : v[0]),
  boolean: (v) => (v[0] === 'true' || v[0] === '1' ? true : v[0] === 'false' || v[0] === '0' ? false : v[0]),
  array: (v) => v.flatMap((s) => s.split(',')).filter(Boolean),
};

/** The body field's JSON schema, as the parameter's documentation. */
function paramDoc(field: z.ZodType, kind: Kind, required: boolean): Record<string, unknown> {
  const { $schema: _, ...doc } = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  const param = { ...(kind === 'array' && { style: 'form', explode: false }), ...(required && { required: true }) };
  return { ...doc, ...(Object.keys(param).length > 0 && { param }) };
}

const isRequired = (field: z.ZodType) => !field.safeParse(undefined).success;

/** The query parameters of a GET that takes the same fields as `body`. */
/** Parameters named `<prefix><name>` folded as lists into `body[into][field][name]`. */
export interface DynamicParams {
  prefix: string;
  into: string;
  field: string;
  /** Documentation of the parameter family. */
  description: string;
}

export function queryParams<B extends z.ZodObject>(
  body: B,
  options: {
    flatten?: readonly string[];
    /**
     * Fewer items for a list parameter than its body field takes: a URL must fit in the HTTP
     * server's header limit (Node's 16 KiB), which 1,000 ids of 256 characters do not. The POST
     * body keeps the field's own bound.
     */
    maxItems?: Readonly<Record<string, number>>;
    dynamic?: DynamicParams;
  } = {},
): QueryParams<B> {
  const dyn = options.dynamic;
  const params = new Map<string, Param>();
  const shape: Record<string, z.ZodType> = {};
  const add = (name: string, field: z.ZodType, into: string | undefined, required: boolean) => {
    const kind = kindOf(field);
    params.set(name, { kind, ...(into !== undefined && { into }) });
    // Validation is the body schema's job (a missing `q` included): here every value passes, the
    // docs say what is expected.
    const max = options.maxItems?.[name];
    shape[name] = z
      .unknown()
      .optional()
      .openapi({ ...paramDoc(field, kind, required), ...(max !== undefined && { maxItems: max }) });
  };
  for (const [key, field] of Object.entries(body.shape as Record<string, z.ZodType>)) {
    if (options.flatten?.includes(key)) {
      const nested = unwrap(field) as z.ZodObject;
      for (const [sub, subField] of Object.entries(nested.shape as Record<string, z.ZodType>))
        // A map (search's attributes) has no one parameter: it comes in as a `dynamic` family.
        if (unwrap(subField)._zod.def.type !== 'record') add(sub, subField, key, false);
    } else add(key, field, undefined, isRequired(field));
  }

  const toBody = (query: Query) => {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(query)) {
      if (dyn && name.startsWith(dyn.prefix) && (typeof value === 'string' || Array.isArray(value))) {
        const nested = (((out[dyn.into] ??= {}) as Record<string, unknown>)[dyn.field] ??= {});
        (nested as Record<string, unknown>)[name.slice(dyn.prefix.length)] = COERCE.array(
          typeof value === 'string' ? [value] : (value as string[]),
        );
        continue;
      }
      const p = params.get(name);
      if (!p || (typeof value !== 'string' && !Array.isArray(value))) continue;
      const coerced = COERCE[p.kind](typeof value === 'string' ? [value] : (value as string[]));
      if (p.into === undefined) out[name] = coerced;
      else ((out[p.into] ??= {}) as Record<string, unknown>)[name] = coerced;
    }
    return out;
  };
  const schema = (
    dyn
      ? z
          .object(shape)
          .catchall(z.unknown().openapi({ description: dyn.description }))
          .superRefine((query, ctx) => {
            const unknown = Object.keys(query).filter((k) => !params.has(k) && !k.startsWith(dyn.prefix));
            if (unknown.length > 0) ctx.addIssue({ code: 'unrecognized_keys', keys: unknown, input: query, path: [] });
          })
      : z.object(shape).strict()
  ).superRefine((query, ctx) => {
    for (const [name, value] of Object.entries(query)) {
      if (Array.isArray(value) && value.length > 1 && params.get(name) && params.get(name)!.kind !== 'array') {
        ctx.addIssue({
          code: 'custom',
          path: [...(params.get(name)!.into !== undefined ? [params.get(name)!.into!] : []), name],
          message: `given ${value.length} times; this parameter takes one value`,
        });
        return;
      }
    }
    const flat = toBody(query);
    for (const [name, max] of Object.entries(options.maxItems ?? {})) {
      const p = params.get(name);
      const list = p?.into === undefined ? flat[name] : (flat[p.into] as Record<string, unknown> | undefined)?.[name];
      if (Array.isArray(list) && list.length > max)
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `at most ${max} items in a query parameter (the POST body takes more)`,
        });
    }
    const parsed = body.safeParse(flat);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue(issue as z.core.$ZodRawIssue);
  });
  const guard: MiddlewareHandler = async (c, next) => {
    if (dyn) {
      const unknown = Object.keys(c.req.queries()).find((k) => !params.has(k) && !k.startsWith(dyn.prefix));
      if (unknown !== undefined)
        throw new ApiError(400, 'unknown_parameter', `unknown parameter "${unknown}"`, unknown);
    }
    await next();
  };
  return { schema, toBody, parse: (query) => body.parse(toBody(query)), guard };
}
