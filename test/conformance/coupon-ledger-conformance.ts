import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimResult, CouponLedger } from '../../coupons/ledger.ts';
import { coupon, expectStormOutcome, HOUR, stormRequests, T0 } from '../helpers/coupons.ts';
import type { StoreHarness } from './stores.ts';

export interface CouponLedgerHarness extends StoreHarness<CouponLedger> {
  /** Another connection to the same data (the caller closes it): a second service instance. */
  connect(): Promise<CouponLedger>;
}

const claimBy = (subject: string, key: string, now = T0, coupon_id = 'summer10') => ({
  coupon_id,
  subject,
  idempotency_key: key,
  now,
});

/**
 * One suite for every CouponLedger: SQLite in the unit tests, Redis in the integration suite.
 * The harness's open() gives a new, empty ledger; reopen() simulates a restart.
 */
export function couponLedgerConformance(name: string, harness: () => CouponLedgerHarness) {
  describe(`CouponLedger conformance: ${name}`, () => {
    let h: CouponLedgerHarness;
    let ledger: CouponLedger;
    const extra: CouponLedger[] = [];
    beforeEach(async () => {
      h = harness();
      ledger = await h.open();
    });
    afterEach(async () => {
      await Promise.all(extra.splice(0).map((l) => l.close()));
      await ledger.close();
      await h.cleanup();
    });
    const connect = async () => {
      const l = await h.connect();
      extra.push(l);
      return l;
    };

    it('creates, reads, lists and replaces definitions', async () => {
      expect(await ledger.get('summer10')).toBeUndefined();
      const c = coupon({
        valid_from: '2026-06-01T11:00:00Z',
        eligibility: { categories: ['Sports/Footwear'], segments: ['vip'] },
        budget: 50.5,
        currency: 'EUR',
      });
      expect(await ledger.define(c)).toBe('created');
      expect(await ledger.get('summer10')).toEqual(c);
      expect((await ledger.get('summer10'))!.valid_from).toBe(T0 - HOUR);
      await ledger.define(coupon({ id: 'a-first', type: 'percent', value: 15, max_discount: 20 }));
      expect((await ledger.list()).map((x) => x.id)).toEqual(['a-first', 'summer10']);
      const replaced = coupon({ name: 'renamed' });
      expect(await ledger.define(replaced)).toBe('updated');
      expect(await ledger.get('summer10')).toEqual(replaced);
      expect((await ledger.get('summer10'))!.budget).toBeUndefined();
      expect(await ledger.status(['summer10', 'missing'])).toEqual(
        new Map([['summer10', { stock_left: 100, claimed: 0, redeemed: 0, spent: 0, budget_left: null }]]),
      );
    });

    it('claims once per idempotency key and returns the original on a retry', async () => {
      await ledger.define(coupon({ stock: 5 }));
      const first = await ledger.claim(claimBy('u:ann', 'k1'));
      expect(first).toEqual({ status: 'claimed', claim_id: 'summer10#1', claimed_at: T0, stock_left: 4 });
      const again = await ledger.claim(claimBy('u:ann', 'k1', T0 + 5000));
      expect(again).toEqual({ ...first, status: 'duplicate' });
      expect((await ledger.status(['summer10'])).get('summer10')).toMatchObject({ stock_left: 4, claimed: 1 });
      expect(await ledger.claim(claimBy('u:bob', 'k1'))).toEqual({ status: 'idempotency_conflict' });
      expect(await ledger.claimsOf('u:ann', ['summer10', 'other'])).toEqual(
        new Map([
          ['summer10', 1],
          ['other', 0],
        ]),
      );
      expect(await ledger.claim(claimBy('u:ann', 'k1', T0, 'missing'))).toEqual({ status: 'not_found' });
    });

    it('enforces the per-user limit and the stock', async () => {
      await ledger.define(coupon({ stock: 3, per_user_limit: 2 }));
      expect((await ledger.claim(claimBy('s:x', 'a'))).status).toBe('claimed');
      expect((await ledger.claim(claimBy('s:x', 'b'))).status).toBe('claimed');
      expect(await ledger.claim(claimBy('s:x', 'c'))).toEqual({ status: 'limit_reached', stock_left: 1 });
      expect(await ledger.claim(claimBy('u:y', 'd'))).toMatchObject({
        status: 'claimed',
        claim_id: 'summer10#3',
        stock_left: 0,
      });
      expect(await ledger.claim(claimBy('u:z', 'e'))).toEqual({ status: 'out_of_stock', stock_left: 0 });
      expect(await ledger.claimsOf('s:x', ['summer10'])).toEqual(new Map([['summer10', 2]]));
    });

    it('keeps claims when the definition changes; stock below what is claimed stops claims', async () => {
      await ledger.define(coupon({ stock: 3 }));
      await ledger.claim(claimBy('u:a', 'a'));
      await ledger.claim(claimBy('u:b', 'b'));
      await ledger.define(coupon({ stock: 1 }));
      expect((await ledger.status(['summer10'])).get('summer10')).toMatchObject({ stock_left: 0, claimed: 2 });
      expect((await ledger.claim(claimBy('u:c', 'c'))).status).toBe('out_of_stock');
      await ledger.define(coupon({ stock: 4 }));
      expect(await ledger.claim(claimBy('u:c', 'c'))).toMatchObject({
        status: 'claimed',
        claim_id: 'summer10#3',
        stock_left: 1,
      });
      expect(await ledger.claimsOf('u:a', ['summer10'])).toEqual(new Map([['summer10', 1]]));
    });

    it('refuses claims outside the validity window and after deactivation', async () => {
      await ledger.define(coupon());
      const c = coupon();
      expect((await ledger.claim(claimBy('u:a', 'early', c.valid_from - 1))).status).toBe('not_active');
      expect((await ledger.claim(claimBy('u:a', 'start', c.valid_from))).status).toBe('claimed');
      expect((await ledger.claim(claimBy('u:b', 'late', c.valid_until))).status).toBe('not_active');
      expect(await ledger.deactivate('summer10')).toBe(true);
      expect(await ledger.deactivate('missing')).toBe(false);
      expect((await ledger.get('summer10'))!.active).toBe(false);
      expect(await ledger.claim(claimBy('u:b', 'off'))).toEqual({ status: 'not_active', stock_left: 99 });
      // A retry of a claim made while active still gets its claim back.
      expect((await ledger.claim(claimBy('u:a', 'start'))).status).toBe('duplicate');
      await ledger.define(coupon());
      expect((await ledger.claim(claimBy('u:b', 'on'))).status).toBe('claimed');
    });

    it('spends the budget at redemption and stops claims once it is gone', async () => {
      await ledger.define(coupon({ budget: 25 }));
      const redeem = (subject: string, key: string, discount: number) =>
        ledger.redeem({ ...claimBy(subject, key), discount });
      expect(await redeem('u:a', 'r0', 10)).toEqual({ status: 'not_claimed', budget_left: 25 });
      await ledger.claim(claimBy('u:a', 'a'));
      await ledger.claim(claimBy('u:b', 'b'));
      await ledger.claim(claimBy('u:c', 'c'));
      const r1 = await redeem('u:a', 'r1', 10.25);
      expect(r1).toEqual({ status: 'redeemed', redemption_id: 'summer10@1', discount: 10.25, budget_left: 14.75 });
      expect(await redeem('u:a', 'r1', 10)).toEqual({ ...r1, status: 'duplicate' });
      expect(await redeem('u:b', 'r1', 10)).toEqual({ status: 'idempotency_conflict' });
      expect(await redeem('u:a', 'r2', 1)).toEqual({ status: 'not_claimed', budget_left: 14.75 });
      expect(await redeem('u:b', 'r3', 15)).toEqual({ status: 'budget_exhausted', budget_left: 14.75 });
      expect(await redeem('u:b', 'r3', 14.75)).toMatchObject({
        status: 'redeemed',
        redemption_id: 'summer10@2',
        budget_left: 0,
      });
      expect((await ledger.status(['summer10'])).get('summer10')).toEqual({
        stock_left: 97,
        claimed: 3,
        redeemed: 2,
        spent: 25,
        budget_left: 0,
      });
      expect(await ledger.claim(claimBy('u:d', 'd'))).toEqual({ status: 'budget_exhausted', stock_left: 97 });
      expect(await redeem('u:c', 'r4', 1)).toEqual({ status: 'budget_exhausted', budget_left: 0 });
      await ledger.deactivate('summer10');
      expect((await redeem('u:c', 'r5', 0)).status).toBe('not_active');
      expect((await ledger.redeem({ ...claimBy('u:c', 'r6', T0, 'missing'), discount: 1 })).status).toBe('not_found');
    });

    it('keeps definitions, claims and idempotency records across a restart', async () => {
      await ledger.define(coupon({ stock: 2, budget: 10 }));
      const first = await ledger.claim(claimBy('u:a', 'a'));
      await ledger.redeem({ ...claimBy('u:a', 'r'), discount: 4 });
      ledger = await h.reopen(ledger);
      expect(await ledger.get('summer10')).toEqual(coupon({ stock: 2, budget: 10 }));
      expect(await ledger.claim(claimBy('u:a', 'a'))).toEqual({ ...first, status: 'duplicate' });
      expect((await ledger.status(['summer10'])).get('summer10')).toEqual({
        stock_left: 1,
        claimed: 1,
        redeemed: 1,
        spent: 4,
        budget_left: 6,
      });
      expect(await ledger.claimsOf('u:a', ['summer10'])).toEqual(new Map([['summer10', 1]]));
    });

    it('gives exactly the stock under 1,000 concurrent claims on several connections', async () => {
      await ledger.define(coupon({ stock: 100 }));
      const ledgers = [ledger, await connect(), await connect(), await connect()];
      const requests = stormRequests(1000, 100);
      // A watcher polls the claim count while the claims run: it must never pass the stock.
      const seen: number[] = [];
      let done = false;
      const watch = await connect();
      const watcher = (async () => {
        do {
          seen.push((await watch.status(['summer10'])).get('summer10')!.claimed);
          await new Promise((r) => setTimeout(r, 1));
        } while (!done);
      })();
      const results: ClaimResult[] = await Promise.all(
        requests.map((q, i) => ledgers[i % ledgers.length]!.claim(claimBy(q.subject, q.key))),
      );
      done = true;
      await watcher;
      expectStormOutcome(requests, results, 100);
      expect(seen.length).toBeGreaterThan(0);
      // claimed is stored unclamped (stock_left is reported clamped): never above the stock.
      expect(Math.max(...seen)).toBeLessThanOrEqual(100);
      expect((await ledger.status(['summer10'])).get('summer10')).toMatchObject({ stock_left: 0, claimed: 100 });
    });
  });
}
