import { Hono } from 'hono';
import type { EventLog } from '../../behavior/event-log.ts';
import { validateEvents } from '../../behavior/event.ts';
import type { Metrics } from '../../core/metrics.ts';
import { ApiError, readJson } from './errors.ts';

export const MAX_EVENTS_PER_BATCH = 1000;

/**
 * `POST /v1/events`: each event is validated on its own; the valid ones are appended to the
 * behaviour stream and the call returns only once they are durable. Event ids make a retried
 * batch safe: the consumer applies each id once.
 */
export function eventRoutes(deps: { log: EventLog; metrics: Metrics }) {
  const app = new Hono();
  app.post('/', async (c) => {
    const raw = await readJson(c.req);
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
    const { accepted, rejected } = validateEvents(list);
    if (rejected.length > 0) deps.metrics.eventsRejected.inc(rejected.length);
    if (accepted.length === 0) {
      return c.json(
        {
          error: { code: 'no_valid_events', message: `all ${rejected.length} events were rejected`, field: 'events' },
          accepted: 0,
          rejected,
        },
        400,
      );
    }
    try {
      await deps.log.append(accepted);
    } catch (err) {
      // Nothing was acknowledged, so the client must retry the whole batch (ids keep it safe).
      throw new ApiError(
        503,
        'stream_unavailable',
        `the behaviour stream did not accept the events: ${(err as Error).message}`,
      );
    }
    for (const e of accepted) deps.metrics.eventsAccepted.inc({ type: e.type });
    return c.json({
      request_id: c.get('requestId'),
      accepted: accepted.length,
      accepted_ids: accepted.map((e) => e.event_id),
      rejected,
    });
  });
  return app;
}
