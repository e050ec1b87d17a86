import type { Redis } from 'ioredis';
import { connectRedis, redisDependency } from '../../behavior/redis/redis-connect.ts';
import type { Dependency } from '../../core/dependencies.ts';
import type { Coupon } from '../coupon.ts';
import {
  budgetLeft,
  claimId,
  definitionJson,
  fromCents,
  fromDefinition,
  redemptionId,
  toCents,
  toStatus,
  type ClaimRequest,
  type ClaimResult,
  type ClaimStatus,
  type CouponLedger,
  type CouponStatus,
  type RedeemRequest,
  type RedeemResult,
  type RedeemStatus,
} from '../ledger.ts';

export interface RedisCouponLedgerOptions {
  /** Config `backends.redisUrl`. */
  url: string;
  /** Config `backends.namespace`: prefixes every key. */
  namespace: string;
}

/**
 * Every key the ledger writes; coupons/README.md documents the layout. The `{id}` hash tag
 * keeps one coupon's keys in one Cluster slot, which a script touching several of them needs.
 */
export function couponKeys(ns: string) {
  return {
    ids: `${ns}:coupon:ids`,
    coupon: (id: string) => `${ns}:coupon:{${id}}`,
    holders: (id: string) => `${ns}:coupon:{${id}}:holders`,
    redeemers: (id: string) => `${ns}:coupon:{${id}}:redeemers`,
    claims: (id: string) => `${ns}:coupon:{${id}}:claims`,
    redemptions: (id: string) => `${ns}:coupon:{${id}}:redemptions`,
  };
}

// Both scripts read the coupon hash and decide everything in one atomic step; a record is
// "n|at_or_cents|left|subject" (subject last because it may contain "|").
const IS_LIVE = `
local function live(active, from, until_, now)
  return active == '1' and now >= tonumber(from) and now < tonumber(until_)
end
`;

/** KEYS: coupon, holders, claims. ARGV: idempotency key, subject, now. */
const CLAIM = `${IS_LIVE}
local c = redis.call('HMGET', KEYS[1], 'active', 'from', 'until', 'stock', 'limit', 'budget', 'spent', 'claimed')
if not c[1] then return {'not_found'} end
local prior = redis.call('HGET', KEYS[3], ARGV[1])
if prior then return {'duplicate', prior} end
local left = math.max(0, tonumber(c[4]) - tonumber(c[8] or '0'))
if not live(c[1], c[2], c[3], tonumber(ARGV[3])) then return {'not_active', left} end
if c[6] and tonumber(c[7] or '0') >= tonumber(c[6]) then return {'budget_exhausted', left} end
if tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0') >= tonumber(c[5]) then return {'limit_reached', left} end
if left <= 0 then return {'out_of_stock', 0} end
local n = redis.call('HINCRBY', KEYS[1], 'claimed', 1)
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
local rec = n .. '|' .. ARGV[3] .. '|' .. (left - 1) .. '|' .. ARGV[2]
redis.call('HSET', KEYS[3], ARGV[1], rec)
return {'claimed', rec}
`;

/**
 * KEYS: coupon, holders, redeemers, redemptions. ARGV: idempotency key, subject, now, discount in cents.
 * Refusals return the cents spent and the budget (nil without one), so the budget left needs no
 * second read.
 */
const REDEEM = `${IS_LIVE}
local c = redis.call('HMGET', KEYS[1], 'active', 'from', 'until', 'budget', 'spent')
if not c[1] then return {'not_found'} end
local prior = redis.call('HGET', KEYS[4], ARGV[1])
if prior then return {'duplicate', prior} end
local spent = tonumber(c[5] or '0')
if not live(c[1], c[2], c[3], tonumber(ARGV[3])) then return {'not_active', spent, c[4]} end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if held <= tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0') then return {'not_claimed', spent, c[4]} end
local d = tonumber(ARGV[4])
if c[4] and spent + d > tonumber(c[4]) then return {'budget_exhausted', spent, c[4]} end
local n = redis.call('HINCRBY', KEYS[1], 'redeemed', 1)
spent = redis.call('HINCRBY', KEYS[1], 'spent', d)
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
local left = ''
if c[4] then left = tostring(tonumber(c[4]) - spent) end
local rec = n .. '|' .. ARGV[4] .. '|' .. left .. '|' .. ARGV[2]
redis.call('HSET', KEYS[4], ARGV[1], rec)
return {'redeemed', rec}
`;

/** KEYS: coupon. */
const DEACTIVATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'active', '0')
return 1
`;

/** The scripts as commands on the ledger's connection, keys first, then ARGV as above. */
interface LedgerCommands {
  couponClaim(
    coupon: string,
    holders: string,
    claims: string,
    key: string,
    subject: string,
    now: number,
  ): Promise<[ClaimStatus, (string | number)?]>;
  couponRedeem(
    coupon: string,
    holders: string,
    redeemers: string,
    redemptions: string,
    key: string,
    subject: string,
    now: number,
    discountCents: number,
  ): Promise<[RedeemStatus, (string | number)?, (string | null)?]>;
  couponDeactivate(coupon: string): Promise<number>;
}

/**
 * ioredis sends these as EVALSHA and reloads a script the server lost (restart, SCRIPT FLUSH)
 * on NOSCRIPT by itself.
 */
function withScripts(redis: Redis): Redis & LedgerCommands {
  redis.defineCommand('couponClaim', { numberOfKeys: 3, lua: CLAIM });
  redis.defineCommand('couponRedeem', { numberOfKeys: 4, lua: REDEEM });
  redis.defineCommand('couponDeactivate', { numberOfKeys: 1, lua: DEACTIVATE });
  return redis as Redis & LedgerCommands;
}

/** A hash field holding cents; absent (a coupon without a budget) is null. */
const centsOrNull = (v: string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

/** Splits "n|x|left|subject". */
function parseRecord(rec: string): { n: number; x: number; left: string; subject: string } {
  const [n, x, left] = rec.split('|', 3) as [string, string, string];
  const subject = rec.slice(n.length + x.length + left.length + 3);
  return { n: Number(n), x: Number(x), left, subject };
}

/**
 * The production ledger: each claim and redemption is one Lua script, so the idempotency
 * check, validity, per-shopper limit, stock and the claim record change together and no two
 * callers — on any number of connections or service instances — can take the same unit.
 */
export class RedisCouponLedger implements CouponLedger {
  readonly kind = 'redis';
  private readonly keys;

  private constructor(
    private readonly redis: Redis & LedgerCommands,
    private readonly opts: RedisCouponLedgerOptions,
  ) {
    this.keys = couponKeys(opts.namespace);
  }

  static async open(opts: RedisCouponLedgerOptions): Promise<RedisCouponLedger> {
    return new RedisCouponLedger(withScripts(await connectRedis(opts.url, 'coupons')), opts);
  }

  async define(c: Coupon): Promise<'created' | 'updated'> {
    const key = this.keys.coupon(c.id);
    const tx = this.redis
      .multi()
      .hexists(key, 'def')
      .hset(key, {
        def: definitionJson(c),
        active: c.active ? '1' : '0',
        from: c.valid_from,
        until: c.valid_until,
        stock: c.stock,
        limit: c.per_user_limit,
      })
      .hsetnx(key, 'claimed', 0)
      .hsetnx(key, 'redeemed', 0)
      .hsetnx(key, 'spent', 0);
    if (c.budget === undefined) tx.hdel(key, 'budget');
    else tx.hset(key, 'budget', toCents(c.budget));
    const res = await tx.sadd(this.keys.ids, c.id).exec();
    if (!res) throw new Error('coupon definition transaction aborted');
    const failed = res.find(([err]) => err);
    if (failed) throw failed[0]!;
    return res[0]![1] === 1 ? 'updated' : 'created';
  }

  async get(id: string): Promise<Coupon | undefined> {
    const [def, active] = await this.redis.hmget(this.keys.coupon(id), 'def', 'active');
    return def ? fromDefinition(def, active === '1') : undefined;
  }

  async list(): Promise<Coupon[]> {
    const ids = (await this.redis.smembers(this.keys.ids)).sort();
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hmget(this.keys.coupon(id), 'def', 'active');
    const res = (await pipe.exec()) ?? [];
    const out: Coupon[] = [];
    for (const [err, value] of res) {
      if (err) throw err;
      const [def, active] = value as [string | null, string | null];
      if (def) out.push(fromDefinition(def, active === '1'));
    }
    return out;
  }

  async deactivate(id: string): Promise<boolean> {
    return (await this.redis.couponDeactivate(this.keys.coupon(id))) === 1;
  }

  async claim(r: ClaimRequest): Promise<ClaimResult> {
    const k = this.keys;
    const id = r.coupon_id;
    const [status, detail] = await this.redis.couponClaim(
      k.coupon(id),
      k.holders(id),
      k.claims(id),
      r.idempotency_key,
      r.subject,
      r.now,
    );
    if (status === 'claimed' || status === 'duplicate') {
      const rec = parseRecord(String(detail));
      if (rec.subject !== r.subject) return { status: 'idempotency_conflict' };
      return { status, claim_id: claimId(id, rec.n), claimed_at: rec.x, stock_left: Number(rec.left) };
    }
    return detail === undefined ? { status } : { status, stock_left: Number(detail) };
  }

  async redeem(r: RedeemRequest): Promise<RedeemResult> {
    const k = this.keys;
    const id = r.coupon_id;
    const [status, detail, budget] = await this.redis.couponRedeem(
      k.coupon(id),
      k.holders(id),
      k.redeemers(id),
      k.redemptions(id),
      r.idempotency_key,
      r.subject,
      r.now,
      toCents(r.discount),
    );
    if (status === 'redeemed' || status === 'duplicate') {
      const rec = parseRecord(String(detail));
      if (rec.subject !== r.subject) return { status: 'idempotency_conflict' };
      return {
        status,
        redemption_id: redemptionId(id, rec.n),
        discount: fromCents(rec.x),
        budget_left: rec.left === '' ? null : fromCents(Number(rec.left)),
      };
    }
    if (status === 'not_found') return { status };
    return { status, budget_left: budgetLeft(centsOrNull(budget), Number(detail)) };
  }

  async status(ids: readonly string[]): Promise<Map<string, CouponStatus>> {
    const pipe = this.redis.pipeline();
    // `stock` is written with every definition: its absence means an unknown coupon (the
    // definition JSON itself is not needed here, and this runs on every search and feed).
    for (const id of ids) pipe.hmget(this.keys.coupon(id), 'stock', 'claimed', 'redeemed', 'spent', 'budget');
    const res = (await pipe.exec()) ?? [];
    const out = new Map<string, CouponStatus>();
    res.forEach(([err, value], i) => {
      if (err) throw err;
      const [stock, claimed, redeemed, spent, budget] = value as Array<string | null>;
      if (stock === null || stock === undefined) return;
      out.set(
        ids[i]!,
        toStatus({
          stock: Number(stock),
          claimed: Number(claimed ?? 0),
          redeemed: Number(redeemed ?? 0),
          spent_cents: Number(spent ?? 0),
          budget_cents: centsOrNull(budget),
        }),
      );
    });
    return out;
  }

  async claimsOf(subject: string, ids: readonly string[]): Promise<Map<string, number>> {
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hget(this.keys.holders(id), subject);
    const res = (await pipe.exec()) ?? [];
    return new Map(
      ids.map((id, i) => {
        const [err, value] = res[i]!;
        if (err) throw err;
        return [id, Number(value ?? 0)];
      }),
    );
  }

  dependencies(): Dependency[] {
    // Its own connection to the behaviour state's Redis: checked on its own, named apart.
    return [redisDependency(this.redis, this.opts.url, 'redis (coupon ledger)')];
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
