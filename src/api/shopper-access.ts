import type { Context } from 'hono';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metrics } from '../../core/metrics.ts';
import type { TrustSettings } from '../settings/schema.ts';
import { SHOPPER_TOKEN_HEADER, TokenRejected, verifyShopperToken } from '../trust/shopper-token.ts';
import { ApiError } from './errors.ts';

/**
 * Who a shopper-facing request speaks for, and whether it may.
 *
 * With `service.trust.shopper_token_secret` set, a request names its shopper by a signed token
 * (`X-Shopper-Token`, src/trust/shopper-token.ts) and the token's ids are the ones used: a
 * `user_id` or `session_id` in the request must be the token's (or absent), else 403
 * `token_mismatch`. A request with the server key (`Authorization: Bearer`, the shop's back
 * end) may act for any shopper. Money events (purchase, coupon_redeem, coupon_claim) and coupon
 * redemptions need the server key once a secret or a server key is set. With neither set, the
 * request's ids are trusted as they come: development only.
 */

export interface Shopper {
  user_id?: string | undefined;
  session_id?: string | undefined;
}

/** Events that move money or ledger counts: only the shop's back end (or the service itself) records them. */
export const MONEY_EVENTS: ReadonlySet<string> = new Set(['purchase', 'coupon_redeem', 'coupon_claim']);

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export interface ShopperAccessOptions {
  trust: TrustSettings;
  metrics: Metrics;
  /** The per-shopper rate limit (src/api/limits.ts); undefined: none. */
  limit?: ((key: string) => Promise<void>) | undefined;
}

export class ShopperAccess {
  private readonly serverKey: Buffer | undefined;
  readonly secret: string | undefined;

  constructor(private readonly opts: ShopperAccessOptions) {
    this.secret = opts.trust.shopper_token_secret;
    this.serverKey = opts.trust.server_api_key === undefined ? undefined : sha256(opts.trust.server_api_key);
  }

  /** Shopper tokens are required (a secret is set). */
  get tokensRequired(): boolean {
    return this.secret !== undefined;
  }

  /** Money events and redemptions need the server key (a secret or a server key is set). */
  get serverKeyRequired(): boolean {
    return this.secret !== undefined || this.serverKey !== undefined;
  }

  /** Whether the request carries the server key (no error either way: the rate limiter's question). */
  presentsServerKey(c: Context): boolean {
    const m = /^Bearer\s+(.+)$/i.exec(c.req.header('Authorization') ?? '');
    return !!m && !!this.serverKey && timingSafeEqual(sha256(m[1]!.trim()), this.serverKey);
  }

  /**
   * Whether the request carries the server key. A bearer that is not the key is a 401 (a
   * misconfigured back end should hear so, not be served as an anonymous shopper).
   */
  isServer(c: Context): boolean {
    const m = /^Bearer\s+(.+)$/i.exec(c.req.header('Authorization') ?? '');
    if (!m || !this.serverKey) return false;
    if (timingSafeEqual(sha256(m[1]!.trim()), this.serverKey)) return true;
    throw this.reject(401, 'invalid_server_key', 'the Authorization bearer is not the server key');
  }

  /** Server-key check for the money paths: 401 `server_key_required` without it (when one is required). */
  requireServer(c: Context, what: string): void {
    if (!this.serverKeyRequired || this.isServer(c)) return;
    throw this.reject(401, 'server_key_required', `${what} needs the server key (Authorization: Bearer …)`);
  }

  /**
   * The shopper a request acts for. `requested`: the ids in the request; `required`: the endpoint
   * needs a shopper (the feed, coupons), else an anonymous request passes (search). Takes one
   * request from the shopper's rate limit.
   */
  async shopper(c: Context, requested: Shopper, opts: { required: boolean }): Promise<Shopper> {
    const s = await this.resolve(c, requested, opts.required);
    const key =
      s.user_id !== undefined ? `u:${s.user_id}` : s.session_id !== undefined ? `s:${s.session_id}` : undefined;
    if (key !== undefined && this.opts.limit) await this.opts.limit(key);
    return s;
  }

  /** The token's shopper, when the request carries one (TokenRejected → 401). */
  async token(c: Context): Promise<Shopper | undefined> {
    const raw = c.req.header(SHOPPER_TOKEN_HEADER);
    if (raw === undefined || this.secret === undefined) return undefined;
    try {
      const t = await verifyShopperToken(this.secret, raw.trim());
      return { user_id: t.user_id, session_id: t.session_id };
    } catch (err) {
      if (err instanceof TokenRejected) throw this.reject(401, err.code, err.message);
      throw err;
    }
  }

  /** 403 unless every id the request names is the token's. */
  matching(token: Shopper, requested: Shopper): Shopper {
    for (const k of ['user_id', 'session_id'] as const) {
      if (requested[k] !== undefined && requested[k] !== token[k])
        throw this.reject(403, 'token_mismatch', `${k} is not the shopper token's`, k);
    }
    return { ...token };
  }

  private async resolve(c: Context, requested: Shopper, required: boolean): Promise<Shopper> {
    if (!this.tokensRequired || this.isServer(c)) return requested;
    const token = await this.token(c);
    if (token) return this.matching(token, requested);
    if (required || requested.user_id !== undefined || requested.session_id !== undefined)
      throw this.reject(
        401,
        'shopper_token_required',
        `a shopper token (${SHOPPER_TOKEN_HEADER}, signed by the shop's back end) is required to act for a shopper`,
      );
    return {};
  }

  reject(status: 401 | 403, code: string, message: string, field?: string): ApiError {
    this.opts.metrics.authRejected.inc({ code });
    return new ApiError(status, code, message, field);
  }
}
