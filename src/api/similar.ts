import { Hono } from 'hono';
import { z } from 'zod';
import type { StateStore } from '../../behavior/state-store.ts';
import type { FeedConfig } from '../../retrieval/recall/feed-config.ts';
import type { Searcher } from '../../retrieval/recall/searcher.ts';
import { similarItems } from '../../retrieval/recall/similar.ts';
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

/** `GET /v1/products/:id/similar`. */
export function similarRoutes(deps: { searcher: Searcher; state: StateStore; feed: FeedConfig }) {
  const app = new Hono();
  app.get('/:id/similar', async (c) => {
    const id = c.req.param('id');
    const parsed = QuerySchema.safeParse(c.req.query());
    if (!parsed.success) throw fromZod(parsed.error);
    const { size, debug } = parsed.data;
    const result = await deps.searcher.withSnapshot((snap) =>
      similarItems(snap, deps.state, id, size, deps.feed, debug),
    );
    if (!result) throw new ApiError(404, 'product_not_found', `no product "${id}" in the index`, 'id');
    return c.json({ request_id: c.get('requestId'), product_id: id, ...result });
  });
  return app;
}
