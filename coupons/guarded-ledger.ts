import type { DependencyGuard } from '../core/dependency-guard.ts';
import type { Coupon } from './coupon.ts';
import type { ClaimRequest, CouponLedger, RedeemRequest } from './ledger.ts';

/**
 * A coupon ledger (Redis) whose every call runs within the server's budget and circuit breaker
 * (core/dependency-guard.ts): a ledger that is down or frozen fails the call with
 * DependencyUnavailable in time for a quick 503 (claims, redemptions, the shopper's list) or a
 * page without coupons. A claim abandoned at its deadline may still land in Redis: the client's
 * retry with the same Idempotency-Key then gets that claim back, never a second one.
 */
export class GuardedCouponLedger implements CouponLedger {
  constructor(
    private readonly inner: CouponLedger,
    private readonly guard: DependencyGuard,
  ) {}

  get kind(): string {
    return this.inner.kind;
  }

  define(c: Coupon) {
    return this.guard.call(() => this.inner.define(c));
  }
  get(id: string) {
    return this.guard.call(() => this.inner.get(id));
  }
  list() {
    return this.guard.call(() => this.inner.list());
  }
  deactivate(id: string) {
    return this.guard.call(() => this.inner.deactivate(id));
  }
  claim(r: ClaimRequest) {
    return this.guard.call(() => this.inner.claim(r));
  }
  redeem(r: RedeemRequest) {
    return this.guard.call(() => this.inner.redeem(r));
  }
  status(ids: readonly string[]) {
    return this.guard.call(() => this.inner.status(ids));
  }
  claimsOf(subject: string, ids: readonly string[]) {
    return this.guard.call(() => this.inner.claimsOf(subject, ids));
  }
  dependencies() {
    return this.inner.dependencies();
  }
  close() {
    return this.inner.close();
  }
}
