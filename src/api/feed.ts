import { Hono } from 'hono';
import { z } from 'zod';
import { subjectOf } from '../../core/candidate.ts';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { ApiError, parseObject, readJson, requireSubject } from './errors.ts';

const idString = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

const FeedBodySchema = z
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
  .strict();

type FeedBody = z.output<typeof FeedBodySchema>;

const validate = (raw: unknown): FeedBody => requireSubject(parseObject(FeedBodySchema, raw));

/** GET carries the same fields flat: category and product_id are the context, exclude is comma-separated. */
function fromQuery(q: Record<string, string>): FeedBody {
  const body: Record<string, unknown> = {};
  const context: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(q)) {
    switch (k) {
      case 'user_id':
      case 'session_id':
        body[k] = v;
        break;
      case 'size':
        body.size = /^-?\d+$/.test(v) ? Number(v) : v;
        break;
      case 'debug':
        body.debug = v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v;
        break;
      case 'category':
      case 'product_id':
        context[k] = v;
        break;
      case 'exclude':
        body.exclude = v.split(',').filter(Boolean);
        break;
      default:
        throw new ApiError(400, 'unknown_parameter', `unknown parameter "${k}"`, k);
    }
  }
  if (Object.keys(context).length > 0) body.context = context;
  return validate(body);
}

/** `GET|POST /v1/feed`: the personalised "guess you like" list. Parse, run the serving pipeline, answer. */
export function feedRoutes(deps: { pipeline: Pipeline }) {
  const app = new Hono();
  const run = (b: FeedBody, requestId: string) =>
    deps.pipeline.feed({
      requestId,
      subject: subjectOf(b)!,
      size: b.size,
      context: b.context,
      exclude: b.exclude,
      debug: b.debug,
    });
  app.get('/', async (c) => c.json(await run(fromQuery(c.req.query()), c.get('requestId'))));
  app.post('/', async (c) => {
    const raw = await readJson(c.req);
    return c.json(await run(validate(raw), c.get('requestId')));
  });
  return app;
}
