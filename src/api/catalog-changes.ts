import { createRoute, z } from '@hono/zod-openapi';
import client from 'prom-client';
import type { Context } from 'hono';
import { IndexBusyError } from '../../retrieval/index/index-backend.ts';
import type { CatalogChangeSink, ChangeBatchResult } from '../../indexer/change-batch.ts';
import type { Metrics } from '../../core/metrics.ts';
import { ApiError } from './errors.ts';
import { requireAdmin } from './coupons.ts';
import { adminSecurity, createApi, ErrorSchema, errorResponses, jsonResponse, registerSchema } from './openapi.ts';

export const MAX_CHANGES_PER_BATCH = 10_000;

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];
const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

const ChangeRejectionSchema = z
  .object({
    index: z.number().int().openapi({ description: 'The line’s position in the batch, from 0 (blank lines skipped).' }),
    line: z.number().int().optional().openapi({ description: 'NDJSON bodies: the 1-based line of the body.' }),
    id: z.string().optional().openapi({ description: 'The product id the line names.' }),
    code: z.string().openapi({
      description:
        'invalid_json, invalid_change (every problem in `reason`, each with the value sent), unknown_product ' +
        '(an update of an id the index does not hold: never created) or write_failed.',
    }),
    field: z.string().optional().openapi({ description: 'The first field at fault, e.g. `product.price`.' }),
    reason: z.string().openapi({ example: 'product.price: expected a number, got "1,299.00"' }),
  })
  .strict()
  .openapi('CatalogChangeRejection');

const Accepted = {
  request_id: z.string(),
  accepted: z.number().int().openapi({ description: 'Lines applied (or published).' }),
  accepted_ids: z.array(z.string()).openapi({ description: 'The products those lines touch, once each.' }),
  rejected: z.array(ChangeRejectionSchema),
  took_ms: z.number(),
};

const AppliedSchema = z
  .object({
    ...Accepted,
    mode: z.literal('applied'),
    generation: z.string().nullable().openapi({ description: 'The index generation now served.' }),
    indexed: z.number().int(),
    unchanged: z.number().int(),
    deleted: z.number().int(),
    embedded: z.number().int().openapi({ description: 'Products re-embedded (a text field changed).' }),
    phases_ms: z
      .object({
        lock: z.number(),
        read: z.number(),
        embed: z.number(),
        write: z.number(),
        commit: z.number(),
        serve: z.number(),
      })
      .strict()
      .optional()
      .openapi({
        description:
          'Where the time went, ms: taking the writer lock, reading the served index (the products updates ' +
          'merge into, the hashes the diff compares), embedding (none for a price or stock change), writing ' +
          'the stores, committing the new generation, and the service switching to it.',
      }),
  })
  .strict()
  .openapi('CatalogChangesApplied');

const PublishedSchema = z
  .object({ ...Accepted, mode: z.literal('published'), topic: z.string() })
  .strict()
  .openapi('CatalogChangesPublished');

const NoValidChangesSchema = ErrorSchema.extend({ accepted: z.literal(0), rejected: z.array(ChangeRejectionSchema) })
  .strict()
  .openapi('NoValidChanges', { description: 'Every line of the batch was rejected (code no_valid_changes).' });

/** One line of a change file; the handler validates each line itself (see indexer/changes.ts). */
const CatalogChangeSchema = z.object({
  op: z.enum(['upsert', 'update', 'delete']),
  product: z
    .looseObject({ id: z.union([z.string(), z.number()]) })
    .describe('upsert: a whole product (as a catalog row); update: the id and the fields to replace; delete: the id.'),
});
const changeLine = { $ref: '#/components/schemas/CatalogChange' };

const postChanges = createRoute({
  method: 'post',
  path: '/changes',
  tags: ['admin'],
  security: adminSecurity,
  summary: 'Apply catalog changes (upsert, partial update, delete)',
  description:
    `The lines of a change file, up to ${MAX_CHANGES_PER_BATCH.toLocaleString('en')} per call, as NDJSON ` +
    '(`application/x-ndjson`, one `{"op", "product"}` per line) or a JSON array of the same objects. Each line ' +
    'is validated on its own and answered by its position. Embedded, the valid lines are applied through the ' +
    'indexer into a new index generation (under its lock) that the service serves when this returns (200, ' +
    '`mode: applied`); with Kafka configured they are published on the catalog topic that `npm run index -- ' +
    '--follow` applies (202, `mode: published`). For one id the last line wins; an update of an unknown id ' +
    'is refused, never created.',
  request: {
    body: {
      required: true,
      content: {
        'application/x-ndjson': { schema: { type: 'string', description: 'One change object per line.' } },
        'application/json': {
          schema: {
            oneOf: [
              { type: 'array', items: changeLine, minItems: 1, maxItems: MAX_CHANGES_PER_BATCH },
              {
                type: 'object',
                required: ['changes'],
                properties: {
                  changes: { type: 'array', items: changeLine, minItems: 1, maxItems: MAX_CHANGES_PER_BATCH },
                },
              },
            ],
          },
        },
      },
    },
  },
  responses: {
    200: jsonResponse(AppliedSchema, 'Applied: the service answers from the new generation.'),
    202: jsonResponse(PublishedSchema, 'Published on the catalog topic; the indexer’s follower applies it.'),
    400: jsonResponse(
      z.union([ErrorSchema, NoValidChangesSchema]),
      'Not a batch (invalid_json, invalid_body), an empty one, or no valid line (no_valid_changes).',
    ),
    ...errorResponses([401, 403, 409, 413, 503], {
      403: 'admin_disabled: no SHELF_ADMIN_API_KEY is configured.',
      409: 'indexer_busy: another indexer run holds the index lock; nothing was applied, retry after it (Retry-After).',
      413: `batch_too_large: at most ${MAX_CHANGES_PER_BATCH} lines per call; payload_too_large: the body is over service.bodyLimits.catalog.`,
      503:
        'stream_unavailable: the catalog topic did not take the batch; index_unavailable: the embedder or the ' +
        'index failed while applying it. Nothing was published or applied; retry it.',
    }),
    415: jsonResponse(ErrorSchema, 'unsupported_media_type: send application/x-ndjson or application/json.'),
  },
});

/** A parsed line: its JSON (or the Error that it was not JSON) and its line in an NDJSON body. */
interface Line {
  raw: unknown;
  line?: number;
}

/** The batch in the body: NDJSON lines, a JSON array, or `{"changes": [...]}`. */
export async function readChangeLines(c: Context): Promise<Line[]> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const text = await c.req.text();
  if (NDJSON_TYPES.includes(type)) {
    const lines: Line[] = [];
    text.split('\n').forEach((t, i) => {
      const s = (i === 0 ? t.replace(/^\uFEFF/, '') : t).trim();
      if (s === '') return;
      try {
        lines.push({ raw: JSON.parse(s), line: i + 1 });
      } catch (err) {
        lines.push({ raw: new Error(`invalid JSON: ${(err as Error).message}`), line: i + 1 });
      }
    });
    return lines;
  }
  if (JSON_TYPE.test(type)) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(
        400,
        'invalid_json',
        'the request body is not valid JSON (send NDJSON as application/x-ndjson)',
      );
    }
    const list = Array.isArray(body)
      ? body
      : typeof body === 'object' && body !== null
        ? (body as { changes?: unknown }).changes
        : undefined;
    if (!Array.isArray(list))
      throw new ApiError(400, 'invalid_body', 'expected a JSON array of changes or {"changes": [...]}', 'changes');
    return list.map((raw) => ({ raw }));
  }
  throw new ApiError(
    415,
    'unsupported_media_type',
    `send the changes as application/x-ndjson (one change per line) or application/json (an array), not "${type || 'no content type'}"`,
  );
}

export interface CatalogApiDeps {
  changes: CatalogChangeSink;
  metrics: Metrics;
  /** `SHELF_ADMIN_API_KEY`; undefined disables the admin endpoints (403 admin_disabled). */
  adminKey?: string | undefined;
}

/** `/v1/admin/catalog`: live catalog changes. */
export function catalogAdminRoutes(deps: CatalogApiDeps) {
  const app = createApi();
  registerSchema(app, 'CatalogChange', CatalogChangeSchema);
  const lines = new client.Counter({
    name: 'shelf_catalog_changes_total',
    help: 'Catalog change lines received over HTTP, by outcome (applied, published, rejected)',
    labelNames: ['outcome'] as const,
    registers: [deps.metrics.registry],
  });
  const duration = new client.Histogram({
    name: 'shelf_catalog_changes_duration_seconds',
    help: 'Time to apply (or publish) one batch of catalog changes',
    labelNames: ['mode'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [deps.metrics.registry],
  });
  app.use('*', requireAdmin(deps.adminKey));

  app.openapi(postChanges, async (c) => {
    const t0 = performance.now();
    const batch = await readChangeLines(c);
    if (batch.length === 0) throw new ApiError(400, 'invalid_body', 'the batch is empty', 'changes');
    if (batch.length > MAX_CHANGES_PER_BATCH)
      throw new ApiError(
        413,
        'batch_too_large',
        `at most ${MAX_CHANGES_PER_BATCH} changes per call, got ${batch.length}`,
        'changes',
      );
    let result: ChangeBatchResult;
    try {
      result = await deps.changes.submit(batch.map((l) => l.raw));
    } catch (err) {
      if (err instanceof IndexBusyError) {
        c.header('Retry-After', '5');
        throw new ApiError(409, 'indexer_busy', `nothing was applied: ${err.message}; retry once it is done`);
      }
      if (deps.changes.mode === 'published') {
        console.error(
          `[${c.get('requestId')}] POST /v1/admin/catalog/changes: the catalog topic refused the batch:`,
          err,
        );
        throw new ApiError(
          503,
          'stream_unavailable',
          'the catalog topic is unavailable: nothing was published, retry the whole batch',
        );
      }
      console.error(`[${c.get('requestId')}] POST /v1/admin/catalog/changes: the index write failed:`, err);
      throw new ApiError(
        503,
        'index_unavailable',
        'the index could not take the batch (embedder or index store failed): nothing was applied, retry it',
      );
    }
    const rejected = result.rejected.map(({ index, ...r }) => {
      const line = batch[index]?.line;
      return { index, ...(line !== undefined && { line }), ...r };
    });
    lines.inc({ outcome: 'rejected' }, rejected.length);
    lines.inc({ outcome: result.mode }, result.accepted.length);
    duration.observe({ mode: result.mode }, (performance.now() - t0) / 1000);
    if (result.accepted.length === 0) {
      return c.json(
        {
          error: {
            code: 'no_valid_changes',
            message: `all ${rejected.length} changes were rejected`,
            field: 'changes',
          },
          accepted: 0 as const,
          rejected,
        },
        400,
      );
    }
    const common = {
      request_id: c.get('requestId'),
      accepted: result.accepted.length,
      accepted_ids: result.acceptedIds,
      rejected,
      took_ms: Math.round((performance.now() - t0) * 10) / 10,
    };
    if (result.mode === 'published')
      return c.json({ ...common, mode: 'published' as const, topic: result.topic! }, 202);
    const a = result.applied!;
    return c.json({ ...common, mode: 'applied' as const, ...a }, 200);
  });
  return app;
}
