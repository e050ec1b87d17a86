import { createRoute, z } from '@hono/zod-openapi';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { ProductNotFound } from '../../pipeline/recall.ts';
import { ApiError } from './errors.ts';
import { createApi, errorResponses, jsonResponse } from './openapi.ts';
import { queryParams } from './query-params.ts';
import { SimilarResponseSchema } from './schemas.ts';

/** The request's fields (only GET takes them, as query parameters). */
export const SimilarParamsSchema = z
  .object({
    size: z.number().int().min(1).max(100).default(10),
    debug: z.boolean().default(false),
    /** The shopper, optional: only an experiment on similar items reads it (which arm serves them). */
    user_id: z.string().trim().min(1).max(128).optional(),
    session_id: z.string().trim().min(1).max(128).optional(),
  })
  .strict();

export type SimilarParams = z.output<typeof SimilarParamsSchema>;

const similarQuery = queryParams(SimilarParamsSchema);

const getSimilar = createRoute({
  method: 'get',
  path: '/{id}/similar',
  tags: ['feed'],
  summary: 'Similar items ("more like this")',
  request: {
    params: z.object({ id: z.string().openapi({ description: 'The product id.' }) }),
    query: similarQuery.schema,
  },
  responses: {
    200: jsonResponse(
      SimilarResponseSchema,
      "The product's neighbours, fused with what shoppers engage with alongside it.",
    ),
    ...errorResponses([400, 404, 503], {
      404: 'product_not_found: the product is not in the index.',
      503: "search_unavailable: the product's neighbours could not be read within the budget.",
    }),
  },
});

/** `GET /v1/products/:id/similar`: parse, run the serving pipeline (ranking, diversity, coupons too), answer. */
export function similarRoutes(deps: { pipeline: Pipeline }) {
  const app = createApi();
  const run = async (id: string, { size, debug, user_id, session_id }: SimilarParams, requestId: string) => {
    try {
      return await deps.pipeline.similar({ requestId, productId: id, size, debug, user_id, session_id });
    } catch (err) {
      if (err instanceof ProductNotFound) throw new ApiError(404, 'product_not_found', err.message, 'id');
      throw err;
    }
  };
  app.openapi(getSimilar, async (c) =>
    c.json(await run(c.req.valid('param').id, similarQuery.parse(c.req.valid('query')), c.get('requestId')), 200),
  );
  return app;
}
