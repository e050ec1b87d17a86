import path from 'node:path';
import { SqliteCouponLedger } from './embedded/sqlite-coupon-ledger.ts';
import type { CouponLedger } from './ledger.ts';

/**
 * Redis when REDIS_URL is set (the same server as the behaviour state), else SQLite at
 * `<dataDir>/coupons/coupons.sqlite`. The Redis module loads only when configured.
 */
export async function openCouponLedger(opts: {
  dataDir: string;
  redisUrl?: string | undefined;
  namespace: string;
}): Promise<CouponLedger> {
  if (opts.redisUrl) {
    const { RedisCouponLedger } = await import('./redis/redis-coupon-ledger.ts');
    return RedisCouponLedger.open({ url: opts.redisUrl, namespace: opts.namespace });
  }
  return new SqliteCouponLedger({ file: path.join(opts.dataDir, 'coupons', 'coupons.sqlite') });
}
