import { createRoute, z } from '@hono/zod-openapi';
import { subjectOf } from '../../core/candidate.ts';
import { loadShopper, type StateStore } from '../../behavior/state-store.ts';
import { priceBand, topAffinities } from '../../behavior/user-state.ts';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import type { Searcher } from '../../retrieval/recall/searcher.ts';
import { requireAdmin } from '../api/coupons.ts';
import { requireSubject } from '../api/errors.ts';
import { createApi, jsonResponse } from '../api/openapi.ts';
import { FeedResponseSchema } from '../api/schemas.ts';
import { consoleErrors, consoleRoute } from './admin-schemas.ts';

/**
 * `GET /v1/admin/shopper?user_id=|session_id=`: one shopper as the feed sees them — the state the
 * consumer folded from their events (recent items with their weights, affinities, price band,
 * counts; a session linked by `identify` reads its user's) and the feed they get now, with debug
 * (their experiment arm included). The feed runs on the pipeline without the served log, so
 * looking at a shopper is not a response they were shown.
 */

const idParam = z.string().trim().min(1).max(128).optional();
const Query = z
  .object({
    user_id: idParam,
    session_id: idParam,
    size: z.coerce.number().int().min(1).max(100).default(10),
  })
  .strict();

const Weighted = z.array(z.object({ key: z.string(), weight: z.number() }).strict());

const ShopperView = z
  .object({
    subject: z.string().openapi({ description: 'As asked: `u:<user_id>` or `s:<session_id>`.' }),
    state: z
      .object({
        subject: z.string().openapi({ description: 'Whose state it is: a linked session reads its user.' }),
        linked: z.boolean(),
        version: z.number().int(),
        updated_at: z.number().openapi({ description: 'Event time of the last event applied (epoch ms).' }),
        recent: z.array(
          z.object({ id: z.string(), title: z.string().optional(), ts: z.number(), weight: z.number() }).strict(),
        ),
        categories: Weighted,
        brands: Weighted,
        price_band: z.number().nullable(),
        counts: z.record(z.string(), z.number()),
        coupons: z.record(z.string(), z.number()),
        purchased: z.array(z.string()),
        shown: z.number().int().openapi({ description: 'Recent impressions the feed leaves out.' }),
        interest_vector: z.boolean().openapi({ description: 'Whether the uservector route has a vector to search.' }),
      })
      .strict()
      .nullable()
      .openapi({ description: 'null: no event of theirs has been applied yet (a cold start).' }),
    feed: FeedResponseSchema,
  })
  .strict()
  .openapi('ShopperView');

const route = createRoute({
  ...consoleRoute,
  method: 'get',
  path: '/',
  summary: "A shopper's state and feed, as the feed sees them (console; not logged)",
  request: { query: Query },
  responses: {
    200: jsonResponse(ShopperView, 'The state and the feed now.'),
    ...consoleErrors([400], { 400: 'missing_subject, or an invalid parameter.' }),
  },
});

const RECENT = 20;

export function shopperRoutes(deps: {
  pipeline: Pipeline;
  state: StateStore;
  searcher: Searcher;
  adminKey: string | undefined;
}) {
  const app = createApi();
  app.use('*', requireAdmin(deps.adminKey));
  app.openapi(route, async (c) => {
    const q = requireSubject(c.req.valid('query'));
    const subject = subjectOf(q)!;
    const [shopper, feed] = await Promise.all([
      loadShopper(deps.state, subject),
      deps.pipeline.feed({ requestId: c.get('requestId'), subject, size: q.size, debug: true }),
    ]);
    const u = shopper.user;
    let state = null;
    if (u) {
      const recent = [...u.recent].sort((a, b) => b.ts - a.ts).slice(0, RECENT);
      const titles = await deps.searcher.withSnapshot(async (snap) =>
        snap ? await snap.text.get(recent.map((r) => r.id)) : new Map(),
      );
      const round = (x: number) => Math.round(x * 1000) / 1000;
      const weighted = (r: Record<string, number>) =>
        topAffinities(r, 10).map((a) => ({ key: a.key, weight: round(a.weight) }));
      const band = priceBand(u);
      state = {
        subject: shopper.subject,
        linked: shopper.subject !== subject,
        version: u.version,
        updated_at: u.ts,
        recent: recent.map((r) => ({
          id: r.id,
          ...(titles.get(r.id) && { title: titles.get(r.id)!.title }),
          ts: r.ts,
          weight: round(r.w),
        })),
        categories: weighted(u.categories),
        brands: weighted(u.brands),
        price_band: band === undefined ? null : Math.round(band * 100) / 100,
        counts: { ...u.counts },
        coupons: { ...u.coupons },
        purchased: u.purchased.slice(-RECENT),
        shown: u.shown.length,
        interest_vector: u.short !== null || u.long !== null,
      };
    }
    return c.json({ subject, state, feed }, 200);
  });
  return app;
}
