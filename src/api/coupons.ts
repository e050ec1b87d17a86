import { createRoute, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler, Next } from 'hono';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { EventLog } from '../../behavior/event-log.ts';
import { subjectOf, type BehaviorEvent } from '../../behavior/event.ts';
import {
  COUPON_TYPES,
  CouponSchema,
  SEGMENTS,
  discountFor,
  isLive,
  segmentAllowed,
  shopperSegments,
  type Coupon,
} from '../../coupons/coupon.ts';
import type { ClaimResult, CouponLedger, CouponStatus, RedeemResult } from '../../coupons/ledger.ts';
import { offerable } from '../../coupons/attach.ts';
import { loadShopper, type StateStore } from '../../behavior/state-store.ts';
import type { Metrics } from '../../core/metrics.ts';
import { ApiError, fromZod, readJson, requireSubject } from './errors.ts';
import {
  adminSecurity,
  createApi,
  errorResponses,
  jsonBody,
  jsonObjectBody,
  jsonResponse,
  registerSchema,
  type ErrorStatus,
} from './openapi.ts';
import { queryParams } from './query-params.ts';

export interface CouponApiDeps {
  ledger: CouponLedger;
  metrics: Metrics;
  /** `SHELF_ADMIN_API_KEY`; undefined disables the admin endpoints (403 admin_disabled). */
  adminKey?: string | undefined;
  /** Purchases that make a shopper `vip` (coupons/coupon.ts DEFAULT_VIP_PURCHASES when unset). */
  vipPurchases?: number | undefined;
  now?: () => number;
}

/** The shopper endpoints also need the behaviour stream (claims and redemptions are events) and state (segments). */
export interface CouponShopperDeps extends CouponApiDeps {
  log: EventLog;
  state: StateStore;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * `Authorization: Bearer <SHELF_ADMIN_API_KEY>`. Both sides are hashed first so the comparison
 * is constant-time whatever the lengths.
 */
export function requireAdmin(adminKey: string | undefined) {
  const expected = adminKey === undefined ? undefined : sha256(adminKey);
  return async (c: Context, next: Next) => {
    if (!expected)
      throw new ApiError(403, 'admin_disabled', 'admin endpoints are disabled: set SHELF_ADMIN_API_KEY to enable them');
    const m = /^Bearer\s+(.+)$/i.exec(c.req.header('Authorization') ?? '');
    if (!m || !timingSafeEqual(sha256(m[1]!.trim()), expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="shelf-admin"');
      throw new ApiError(
        401,
        'unauthorized',
        'a valid "Authorization: Bearer <SHELF_ADMIN_API_KEY>" header is required',
      );
    }
    await next();
  };
}

const withStatus = (coupon: Coupon, status: CouponStatus | undefined) => ({ ...coupon, status: status ?? null });

const money = z.number();
/** A coupon definition as the API returns it (timestamps in epoch ms, defaults filled in). */
const CouponFields = {
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  type: z.enum(COUPON_TYPES),
  value: money,
  min_spend: money.optional(),
  max_discount: money.optional(),
  eligibility: z
    .object({ categories: z.array(z.string()), brands: z.array(z.string()), segments: z.array(z.enum(SEGMENTS)) })
    .strict(),
  valid_from: z.number().int().openapi({ description: 'Epoch milliseconds.' }),
  valid_until: z.number().int().openapi({ description: 'Epoch milliseconds.' }),
  stock: z.number().int(),
  per_user_limit: z.number().int(),
  budget: money.optional(),
  currency: z.string().optional(),
  active: z.boolean(),
};
const CouponStatusSchema = z
  .object({
    stock_left: z.number().int(),
    claimed: z.number().int(),
    redeemed: z.number().int(),
    spent: z.number(),
    budget_left: z.number().nullable(),
  })
  .strict()
  .openapi('CouponStatus');
const AdminCouponSchema = z
  .object({ ...CouponFields, status: CouponStatusSchema.nullable() })
  .strict()
  .openapi('AdminCoupon', { description: 'A coupon definition with its ledger status (null: unknown to the ledger).' });
const OneCoupon = z.object({ coupon: AdminCouponSchema }).strict();

const IdParam = z.object({ id: z.string().openapi({ description: 'The coupon id.' }) });
const admin = <S extends ErrorStatus>(statuses: readonly S[]) =>
  errorResponses([401, 403, ...statuses], {
    403: 'admin_disabled: no SHELF_ADMIN_API_KEY is configured.',
    404: 'coupon_not_found.',
  });
const adminRoute = { tags: ['admin'], security: adminSecurity };

const putCoupon = createRoute({
  ...adminRoute,
  method: 'put',
  path: '/{id}',
  summary: 'Create or replace a coupon',
  request: {
    params: IdParam,
    // Validated here, with the id from the URL: documented, not handed to the library's validator.
    body: {
      required: true,
      description: 'The definition; `id` may be left out, and must match the URL when given.',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/CouponDefinition' } } },
    },
  },
  responses: {
    200: jsonResponse(z.object({ result: z.literal('updated'), coupon: AdminCouponSchema }).strict(), 'Replaced.'),
    201: jsonResponse(z.object({ result: z.literal('created'), coupon: AdminCouponSchema }).strict(), 'Created.'),
    ...admin([400, 413]),
  },
});
const listCoupons = createRoute({
  ...adminRoute,
  method: 'get',
  path: '/',
  summary: 'List every coupon',
  responses: {
    200: jsonResponse(z.object({ coupons: z.array(AdminCouponSchema) }).strict(), 'Every coupon definition.'),
    ...admin([]),
  },
});
const getCoupon = createRoute({
  ...adminRoute,
  method: 'get',
  path: '/{id}',
  summary: 'Read a coupon',
  request: { params: IdParam },
  responses: { 200: jsonResponse(OneCoupon, 'The coupon.'), ...admin([404]) },
});
const deleteCoupon = createRoute({
  ...adminRoute,
  method: 'delete',
  path: '/{id}',
  summary: 'Deactivate a coupon',
  description: 'Claims and redemptions already made stay; no new ones are accepted.',
  request: { params: IdParam },
  responses: { 200: jsonResponse(OneCoupon, 'The deactivated coupon.'), ...admin([404]) },
});

/** `/v1/admin/coupons`: the catalog of coupon definitions. */
export function couponAdminRoutes(deps: CouponApiDeps) {
  const app = createApi();
  const { ledger } = deps;
  registerSchema(app, 'CouponDefinition', CouponSchema);
  app.use('*', requireAdmin(deps.adminKey));

  const define = async (id: string, raw: unknown) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new ApiError(400, 'invalid_body', 'the coupon definition must be a JSON object');
    const body = raw as Record<string, unknown>;
    if (body.id !== undefined && body.id !== id)
      throw new ApiError(400, 'invalid_parameter', `id: "${String(body.id)}" does not match the URL's "${id}"`, 'id');
    const parsed = CouponSchema.safeParse({ ...body, id });
    if (!parsed.success) throw fromZod(parsed.error);
    const result = await ledger.define(parsed.data);
    const status = (await ledger.status([id])).get(id);
    return { result, coupon: withStatus(parsed.data, status) };
  };
  const one = async (id: string) => {
    const coupon = await ledger.get(id);
    if (!coupon) throw notFound(id);
    return { coupon: withStatus(coupon, (await ledger.status([id])).get(id)) };
  };

  app.openapi(putCoupon, async (c) => {
    const r = await define(c.req.valid('param').id, await readJson(c.req));
    return r.result === 'created' ? c.json({ ...r, result: r.result }, 201) : c.json({ ...r, result: r.result }, 200);
  });

  app.openapi(listCoupons, async (c) => {
    const coupons = await ledger.list();
    const status = await ledger.status(coupons.map((x) => x.id));
    return c.json({ coupons: coupons.map((x) => withStatus(x, status.get(x.id))) }, 200);
  });

  app.openapi(getCoupon, async (c) => c.json(await one(c.req.valid('param').id), 200));

  app.openapi(deleteCoupon, async (c) => {
    const id = c.req.valid('param').id;
    if (!(await ledger.deactivate(id))) throw notFound(id);
    return c.json(await one(id), 200);
  });
  return app;
}

const notFound = (id: string) => new ApiError(404, 'coupon_not_found', `no coupon "${id}"`);

const idString = z.string().trim().min(1, 'must not be empty').max(128);
const ShopperSchema = z
  .object({ user_id: idString.optional(), session_id: idString.optional() })
  .strict()
  .openapi('Shopper', { description: 'One of user_id or session_id is required.' });
const RedeemSchema = ShopperSchema.extend({
  order_amount: z.number().finite().positive().max(1e12),
  order_id: idString,
})
  .strict()
  .openapi('Redemption', { description: 'One of user_id or session_id is required.' });
const shopperQuery = queryParams(ShopperSchema);

/** Route middleware: the header is checked before the body, as it always was. */
const requireIdempotencyKey: MiddlewareHandler = async (c, next) => {
  idempotencyKey(c);
  await next();
};
const idempotencyHeader = {
  name: 'Idempotency-Key',
  in: 'header' as const,
  required: true,
  description: 'Any unique string per attempted claim or redemption, reused on retries (at most 256 characters).',
  schema: { type: 'string' as const, maxLength: 256 },
};

const shopperErrors = <S extends ErrorStatus>(statuses: readonly S[]) =>
  errorResponses([400, 404, 413, 503, ...statuses], {
    400: 'Invalid request (missing_subject, missing_idempotency_key, invalid_parameter, …).',
    413: 'payload_too_large: the body is over the limit.',
    403: 'not_eligible: the coupon is for another shopper segment.',
    404: 'coupon_not_found.',
    409: 'The ledger refused: out_of_stock, limit_reached, budget_exhausted, not_active, idempotency_conflict, not_claimed, min_spend_not_met.',
    503: 'stream_unavailable: recorded, but the event did not reach the behaviour stream; retry with the same Idempotency-Key.',
  });

const OpenCouponSchema = z
  .object({ ...CouponFields, stock_left: z.number().int(), claimed: z.number().int() })
  .strict()
  .openapi('OpenCoupon', { description: 'A coupon the shopper can claim now, with what is left and what they hold.' });

const listOpen = createRoute({
  method: 'get',
  path: '/',
  tags: ['coupons'],
  summary: 'Coupons the shopper can claim',
  request: { query: shopperQuery.schema },
  responses: {
    200: jsonResponse(z.object({ subject: z.string(), coupons: z.array(OpenCouponSchema) }).strict(), 'Claimable now.'),
    ...errorResponses([400]),
  },
});
const claimRoute = createRoute({
  method: 'post',
  path: '/{id}/claim',
  tags: ['coupons'],
  summary: 'Claim a coupon',
  description: 'Idempotent per Idempotency-Key: a retry answers the same claim, with `Idempotent-Replayed: true`.',
  middleware: [requireIdempotencyKey, jsonObjectBody] as const,
  parameters: [idempotencyHeader],
  request: { params: IdParam, body: jsonBody(ShopperSchema) },
  responses: {
    200: jsonResponse(
      z
        .object({
          coupon_id: z.string(),
          subject: z.string(),
          claim_id: z.string(),
          claimed_at: z.number().int(),
          stock_left: z.number().int(),
        })
        .strict()
        .openapi('Claim'),
      'Claimed (or the replay of an earlier claim with the same key).',
    ),
    ...shopperErrors([403, 409]),
  },
});
const redeemRoute = createRoute({
  method: 'post',
  path: '/{id}/redeem',
  tags: ['coupons'],
  summary: 'Redeem a claimed coupon at checkout',
  description: 'Idempotent per Idempotency-Key: a retry answers the same redemption, with `Idempotent-Replayed: true`.',
  middleware: [requireIdempotencyKey, jsonObjectBody] as const,
  parameters: [idempotencyHeader],
  request: { params: IdParam, body: jsonBody(RedeemSchema) },
  responses: {
    200: jsonResponse(
      z
        .object({
          coupon_id: z.string(),
          subject: z.string(),
          order_id: z.string(),
          redemption_id: z.string(),
          discount: z.number(),
          budget_left: z.number().nullable(),
        })
        .strict()
        .openapi('RedemptionResult'),
      'Redeemed (or the replay of an earlier redemption with the same key).',
    ),
    ...shopperErrors([409]),
  },
});

function idempotencyKey(c: Context): string {
  const key = c.req.header('Idempotency-Key')?.trim();
  if (!key)
    throw new ApiError(
      400,
      'missing_idempotency_key',
      'an Idempotency-Key header is required (any unique string per attempted claim, reused on retries)',
      'Idempotency-Key',
    );
  if (key.length > 256)
    throw new ApiError(400, 'invalid_parameter', 'Idempotency-Key: must be at most 256 characters', 'Idempotency-Key');
  return key;
}

/**
 * Deterministic event id: a retried claim or redemption (same coupon, same key) appends the
 * same event, which the consumer applies once.
 */
export function couponEventId(kind: 'claim' | 'redeem', couponId: string, key: string): string {
  return `coupon-${kind}-${createHash('sha256').update(`${couponId}\n${key}`).digest('hex').slice(0, 40)}`;
}

/** How each ledger refusal answers over HTTP. */
const REFUSALS: Record<
  Exclude<ClaimResult['status'] | RedeemResult['status'], 'claimed' | 'duplicate' | 'redeemed'>,
  [409 | 404, string]
> = {
  out_of_stock: [409, 'the coupon has no stock left'],
  limit_reached: [409, 'this shopper has claimed the coupon as many times as it allows'],
  budget_exhausted: [409, "the coupon's budget is spent"],
  not_active: [409, 'the coupon is deactivated, not yet valid, or expired'],
  idempotency_conflict: [409, 'this Idempotency-Key was already used for this coupon by another shopper'],
  not_claimed: [409, 'this shopper holds no unredeemed claim of the coupon'],
  not_found: [404, 'no such coupon'],
};

function refusal(status: keyof typeof REFUSALS, couponId: string): ApiError {
  const [http, message] = REFUSALS[status];
  return status === 'not_found' ? notFound(couponId) : new ApiError(http, status, message);
}

/** `/v1/coupons`: what shoppers can claim, claiming, and redeeming at checkout. */
export function couponRoutes(deps: CouponShopperDeps) {
  const app = createApi();
  const { ledger, log, state, metrics } = deps;
  const now = deps.now ?? Date.now;

  /** The subject a claim counts against (a linked session's user), and the shopper's segments. */
  const shopper = async (b: { user_id?: string | undefined; session_id?: string | undefined }) => {
    const { user, subject } = await loadShopper(state, subjectOf(b));
    return {
      subject,
      segments: shopperSegments(user, deps.vipPurchases !== undefined ? { vip_purchases: deps.vipPurchases } : {}),
    };
  };
  /** The coupon, or a 404 counted under the endpoint's outcome metric. */
  const requireCoupon = async (id: string, outcomes: { inc(labels: { outcome: string }): void }) => {
    const coupon = await ledger.get(id);
    if (coupon) return coupon;
    outcomes.inc({ outcome: 'not_found' });
    throw notFound(id);
  };
  const who = (b: { user_id?: string | undefined; session_id?: string | undefined }) =>
    b.user_id !== undefined ? { user_id: b.user_id } : { session_id: b.session_id! };

  /**
   * The ledger is the record of truth; the event feeds behaviour state. When the append fails
   * after the ledger accepted, the client gets 503 and its retry with the same key takes the
   * duplicate path, which appends the same event id again: the consumer applies it once.
   */
  const appendEvent = async (e: BehaviorEvent) => {
    try {
      await log.append([e]);
      metrics.eventsAccepted.inc({ type: e.type });
    } catch (err) {
      // The back end's error is for the log, not the client.
      console.error(`coupons: the behaviour stream did not accept ${e.type} event ${e.event_id}:`, err);
      metrics.streamAppendErrors.inc({ endpoint: 'coupons' });
      throw new ApiError(
        503,
        'stream_unavailable',
        `recorded, but the behaviour stream did not accept the ${e.type} event; retry with the same Idempotency-Key`,
      );
    }
  };

  app.openapi(listOpen, async (c) => {
    const b = requireSubject(shopperQuery.parse(c.req.valid('query')));
    const { subject, segments } = await shopper(b);
    const t = now();
    const coupons = (await ledger.list()).filter((x) => isLive(x, t) && segmentAllowed(x, segments));
    const ids = coupons.map((x) => x.id);
    const [status, held] = await Promise.all([ledger.status(ids), ledger.claimsOf(subject, ids)]);
    const open = offerable(coupons, status, held, t);
    return c.json(
      {
        subject,
        coupons: open.map((x) => ({ ...x, stock_left: status.get(x.id)!.stock_left, claimed: held.get(x.id) ?? 0 })),
      },
      200,
    );
  });

  app.openapi(claimRoute, async (c) => {
    const id = c.req.valid('param').id;
    const key = idempotencyKey(c);
    const b = requireSubject(c.req.valid('json'));
    const coupon = await requireCoupon(id, metrics.couponClaims);
    const { subject, segments } = await shopper(b);
    // Segments come from behaviour state, not the ledger: checked before claiming, so an
    // ineligible shopper never takes stock.
    if (!segmentAllowed(coupon, segments)) {
      metrics.couponClaims.inc({ outcome: 'not_eligible' });
      throw new ApiError(403, 'not_eligible', `the coupon is for ${coupon.eligibility.segments.join(' or ')} shoppers`);
    }
    const r = await ledger.claim({ coupon_id: id, subject, idempotency_key: key, now: now() });
    metrics.couponClaims.inc({ outcome: r.status });
    if (r.status !== 'claimed' && r.status !== 'duplicate') throw refusal(r.status, id);
    await appendEvent({
      event_id: couponEventId('claim', id, key),
      type: 'coupon_claim',
      ...who(b),
      coupon_id: id,
      ts: r.claimed_at!,
    });
    if (r.status === 'duplicate') c.header('Idempotent-Replayed', 'true');
    return c.json(
      { coupon_id: id, subject, claim_id: r.claim_id!, claimed_at: r.claimed_at!, stock_left: r.stock_left! },
      200,
    );
  });

  app.openapi(redeemRoute, async (c) => {
    const id = c.req.valid('param').id;
    const key = idempotencyKey(c);
    const b = requireSubject(c.req.valid('json'));
    const coupon = await requireCoupon(id, metrics.couponRedemptions);
    const { subject } = await shopper(b);
    const discount = discountFor(coupon, b.order_amount);
    if (discount <= 0) {
      metrics.couponRedemptions.inc({ outcome: 'min_spend_not_met' });
      throw new ApiError(
        409,
        'min_spend_not_met',
        `the order must reach ${coupon.min_spend} for this coupon`,
        'order_amount',
      );
    }
    const t = now();
    const r = await ledger.redeem({ coupon_id: id, subject, idempotency_key: key, discount, now: t });
    metrics.couponRedemptions.inc({ outcome: r.status });
    if (r.status !== 'redeemed' && r.status !== 'duplicate') throw refusal(r.status, id);
    // price carries the discount granted, so budget spend can be followed on the stream.
    await appendEvent({
      event_id: couponEventId('redeem', id, key),
      type: 'coupon_redeem',
      ...who(b),
      coupon_id: id,
      price: r.discount!,
      ts: t,
    });
    if (r.status === 'duplicate') c.header('Idempotent-Replayed', 'true');
    return c.json(
      {
        coupon_id: id,
        subject,
        order_id: b.order_id,
        redemption_id: r.redemption_id!,
        discount: r.discount!,
        budget_left: r.budget_left ?? null,
      },
      200,
    );
  });
  return app;
}
