import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { couponKeys, RedisCouponLedger } from '../../coupons/redis/redis-coupon-ledger.ts';
import { couponLedgerConformance } from '../conformance/coupon-ledger-conformance.ts';
import { coupon, T0 } from '../helpers/coupons.ts';
import { dropRedisNamespace, REDIS_URL, testNamespace } from './helpers/behavior-servers.ts';

const open = (namespace: string) => RedisCouponLedger.open({ url: REDIS_URL, namespace });

/** The coupon ledger conformance suite (the 1,000-claim storm included) against real Redis. */
couponLedgerConformance(`Redis at ${REDIS_URL}`, () => {
  const ns = testNamespace('coupons');
  return {
    open: () => open(ns),
    connect: () => open(ns),
    reopen: async (ledger) => {
      await ledger.close();
      return open(ns);
    },
    cleanup: () => dropRedisNamespace(ns),
  };
});

describe(`Redis coupon ledger specifics at ${REDIS_URL}`, () => {
  const namespaces: string[] = [];
  const redis = new Redis(REDIS_URL);
  afterAll(async () => {
    for (const ns of namespaces) await dropRedisNamespace(ns);
    redis.disconnect();
  });

  it('reloads its scripts after SCRIPT FLUSH and keeps one coupon in one hash slot', async () => {
    const ns = testNamespace('coupon-scripts');
    namespaces.push(ns);
    const ledger = await open(ns);
    try {
      await ledger.define(coupon({ stock: 2 }));
      expect(
        (await ledger.claim({ coupon_id: 'summer10', subject: 'u:a', idempotency_key: 'a', now: T0 })).status,
      ).toBe('claimed');
      await redis.script('FLUSH');
      expect(
        (await ledger.claim({ coupon_id: 'summer10', subject: 'u:b', idempotency_key: 'b', now: T0 })).status,
      ).toBe('claimed');
      const k = couponKeys(ns);
      // One coupon's keys share a hash tag, so a script touching them all runs on one Cluster slot.
      const keys = [
        k.coupon('summer10'),
        k.holders('summer10'),
        k.claims('summer10'),
        k.redemptions('summer10'),
        k.redeemers('summer10'),
      ];
      expect(new Set(keys.map((key) => /\{([^}]*)\}/.exec(key)?.[1]))).toEqual(new Set(['summer10']));
      expect(await redis.hget(k.coupon('summer10'), 'claimed')).toBe('2');
      expect(await ledger.dependencies()[0]!.check()).toMatch(/^Redis \S+ at redis:\/\//);
    } finally {
      await ledger.close();
    }
  });
});
