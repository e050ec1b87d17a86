import type { Dependency } from '../core/dependencies.ts';
import type { Coupon } from './coupon.ts';

/**
 * What changes on every claim and redemption: remaining stock, per-shopper claim counts, the
 * budget spent, and the idempotency records that make a retried request a no-op. Redis in
 * production (`redis/`), SQLite embedded (`embedded/`); both pass
 * `test/conformance/coupon-ledger-conformance.ts`.
 *
 * Subjects are the behaviour stream's: `u:<user_id>` or `s:<session_id>`. Idempotency keys
 * are scoped to one coupon. Only successful claims and redemptions are recorded under their
 * key: a refused request retried later is evaluated afresh (stock may have been added).
 * Money is kept in whole cents inside the ledgers so that sums never drift.
 */

export type ClaimStatus =
  | 'claimed'
  /** The key was already used for this coupon by the same subject: the original claim is returned, nothing decremented. */
  | 'duplicate'
  /** The key was already used for this coupon by another subject. */
  | 'idempotency_conflict'
  | 'out_of_stock'
  | 'limit_reached'
  /** Deactivated, not yet valid, or expired. */
  | 'not_active'
  | 'budget_exhausted'
  | 'not_found';

export interface ClaimRequest {
  coupon_id: string;
  subject: string;
  idempotency_key: string;
  now: number;
}

export interface ClaimResult {
  status: ClaimStatus;
  /** For claimed and duplicate: `<coupon_id>#<n>`, n counting claims from 1. */
  claim_id?: string;
  /** For claimed and duplicate: when the claim was made (the original's time on a duplicate). */
  claimed_at?: number;
  /** Claimed/duplicate: stock left right after the claim. Refusals: stock left now, when known. */
  stock_left?: number;
}

export type RedeemStatus =
  | 'redeemed'
  | 'duplicate'
  | 'idempotency_conflict'
  /** The subject holds no unredeemed claim of this coupon. */
  | 'not_claimed'
  /** The discount would take the spend past the budget; nothing is recorded. */
  | 'budget_exhausted'
  | 'not_active'
  | 'not_found';

export interface RedeemRequest extends ClaimRequest {
  /** Currency amount off the order (see `discountFor`); rounded to cents. */
  discount: number;
}

export interface RedeemResult {
  status: RedeemStatus;
  /** For redeemed and duplicate: `<coupon_id>@<n>`, n counting redemptions from 1. */
  redemption_id?: string;
  /** For redeemed and duplicate: the discount recorded (the original's on a duplicate). */
  discount?: number;
  /** Budget left after this redemption (now, on refusals); null when the coupon has no budget. */
  budget_left?: number | null;
}

export interface CouponStatus {
  /** max(0, stock − claimed): lowering stock below what is claimed stops claims, never un-claims. */
  stock_left: number;
  claimed: number;
  redeemed: number;
  /** Discount granted so far, in currency. */
  spent: number;
  /** budget − spent, or null without a budget. */
  budget_left: number | null;
}

export interface CouponLedger {
  readonly kind: string;
  /** Creates or replaces a definition. Claims, redemptions and spend are kept; remaining stock follows the new `stock`. */
  define(c: Coupon): Promise<'created' | 'updated'>;
  get(id: string): Promise<Coupon | undefined>;
  /** Every coupon, deactivated ones included, by id. */
  list(): Promise<Coupon[]>;
  /** Sets `active: false`; false when there is no such coupon. */
  deactivate(id: string): Promise<boolean>;
  claim(r: ClaimRequest): Promise<ClaimResult>;
  redeem(r: RedeemRequest): Promise<RedeemResult>;
  /** Entries only for coupons that exist. */
  status(ids: readonly string[]): Promise<Map<string, CouponStatus>>;
  /** Claims the subject holds per coupon (redeemed ones included); coupons never claimed map to 0. */
  claimsOf(subject: string, ids: readonly string[]): Promise<Map<string, number>>;
  dependencies(): Dependency[];
  close(): Promise<void>;
}

export const toCents = (amount: number): number => Math.round(amount * 100);
export const fromCents = (cents: number): number => cents / 100;

/** Budget left in currency; null for a coupon without a budget. */
export const budgetLeft = (budgetCents: number | null, spentCents: number): number | null =>
  budgetCents === null ? null : fromCents(budgetCents - spentCents);

/** The counters both ledgers keep (money in cents), as `status()` reports them. */
export function toStatus(c: {
  stock: number;
  claimed: number;
  redeemed: number;
  spent_cents: number;
  budget_cents: number | null;
}): CouponStatus {
  return {
    stock_left: Math.max(0, c.stock - c.claimed),
    claimed: c.claimed,
    redeemed: c.redeemed,
    spent: fromCents(c.spent_cents),
    budget_left: budgetLeft(c.budget_cents, c.spent_cents),
  };
}

export const claimId = (couponId: string, n: number): string => `${couponId}#${n}`;
export const redemptionId = (couponId: string, n: number): string => `${couponId}@${n}`;

/** The stored definition leaves out `active`, which the ledger keeps as its own field so deactivation never rewrites the JSON. */
export function definitionJson(c: Coupon): string {
  const { active: _active, ...rest } = c;
  return JSON.stringify(rest);
}

export function fromDefinition(json: string, active: boolean): Coupon {
  return { ...(JSON.parse(json) as Omit<Coupon, 'active'>), active };
}
