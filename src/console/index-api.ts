import { createRoute, z } from '@hono/zod-openapi';
import type { RegistryStatus } from '../../core/model-registry.ts';
import { inspect, type StoreDrift } from '../../indexer/verify.ts';
import { readIndexRuns } from '../../indexer/run-log.ts';
import type { IndexBackend } from '../../retrieval/index/index-backend.ts';
import type { Searcher } from '../../retrieval/recall/searcher.ts';
import { requireAdmin } from '../api/coupons.ts';
import { createApi, jsonResponse } from '../api/openapi.ts';
import { consoleErrors, consoleRoute } from './admin-schemas.ts';

/**
 * The console's Catalog page: `GET /v1/admin/index` (the generation served, product and vector
 * counts, the indexer's last runs from `indexer/run-log.ts`) and `GET /v1/admin/index/drift` (the
 * check `npm run index -- --verify --check-only` makes: ids and content hashes of the vector
 * store(s) against the text store; read only, a repair stays the indexer's job).
 */

const IndexRunSchema = z
  .object({
    at: z.number(),
    kind: z.enum(['catalog', 'changes']),
    source: z.string(),
    generation: z.string().nullable(),
    indexed: z.number().int(),
    unchanged: z.number().int(),
    deleted: z.number().int(),
    skipped: z.number().int(),
    write_failures: z.number().int(),
    took_ms: z.number(),
  })
  .strict();

const ModelStatus = z
  .object({
    version: z.string().optional().openapi({ description: 'The version served by default (the followed folder).' }),
    reason: z.string().optional().openapi({ description: 'Why none is.' }),
    versions: z
      .array(z.string())
      .openapi({ description: 'Every version a request (an experiment arm) may name in `<kind>.model_version`.' }),
  })
  .strict()
  .nullable();

/** The ranker's and the sequence model's deployed versions (core/model-registry.ts); null: not part of this service. */
export interface DeployedModelsStatus {
  ranking: RegistryStatus | null;
  sequence: RegistryStatus | null;
}

const IndexStatus = z
  .object({
    backend: z.enum(['embedded', 'production']),
    generation: z.string().nullable(),
    embedder: z.string().nullable().openapi({ description: 'The text model the served vectors were made with.' }),
    products: z.number().int(),
    vectors: z.number().int().nullable(),
    images: z.number().int().nullable(),
    extra_models: z
      .array(z.object({ model: z.string(), vectors: z.number().int() }).strict())
      .openapi({ description: 'The extra text models (embedder.extra_models) and their vector counts.' }),
    runs: z.array(IndexRunSchema).openapi({ description: "This machine's indexer runs, newest first." }),
    models: z
      .object({ ranking: ModelStatus, sequence: ModelStatus })
      .strict()
      .openapi({ description: 'The deployed ranker and sequence model versions an experiment arm may pick.' }),
  })
  .strict()
  .openapi('IndexStatus');

/** Ids are cut to this many per list: the counts say how many there are. */
const SHOWN_IDS = 20;

const DriftSchema = z
  .object({
    count: z.number().int(),
    missing: z.number().int(),
    extra: z.number().int(),
    mismatched: z.number().int(),
    examples: z.array(z.string()).openapi({ description: `Up to ${SHOWN_IDS} ids that drifted.` }),
  })
  .strict();

const DriftReportSchema = z
  .object({
    generation: z.string().nullable(),
    products: z.number().int(),
    vectors: DriftSchema,
    images: DriftSchema.nullable(),
    extra_models: z
      .array(DriftSchema.extend({ model: z.string() }))
      .openapi({ description: "Each extra text model's vector set against the text store." }),
    consistent: z.boolean(),
    took_ms: z.number(),
  })
  .strict()
  .openapi('DriftCheck');

const status = createRoute({
  ...consoleRoute,
  method: 'get',
  path: '/',
  summary: 'The served index: generation, counts, last indexer runs (console)',
  responses: { 200: jsonResponse(IndexStatus, 'The index now.'), ...consoleErrors([]) },
});
const drift = createRoute({
  ...consoleRoute,
  method: 'get',
  path: '/drift',
  summary: 'Drift check: the vector store(s) against the text store, read only (console)',
  responses: { 200: jsonResponse(DriftReportSchema, 'What differs.'), ...consoleErrors([]) },
});

const summarise = (d: StoreDrift) => ({
  count: d.count,
  missing: d.missing.length,
  extra: d.extra.length,
  mismatched: d.mismatched.length,
  examples: [...d.missing, ...d.extra, ...d.mismatched].slice(0, SHOWN_IDS),
});

export function indexRoutes(deps: {
  searcher: Searcher;
  backend: IndexBackend;
  dataDir: string | undefined;
  adminKey: string | undefined;
  models: () => DeployedModelsStatus;
}) {
  const app = createApi();
  app.use('*', requireAdmin(deps.adminKey));
  app.openapi(status, async (c) => {
    const counts = await deps.searcher.withSnapshot(async (snap) => ({
      generation: snap?.generation ?? null,
      embedder: snap?.embedderId ?? null,
      products: snap ? await snap.text.count() : 0,
      vectors: snap?.vectors ? await snap.vectors.count() : null,
      images: snap?.images ? await snap.images.count() : null,
      extra_models: await Promise.all(
        [...(snap?.extraVectors ?? [])].map(async ([model, v]) => ({ model, vectors: await v.count() })),
      ),
    }));
    return c.json(
      {
        backend: deps.backend.kind,
        ...counts,
        runs: deps.dataDir === undefined ? [] : readIndexRuns(deps.dataDir, 10),
        models: deps.models(),
      },
      200,
    );
  });
  app.openapi(drift, async (c) => {
    const t0 = performance.now();
    const report = await inspect(deps.backend);
    return c.json(
      {
        generation: report.generation ?? null,
        products: report.text.count,
        vectors: summarise(report.vectors),
        images: report.images ? summarise(report.images) : null,
        extra_models: Object.entries(report.extra ?? {}).map(([model, d]) => ({ model, ...summarise(d) })),
        consistent: report.consistent,
        took_ms: Math.round(performance.now() - t0),
      },
      200,
    );
  });
  return app;
}
