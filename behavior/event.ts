import { z } from 'zod';
import type { BehaviorConfig } from './config.ts';

/**
 * One shopper action, as accepted by `POST /v1/events` and carried on the behaviour stream.
 * The stream holds these as JSON, one per message; the consumer validates again on the way out
 * because a stream can be written by other producers too.
 */
export const EVENT_TYPES = [
  'impression',
  'view',
  'click',
  'add_to_cart',
  'purchase',
  'coupon_claim',
  'coupon_redeem',
  /** Links a pre-login session_id to a user_id: the session's history then counts for the user. */
  'identify',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Types that are about one product and make no sense without it. */
const NEEDS_PRODUCT = new Set<EventType>(['impression', 'view', 'click', 'add_to_cart', 'purchase']);
const NEEDS_COUPON = new Set<EventType>(['coupon_claim', 'coupon_redeem']);

const id = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

/** Timestamps: epoch milliseconds or an ISO-8601 string; stored as epoch ms. */
export const Timestamp = z.union([
  z.number().int().min(0).max(8.64e15),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

export const BehaviorEventSchema = z
  .object({
    event_id: id(128),
    type: z.enum(EVENT_TYPES),
    user_id: id(128).optional(),
    session_id: id(128).optional(),
    product_id: id(256).optional(),
    /** The search or feed response this event refers to (what was shown, where, and why). */
    request_id: id(128).optional(),
    /** 0-based slot on the page the product was shown in. */
    position: z.number().int().min(0).max(10_000).optional(),
    query: z.string().max(999).optional(),
    price: z.number().finite().nonnegative().optional(),
    coupon_id: id(128).optional(),
    /** Units bought, for purchases. */
    quantity: z.number().int().min(1).max(100_000).optional(),
    ts: Timestamp,
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.user_id === undefined && e.session_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['user_id'], message: 'one of user_id or session_id is required' });
    }
    if (e.type === 'identify' && (e.user_id === undefined || e.session_id === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [e.user_id === undefined ? 'user_id' : 'session_id'],
        message: 'identify needs both user_id and session_id',
      });
    }
    if (NEEDS_PRODUCT.has(e.type) && e.product_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['product_id'], message: `required for ${e.type} events` });
    }
    if (NEEDS_COUPON.has(e.type) && e.coupon_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['coupon_id'], message: `required for ${e.type} events` });
    }
  });

export type BehaviorEvent = z.output<typeof BehaviorEventSchema>;
export type BehaviorEventInput = z.input<typeof BehaviorEventSchema>;

export interface EventRejection {
  index: number;
  event_id?: string;
  code: string;
  field?: string;
  reason: string;
}

/** The bounds an event's time must be within, relative to the server clock (behavior/config.ts). */
export type EventTimeLimits = Pick<BehaviorConfig, 'max_future_skew_ms' | 'min_event_ts'>;

/** Why `ts` is out of bounds at `now`, or undefined when it is fine. */
export function eventTimeProblem(ts: number, now: number, limits: EventTimeLimits): string | undefined {
  if (ts > now + limits.max_future_skew_ms)
    return `ts: more than ${limits.max_future_skew_ms} ms ahead of the server clock (${new Date(now).toISOString()})`;
  if (ts < limits.min_event_ts) return `ts: before ${new Date(limits.min_event_ts).toISOString()}`;
  return undefined;
}

/**
 * Validates each event on its own, so one bad event never costs the rest of its batch. With
 * `time`, an event whose `ts` is out of its bounds at `time.now` is rejected too (field `ts`).
 */
export function validateEvents(
  raw: readonly unknown[],
  time?: { now: number; limits: EventTimeLimits },
  /** A further check of each valid event (who may record it): a refusal rejects it like a bad field. */
  check?: (e: BehaviorEvent) => Omit<EventRejection, 'index' | 'event_id'> | undefined,
): { accepted: BehaviorEvent[]; rejected: EventRejection[] } {
  const accepted: BehaviorEvent[] = [];
  const rejected: EventRejection[] = [];
  raw.forEach((value, index) => {
    const parsed = BehaviorEventSchema.safeParse(value);
    const eventId =
      typeof value === 'object' && value !== null && typeof (value as { event_id?: unknown }).event_id === 'string'
        ? (value as { event_id: string }).event_id
        : undefined;
    if (parsed.success) {
      const problem = time && eventTimeProblem(parsed.data.ts, time.now, time.limits);
      const refused = problem === undefined ? check?.(parsed.data) : undefined;
      if (refused) rejected.push({ index, ...(eventId !== undefined && { event_id: eventId }), ...refused });
      else if (problem === undefined) accepted.push(parsed.data);
      else
        rejected.push({
          index,
          ...(eventId !== undefined && { event_id: eventId }),
          code: 'invalid_event',
          field: 'ts',
          reason: problem,
        });
      return;
    }
    const issue = parsed.error.issues[0]!;
    const field = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.map(String).join('.') || undefined;
    rejected.push({
      index,
      ...(eventId !== undefined && { event_id: eventId }),
      code: issue.code === 'unrecognized_keys' ? 'unknown_field' : 'invalid_event',
      ...(field !== undefined && { field }),
      reason:
        issue.code === 'unrecognized_keys'
          ? `unknown field "${field}"`
          : field
            ? `${field}: ${issue.message}`
            : issue.message,
    });
  });
  return { accepted, rejected };
}

/** The state key an event updates: the user when known, else the anonymous session. */
export function subjectOf(e: Pick<BehaviorEvent, 'user_id' | 'session_id'>): string {
  return e.user_id !== undefined ? `u:${e.user_id}` : `s:${e.session_id!}`;
}

/** Stream key: keeps one subject's events in one partition, so they are applied in order. */
export function partitionKey(e: Pick<BehaviorEvent, 'user_id' | 'session_id' | 'type'>): string {
  // identify moves a session's history to its user; keying it by session keeps it after the
  // session's own events.
  return e.type === 'identify' ? `s:${e.session_id!}` : subjectOf(e);
}
