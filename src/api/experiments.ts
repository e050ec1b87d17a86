import { createRoute, z } from '@hono/zod-openapi';
import {
  EXPERIMENT_STATUSES,
  EXPERIMENT_SURFACES,
  ExperimentSchema,
  liveState,
  overlap,
  type Experiment,
} from '../../pipeline/experiments/experiment.ts';
import type { Experiments } from '../experiments/experiments.ts';
import { SettingsOverrideError } from '../settings/overrides.ts';
import type { Settings } from '../settings/schema.ts';
import { requireAdmin } from './coupons.ts';
import { ApiError, fromZod, readJson } from './errors.ts';
import {
  adminSecurity,
  createApi,
  errorResponses,
  jsonObjectBody,
  jsonResponse,
  registerSchema,
  type ErrorStatus,
} from './openapi.ts';

export interface ExperimentApiDeps {
  experiments: Experiments;
  /** The service's settings: arm overrides are validated against them. */
  settings: Settings;
  /** The admin key (`coupons.admin_api_key`); undefined: 403 admin_disabled. */
  adminKey?: string | undefined;
}

const LiveSchema = z
  .object({
    state: z.enum(['draft', 'scheduled', 'running', 'ended', 'stopped']),
    /** Traffic is being split right now. */
    serving: z.boolean(),
  })
  .strict();

export const ExperimentOutSchema = z
  .object({
    id: z.string(),
    description: z.string().optional(),
    surface: z.enum(EXPERIMENT_SURFACES),
    status: z.enum(EXPERIMENT_STATUSES),
    arms: z.array(
      z
        .object({
          name: z.string(),
          weight: z.number(),
          overrides: z.record(z.string(), z.unknown()),
        })
        .strict(),
    ),
    start: z.number().int().optional().openapi({ description: 'Epoch milliseconds.' }),
    end: z.number().int().optional().openapi({ description: 'Epoch milliseconds.' }),
    created_at: z.number().int(),
    stopped_at: z.number().int().optional(),
    live: LiveSchema,
  })
  .strict()
  .openapi('Experiment');

const One = z.object({ experiment: ExperimentOutSchema }).strict();
const IdParam = z.object({ id: z.string().openapi({ description: 'The experiment id.' }) });
const admin = <S extends ErrorStatus>(statuses: readonly S[]) =>
  errorResponses([401, 403, ...statuses], {
    403: 'admin_disabled: no admin key (coupons.admin_api_key) is configured.',
    404: 'experiment_not_found.',
    409: 'experiment_exists, or surface_busy: another experiment is running on the surface.',
    400: 'Invalid definition; an invalid override names the setting path in `field`.',
  });
const adminRoute = { tags: ['admin'], security: adminSecurity };

const createExperiment = createRoute({
  ...adminRoute,
  method: 'post',
  path: '/',
  summary: 'Create an experiment',
  description:
    'Arms split the surface\'s traffic by weight, by a stable hash of (experiment, shopper); each arm\'s `overrides` maps request-scoped setting paths (e.g. `"retrieval.weights.vector"`, `"diversity.search.lambda"`, `"ranking.mode"`, `"ranking.model_version"`, `"sequence.model_version"`: a model version must be deployed) to values. An arm without overrides serves the defaults. `status: "running"` starts it at once (or at `start`).',
  middleware: [jsonObjectBody] as const,
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ExperimentDefinition' } } },
    },
  },
  responses: { 201: jsonResponse(One, 'Created.'), ...admin([400, 409, 413]) },
});
const listExperiments = createRoute({
  ...adminRoute,
  method: 'get',
  path: '/',
  summary: 'Every experiment, with its live status',
  responses: {
    200: jsonResponse(z.object({ experiments: z.array(ExperimentOutSchema) }).strict(), 'By id.'),
    ...admin([]),
  },
});
const getExperiment = createRoute({
  ...adminRoute,
  method: 'get',
  path: '/{id}',
  summary: 'One experiment',
  request: { params: IdParam },
  responses: { 200: jsonResponse(One, 'The experiment.'), ...admin([404]) },
});
const startExperiment = createRoute({
  ...adminRoute,
  method: 'post',
  path: '/{id}/start',
  summary: 'Start a draft experiment',
  request: { params: IdParam },
  responses: { 200: jsonResponse(One, 'Running (serving from its `start`).'), ...admin([404, 409]) },
});
const stopExperiment = createRoute({
  ...adminRoute,
  method: 'post',
  path: '/{id}/stop',
  summary: 'Stop an experiment: its traffic returns to the defaults at once',
  request: { params: IdParam },
  responses: { 200: jsonResponse(One, 'Stopped (stopping twice is a no-op).'), ...admin([404]) },
});

/** `/v1/admin/experiments`: create, list, start, stop. Definitions live in the shared store. */
export function experimentAdminRoutes(deps: ExperimentApiDeps) {
  const { experiments } = deps;
  const store = experiments.store;
  const app = createApi();
  registerSchema(app, 'ExperimentDefinition', ExperimentSchema);
  app.use('*', requireAdmin(deps.adminKey));

  const out = (e: Experiment) => {
    const state = liveState(e, experiments.now());
    return { ...e, live: { state, serving: state === 'running' } };
  };
  const one = async (id: string) => {
    const e = await store.get(id);
    if (!e) throw new ApiError(404, 'experiment_not_found', `no experiment "${id}"`, 'id');
    return e;
  };
  /** One running experiment per surface: two would each claim the same requests. */
  const refuseOverlap = async (e: Experiment) => {
    const now = experiments.now();
    const busy = (await store.list()).find(
      (o) => o.id !== e.id && overlap(o, e) && o.status === 'running' && liveState(o, now) !== 'ended',
    );
    if (busy)
      throw new ApiError(
        409,
        'surface_busy',
        `experiment "${busy.id}" is running on ${busy.surface === 'all' ? 'every surface' : busy.surface}; stop it first`,
        'surface',
      );
  };

  app.openapi(createExperiment, async (c) => {
    const parsed = ExperimentSchema.safeParse(await readJson(c.req));
    if (!parsed.success) throw fromZod(parsed.error);
    const def = parsed.data;
    def.arms.forEach((arm, i) => {
      try {
        experiments.validateArm(arm.overrides);
      } catch (err) {
        if (!(err instanceof SettingsOverrideError)) throw err;
        throw new ApiError(400, 'invalid_override', `arms[${i}] (${arm.name}): ${err.message}`, err.path);
      }
    });
    const e: Experiment = { ...def, created_at: experiments.now() };
    if (e.status === 'stopped') e.stopped_at = e.created_at;
    if (e.status === 'running') await refuseOverlap(e);
    if ((await store.create(e)) === 'exists')
      throw new ApiError(409, 'experiment_exists', `experiment "${e.id}" already exists`, 'id');
    experiments.invalidate();
    return c.json({ experiment: out(e) }, 201);
  });

  app.openapi(listExperiments, async (c) => c.json({ experiments: (await store.list()).map(out) }, 200));

  app.openapi(getExperiment, async (c) => c.json({ experiment: out(await one(c.req.valid('param').id)) }, 200));

  app.openapi(startExperiment, async (c) => {
    const e = await one(c.req.valid('param').id);
    if (e.status === 'stopped')
      throw new ApiError(409, 'experiment_stopped', `experiment "${e.id}" was stopped; create a new one`, 'id');
    if (e.status === 'running') return c.json({ experiment: out(e) }, 200);
    await refuseOverlap(e);
    const started = (await store.setStatus(e.id, 'running', experiments.now()))!;
    experiments.invalidate();
    return c.json({ experiment: out(started) }, 200);
  });

  app.openapi(stopExperiment, async (c) => {
    const e = await one(c.req.valid('param').id);
    const stopped = e.status === 'stopped' ? e : (await store.setStatus(e.id, 'stopped', experiments.now()))!;
    experiments.invalidate();
    return c.json({ experiment: out(stopped) }, 200);
  });
  return app;
}
