import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('coupon targeting settings', () => {
  it('come from SHELF_COUPON_* (and SHELF_VIP_PURCHASES), with documented defaults', () => {
    expect(loadConfig({}).coupons.targeting).toMatchObject({
      enabled: true,
      min_value: 0,
      boost: 0,
      cache_ms: 1000,
      vip_purchases: 5,
    });
    const c = loadConfig({
      SHELF_COUPON_TARGETING: 'false',
      SHELF_COUPON_MIN_VALUE: '0.5',
      SHELF_COUPON_BOOST: '2',
      SHELF_COUPON_CACHE_MS: '0',
      SHELF_VIP_PURCHASES: '3',
    }).coupons.targeting;
    expect(c).toMatchObject({ enabled: false, min_value: 0.5, boost: 2, cache_ms: 0, vip_purchases: 3 });
  });

  it('a bad value stops start-up naming the variable', () => {
    expect(() => loadConfig({ SHELF_COUPON_BOOST: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ SHELF_COUPON_BOOST: '-1' })).toThrow(/SHELF_COUPON_BOOST/);
    expect(() => loadConfig({ SHELF_COUPON_MIN_VALUE: 'lots' })).toThrow(/SHELF_COUPON_MIN_VALUE/);
  });
});
