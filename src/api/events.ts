import { createRoute, z } from '@hono/zod-openapi';
import type { EventLog } from '../../behavior/event-log.ts';
import { BehaviorEventSchema, validateEvents, type EventTimeLimits } from '../../behavior/event.ts';
import { unavailableIn } from '../../core/dependency-guard.ts';
import type { Metrics } from '../../core/metrics.ts';
import { ApiError, readJson } from './errors.ts';
import { MONEY_EVENTS, type Shopper, type ShopperAccess } from './shopper-access.ts';
import type { Context } from 'hono';
import { createApi, ErrorSchema, errorResponses, jsonResponse, registerSchema } from './openapi.ts';

export const MAX_EVENTS_PER_BATCH = 1000;

const RejectionSchema = z
  .object({
    index: z.number().int().openapi({ description: "The event's position in the batch." }),
    event_id: z.string().optional(),
    code: z.string().openapi({
      description:
        'invalid_event (field `ts` when the time is too far ahead of the server clock or too early), unknown_field, ' +
        "token_mismatch (the event's user_id or session_id is not the shopper token's) or server_key_required " +
        '(purchase, coupon_redeem and coupon_claim events need the server key once shopper tokens or a server key are configured).',
    }),
    field: z.string().optional(),
    reason: z.string(),
  })
  .strict()
  .openapi('EventRejection');

const AcceptedSchema = z
  .object({
    request_id: z.string(),
    accepted: z.number().int(),
    accepted_ids: z.array(z.string()),
    rejected: z.array(RejectionSchema),
  })
  .strict()
  .openapi('EventsAccepted');

const NoValidEventsSchema = ErrorSchema.extend({
  accepted: z.literal(0),
  rejected: z.array(RejectionSchema),
})
  .strict()
  .openapi('NoValidEvents', { description: 'Every event of the batch was rejected (code no_valid_events).' });

const eventRef = { $ref: '#/components/schemas/BehaviorEvent' };

const postEvents = createRoute({
  method: 'post',
  path: '/',
  tags: ['events'],
  summary: 'Record behaviour events',
  description:
    'Each event is validated on its own: the valid ones are appended to the behaviour stream and the call ' +
    'returns once they are durable; the rejected ones are listed with their index and reason. Event ids ' +
    'make a retried batch safe.',
  request: {
    // Validated here, event by event (one bad event never costs the rest of its batch): documented, not
    // handed to the library's validator.
    body: {
      required: true,
      content: {
        'application/json': {
          schema: {
            oneOf: [
              {
                type: 'object',
                properties: { events: { type: 'array', items: eventRef, minItems: 1, maxItems: MAX_EVENTS_PER_BATCH } },
                required: ['events'],
              },
              { type: 'array', items: eventRef, minItems: 1, maxItems: MAX_EVENTS_PER_BATCH },
            ],
          },
        },
      },
    },
  },
  responses: {
    200: jsonResponse(AcceptedSchema, 'The valid events are durable on the stream.'),
    400: jsonResponse(z.union([ErrorSchema, NoValidEventsSchema]), 'Not a batch, an empty one, or no valid event.'),
    ...errorResponses([401, 413, 503], {
      401: 'shopper_token_required, invalid_token, token_expired: the shopper token is missing, forged or expired; invalid_server_key.',
      413: `batch_too_large: at most ${MAX_EVENTS_PER_BATCH} events per batch; payload_too_large: the body is over the limit.`,
      503: 'stream_unavailable: nothing was acknowledged; retry the whole batch.',
    }),
  },
});

/**
 * `POST /v1/events`: each event is validated on its own; the valid ones are appended to the
 * behaviour stream and the call returns only once they are durable. Event ids make a retried
 * batch safe: the consumer applies each id once.
 */
export function eventRoutes(deps: {
  log: EventLog;
  metrics: Metrics;
  /** How far from the server clock an event's `ts` may be (behavior/config.ts). */
  time: EventTimeLimits;
  /** The server clock (default Date.now). */
  now?: () => number;
  /** Shopper tokens and the server key (src/api/shopper-access.ts). */
  access: ShopperAccess;
}) {
  const app = createApi();
  registerSchema(app, 'BehaviorEvent', BehaviorEventSchema);

  /**
   * Who the batch may record events for: anyone with the server key; with shopper tokens, the
   * token's shopper only (an event without ids is the token's); otherwise whoever it names.
   */
  const authorise = async (c: Context) => {
    const { access } = deps;
    const server = access.isServer(c);
    let token: Shopper | undefined;
    if (!server && access.tokensRequired) {
      token = await access.token(c);
      if (!token)
        throw access.reject(
          401,
          'shopper_token_required',
          'events need a shopper token (X-Shopper-Token) or the server key',
        );
      await access.shopper(c, token, { required: true });
    }
    const moneyOk = server || !access.serverKeyRequired;
    return { token, moneyOk };
  };

  /** The batch (a parsed JSON body) → the 200 body, or the 400 that lists every rejection. */
  const run = async (raw: unknown, requestId: string, who: Awaited<ReturnType<typeof authorise>>) => {
    const list = Array.isArray(raw)
      ? raw
      : typeof raw === 'object' && raw !== null
        ? (raw as { events?: unknown }).events
        : undefined;
    if (!Array.isArray(list))
      throw new ApiError(400, 'invalid_body', 'expected {"events": [...]} or a JSON array of events', 'events');
    if (list.length === 0) throw new ApiError(400, 'invalid_body', 'the batch is empty', 'events');
    if (list.length > MAX_EVENTS_PER_BATCH) {
      throw new ApiError(
        413,
        'batch_too_large',
        `at most ${MAX_EVENTS_PER_BATCH} events per batch, got ${list.length}`,
        'events',
      );
    }
    const { token, moneyOk } = who;
    // An event that names no shopper is the token's.
    const events = token
      ? list.map((e) =>
          typeof e === 'object' && e !== null && !Array.isArray(e) && !('user_id' in e) && !('session_id' in e)
            ? {
                ...e,
                ...(token.user_id !== undefined && { user_id: token.user_id }),
                ...(token.session_id !== undefined && { session_id: token.session_id }),
              }
            : e,
        )
      : list;
    const { accepted, rejected } = validateEvents(events, { now: (deps.now ?? Date.now)(), limits: deps.time }, (e) => {
      if (!moneyOk && MONEY_EVENTS.has(e.type)) {
        deps.metrics.authRejected.inc({ code: 'server_key_required' });
        return {
          code: 'server_key_required',
          field: 'type',
          reason: `${e.type} events are recorded by the shop's back end, with the server key`,
        };
      }
      if (token) {
        for (const k of ['user_id', 'session_id'] as const)
          if (e[k] !== undefined && e[k] !== token[k]) {
            deps.metrics.authRejected.inc({ code: 'token_mismatch' });
            return { code: 'token_mismatch', field: k, reason: `${k} is not the shopper token's` };
          }
      }
      return undefined;
    });
    if (rejected.length > 0) deps.metrics.eventsRejected.inc(rejected.length);
    if (accepted.length === 0) {
      return {
        status: 400 as const,
        body: {
          error: { code: 'no_valid_events', message: `all ${rejected.length} events were rejected`, field: 'events' },
          accepted: 0 as const,
          rejected,
        },
      };
    }
    try {
      await deps.log.append(accepted);
    } catch (err) {
      // Nothing was acknowledged, so the client must retry the whole batch (ids keep it safe). The
      // back end's error (hosts, paths, broker state) is for the log, not the client.
      console.error(`[${requestId}] POST /v1/events: the behaviour stream did not accept the batch:`, err);
      deps.metrics.streamAppendErrors.inc({ endpoint: 'events' });
      throw new ApiError(
        503,
        'stream_unavailable',
        'the behaviour stream is unavailable: nothing was accepted, retry the whole batch',
        undefined,
        { 'Retry-After': String(unavailableIn(err)?.retryAfterSeconds ?? 1) },
      );
    }
    for (const e of accepted) deps.metrics.eventsAccepted.inc({ type: e.type });
    return {
      status: 200 as const,
      body: {
        request_id: requestId,
        accepted: accepted.length,
        accepted_ids: accepted.map((e) => e.event_id),
        rejected,
      },
    };
  };

  app.openapi(postEvents, async (c) => {
    const who = await authorise(c);
    const r = await run(await readJson(c.req), c.get('requestId'), who);
    return r.status === 200 ? c.json(r.body, 200) : c.json(r.body, 400);
  });
  return app;
}
