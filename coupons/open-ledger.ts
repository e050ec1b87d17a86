import path from 'node:path';
import type { DependencyGuards } from '../core/dependency-guard.ts';
import { GuardedCouponLedger } from './guarded-ledger.ts';
import { SqliteCouponLedger } from './embedded/sqlite-coupon-ledger.ts';
import type { CouponLedger } from './ledger.ts';

/**
 * Redis when REDIS_URL is set (the same server as the behaviour state), else SQLite at
 * `<dataDir>/coupons/coupons.sqlite`. The Redis module loads only when configured. With
 * `guards`, every Redis call runs within its budget and breaker (core/dependency-guard.ts).
 */
export async function openCouponLedger(opts: {
  dataDir: string;
  redisUrl?: string | undefined;
  namespace: string;
  guards?: Pick<DependencyGuards, 'redis'> | undefined;
}): Promise<CouponLedger> {
  if (opts.redisUrl) {
    const { RedisCouponLedger } = await import('./redis/redis-coupon-ledger.ts');
    const ledger = await RedisCouponLedger.open({ url: opts.redisUrl, namespace: opts.namespace });
    return opts.guards ? new GuardedCouponLedger(ledger, opts.guards.redis) : ledger;
  }
  return new SqliteCouponLedger({ file: path.join(opts.dataDir, 'coupons', 'coupons.sqlite') });
}
