import { expect } from 'vitest';
import { CouponSchema, type Coupon, type CouponInput } from '../../coupons/coupon.ts';
import type { ClaimResult } from '../../coupons/ledger.ts';

export const T0 = Date.parse('2026-06-01T12:00:00Z');
export const HOUR = 3_600_000;

/** A valid coupon live around T0; override any field. */
export function coupon(overrides: Partial<CouponInput> = {}): Coupon {
  return CouponSchema.parse({
    id: 'summer10',
    name: '10 off',
    type: 'fixed',
    value: 10,
    valid_from: T0 - HOUR,
    valid_until: T0 + 24 * HOUR,
    stock: 100,
    ...overrides,
  });
}

/** One request of a claim storm: who, with which idempotency key. */
export interface StormRequest {
  subject: string;
  key: string;
}

/**
 * `total` claims by distinct subjects, each with its own key, plus `repeats` of them sent a
 * second time with the same subject and key (a client retry), shuffled deterministically.
 */
export function stormRequests(total = 1000, repeats = 100): StormRequest[] {
  const distinct = Array.from({ length: total - repeats }, (_, i) => ({ subject: `u:storm-${i}`, key: `key-${i}` }));
  const out = [...distinct, ...distinct.slice(0, repeats)];
  // Fixed-seed Fisher–Yates: retries land anywhere, not only after their originals.
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * What a storm on a coupon of `stock` must show, whatever the interleaving: exactly `stock`
 * claims, distinct claim ids, at most one claim per key, every duplicate pointing at its key's
 * claim, and no response ever reporting negative stock.
 */
export function expectStormOutcome(
  requests: readonly StormRequest[],
  results: readonly ClaimResult[],
  stock: number,
): void {
  expect(results).toHaveLength(requests.length);
  const claimed = results.filter((r) => r.status === 'claimed');
  expect(claimed).toHaveLength(stock);
  expect(new Set(claimed.map((r) => r.claim_id)).size).toBe(stock);
  const claimOfKey = new Map<string, string>();
  requests.forEach((req, i) => {
    const r = results[i]!;
    expect(['claimed', 'duplicate', 'out_of_stock']).toContain(r.status);
    if (r.stock_left !== undefined) expect(r.stock_left).toBeGreaterThanOrEqual(0);
    if (r.status === 'claimed') {
      expect(claimOfKey.has(req.key)).toBe(false);
      claimOfKey.set(req.key, r.claim_id!);
    }
  });
  requests.forEach((req, i) => {
    const r = results[i]!;
    if (r.status === 'duplicate') expect(r.claim_id).toBe(claimOfKey.get(req.key));
  });
}
