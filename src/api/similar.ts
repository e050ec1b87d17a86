import { Hono } from 'hono';
import { z } from 'zod';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { ProductNotFound } from '../../pipeline/recall.ts';
import { ApiError, fromZod } from './errors.ts';

const QuerySchema = z
  .object({
    size: z.coerce.number().int().min(1).max(100).default(10),
    debug: z
      .enum(['true', 'false', '1', '0'])
      .transform((v) => v === 'true' || v === '1')
      .default(false),
  })
  .strict();

/** `GET /v1/products/:id/similar`: parse, run the serving pipeline (ranking, diversity, coupons too), answer. */
export function similarRoutes(deps: { pipeline: Pipeline }) {
  const app = new Hono();
  app.get('/:id/similar', async (c) => {
    const id = c.req.param('id');
    const parsed = QuerySchema.safeParse(c.req.query());
    if (!parsed.success) throw fromZod(parsed.error);
    const { size, debug } = parsed.data;
    try {
      return c.json(await deps.pipeline.similar({ requestId: c.get('requestId'), productId: id, size, debug }));
    } catch (err) {
      if (err instanceof ProductNotFound) throw new ApiError(404, 'product_not_found', err.message, 'id');
      throw err;
    }
  });
  return app;
}
