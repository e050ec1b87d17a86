import { z } from 'zod';
import { Timestamp } from '../behavior/event.ts';
import type { UserState } from '../behavior/user-state.ts';
import { filterKey, underCategory } from '../retrieval/index/stores.ts';

/**
 * A coupon definition, as an admin PUTs it and as the ledger stores it. Stock, claims and the
 * budget spent are not part of it: they change on every claim and live in the ledger
 * (`ledger.ts`); this is the part that changes only when an admin edits it.
 */

export const SEGMENTS = ['new', 'returning', 'vip'] as const;
/** `new`: no purchase yet; `returning`: at least one; `vip`: at least `vip_purchases` (a vip is also returning). */
export type Segment = (typeof SEGMENTS)[number];

export const COUPON_TYPES = ['fixed', 'percent', 'threshold'] as const;
export type CouponType = (typeof COUPON_TYPES)[number];

/** Purchases that make a shopper `vip` unless the caller says otherwise. */
export const DEFAULT_VIP_PURCHASES = 5;

const money = z.number().finite().positive().max(1e12);
const keyList = z.array(z.string().trim().min(1, 'must not be empty').max(256)).max(1000).default([]);

export const CouponSchema = z
  .object({
    id: z
      .string()
      .min(1, 'must not be empty')
      .max(128, 'must be at most 128 characters')
      .regex(/^[A-Za-z0-9_.-]+$/, 'may only contain letters, digits, "_", "." and "-"')
      // "/v1/admin/coupons/.." is "/v1/admin" to an HTTP client (dot segments are removed from a
      // path): a coupon with such an id could never be read, claimed or redeemed.
      .refine((id) => id !== '.' && id !== '..', 'must not be "." or ".." (a URL cannot name it)'),
    name: z.string().trim().min(1, 'must not be empty').max(200),
    description: z.string().max(2000).optional(),
    /** fixed: `value` off; percent: `value`% off (capped by `max_discount`); threshold (满减): `value` off once the spend reaches `min_spend`. */
    type: z.enum(COUPON_TYPES),
    value: money,
    min_spend: money.optional(),
    max_discount: money.optional(),
    /** Each list empty = any. Categories are path prefixes ("Sports/Footwear" covers "sports/footwear/running"). */
    eligibility: z
      .object({
        categories: keyList,
        brands: keyList,
        segments: z.array(z.enum(SEGMENTS)).max(SEGMENTS.length).default([]),
      })
      .strict()
      .default({ categories: [], brands: [], segments: [] }),
    valid_from: Timestamp,
    valid_until: Timestamp,
    /** Total claims the coupon allows, over its whole life. */
    stock: z.number().int().min(0).max(1e9),
    per_user_limit: z.number().int().min(1).max(1e6).default(1),
    /** Cap on the total discount granted at redemption, in `currency`. Absent = no cap. */
    budget: money.optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO-4217 code such as "EUR"')
      .optional(),
    active: z.boolean().default(true),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.type === 'percent' && c.value >= 100) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: 'a percent coupon takes a value between 0 and 100 (exclusive)',
      });
    }
    if (c.type === 'threshold') {
      if (c.min_spend === undefined)
        ctx.addIssue({ code: 'custom', path: ['min_spend'], message: 'required for threshold coupons' });
      else if (c.min_spend <= c.value)
        ctx.addIssue({
          code: 'custom',
          path: ['min_spend'],
          message: 'must be greater than value for threshold coupons',
        });
    }
    if (c.max_discount !== undefined && c.type !== 'percent') {
      ctx.addIssue({ code: 'custom', path: ['max_discount'], message: 'only applies to percent coupons' });
    }
    if (c.valid_until <= c.valid_from) {
      ctx.addIssue({ code: 'custom', path: ['valid_until'], message: 'must be after valid_from' });
    }
    if (new Set(c.eligibility.segments).size !== c.eligibility.segments.length) {
      ctx.addIssue({ code: 'custom', path: ['eligibility', 'segments'], message: 'must not repeat a segment' });
    }
  });

export type Coupon = z.output<typeof CouponSchema>;
export type CouponInput = z.input<typeof CouponSchema>;

/** Segments a shopper belongs to. Pass the state of the user a session is linked to, if any. */
export function shopperSegments(user: UserState | undefined, opts: { vip_purchases?: number } = {}): Set<Segment> {
  const purchases = user?.counts.purchase ?? 0;
  const out = new Set<Segment>();
  if (purchases === 0) out.add('new');
  else out.add('returning');
  if (purchases >= (opts.vip_purchases ?? DEFAULT_VIP_PURCHASES)) out.add('vip');
  return out;
}

/** Rounds down to cents, so float noise never grants more than the coupon says. */
function cents(x: number): number {
  return Math.floor(x * 100 + 1e-6) / 100;
}

/** Currency amount the coupon takes off `spend`: 0 below `min_spend`, never more than the spend. */
export function discountFor(coupon: Coupon, spend: number): number {
  if (!(spend > 0) || spend < (coupon.min_spend ?? 0)) return 0;
  let off = coupon.type === 'percent' ? (spend * coupon.value) / 100 : coupon.value;
  if (coupon.max_discount !== undefined) off = Math.min(off, coupon.max_discount);
  return cents(Math.min(off, spend));
}

interface CompiledEligibility {
  categories: Array<(categoryKey: string | undefined) => boolean>;
  brands: Set<string>;
}

/** Normalised once per coupon object: `isEligible` runs for every item × coupon on a page. */
const compiled = new WeakMap<Coupon, CompiledEligibility>();

function compile(c: Coupon): CompiledEligibility {
  let out = compiled.get(c);
  if (!out) {
    out = {
      // The search category filter's own test, so a coupon's category means what a filter does.
      categories: c.eligibility.categories.map((cat) => underCategory(cat)),
      brands: new Set(c.eligibility.brands.map(filterKey)),
    };
    compiled.set(c, out);
  }
  return out;
}

/**
 * Whether the coupon may be shown next to this item for this shopper at `now`: active, inside
 * [valid_from, valid_until), item category under one of the coupon's prefixes, brand listed,
 * shopper in one of the segments, and — when the coupon has a `min_spend` — this item alone
 * reaches it (an item without a price does not). Empty lists mean "any". Stock and budget are
 * not checked here: they come from the ledger's `status()`.
 */
export function isEligible(
  coupon: Coupon,
  item: { categoryKey?: string | undefined; brandKey?: string | undefined; price?: number | undefined },
  segments: ReadonlySet<Segment>,
  now: number,
): boolean {
  return isLive(coupon, now) && segmentAllowed(coupon, segments) && itemAllowed(coupon, item);
}

/** The item half of `isEligible`: category, brand and min_spend. */
export function itemAllowed(
  coupon: Coupon,
  item: { categoryKey?: string | undefined; brandKey?: string | undefined; price?: number | undefined },
): boolean {
  const e = compile(coupon);
  if (e.categories.length > 0 && !e.categories.some((under) => under(item.categoryKey))) return false;
  if (e.brands.size > 0 && (item.brandKey === undefined || !e.brands.has(item.brandKey))) return false;
  if (coupon.min_spend !== undefined && (item.price === undefined || item.price < coupon.min_spend)) return false;
  return true;
}

/** Active and inside its validity window. */
export function isLive(coupon: Pick<Coupon, 'active' | 'valid_from' | 'valid_until'>, now: number): boolean {
  return coupon.active && now >= coupon.valid_from && now < coupon.valid_until;
}

/** The shopper is in one of the coupon's segments (or it has none). */
export function segmentAllowed(coupon: Coupon, segments: ReadonlySet<Segment>): boolean {
  const wanted = coupon.eligibility.segments;
  return wanted.length === 0 || wanted.some((s) => segments.has(s));
}
