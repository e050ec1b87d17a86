import { sign, verify } from 'hono/jwt';
import {
  JwtTokenExpired,
  JwtTokenIssuedAt,
  JwtTokenNotBefore,
  JwtTokenSignatureMismatched,
} from 'hono/utils/jwt/types';

/**
 * Shopper tokens: which shopper a browser or app speaks for, signed by the shop's back end.
 *
 * A token is a JWT signed with HMAC-SHA256 (`HS256`) under `SHELF_SHOPPER_TOKEN_SECRET`, over the
 * shopper's ids and an expiry: `{"sub": user_id, "sid": session_id, "exp": seconds}` (at least one
 * of `sub` and `sid`; `exp` required). The back end mints one when the shopper logs in or a
 * session starts (as Algolia's secured API keys are minted), with this module, `npm run config --
 * shopper-token`, or any JWT library in its own language; the service only verifies it. A token
 * cannot be forged or edited without the secret, so a shopper can only ever act as themselves.
 */

export interface ShopperClaims {
  user_id?: string | undefined;
  session_id?: string | undefined;
  /** Expiry, epoch ms (whole seconds: a JWT's `exp` is in seconds). */
  expires_at: number;
}

export interface MintOptions {
  user_id?: string | undefined;
  session_id?: string | undefined;
  /** Lifetime, ms. */
  ttlMs: number;
  /** The clock (default Date.now). */
  now?: number;
}

/** The header a shopper-facing request carries its token in. */
export const SHOPPER_TOKEN_HEADER = 'X-Shopper-Token';
/** Shortest secret accepted (settings `service.trust.shopper_token_secret`). */
export const MIN_SECRET_CHARS = 32;

/** Signs a shopper token: what the shop's back end gives the shopper's browser or app. */
export async function mintShopperToken(secret: string, opts: MintOptions): Promise<string> {
  if (secret.length < MIN_SECRET_CHARS) throw new Error(`the secret must be at least ${MIN_SECRET_CHARS} characters`);
  if (opts.user_id === undefined && opts.session_id === undefined)
    throw new Error('a shopper token names a user_id, a session_id, or both');
  if (!(opts.ttlMs > 0)) throw new Error('the token must live a positive time');
  const now = opts.now ?? Date.now();
  return sign(
    {
      ...(opts.user_id !== undefined && { sub: opts.user_id }),
      ...(opts.session_id !== undefined && { sid: opts.session_id }),
      iat: Math.floor(now / 1000),
      exp: Math.floor((now + opts.ttlMs) / 1000),
    },
    secret,
    'HS256',
  );
}

/** Why a token was refused: `token_expired`, or `invalid_token` (forged, edited, malformed, not yet valid). */
export class TokenRejected extends Error {
  constructor(
    readonly code: 'invalid_token' | 'token_expired',
    message: string,
  ) {
    super(message);
  }
}

const idClaim = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 128 ? v : undefined);

/** The shopper a token names, or TokenRejected. Only HS256 is accepted (no `none`, no algorithm switch). */
export async function verifyShopperToken(secret: string, token: string): Promise<ShopperClaims> {
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, secret, 'HS256');
  } catch (err) {
    if (err instanceof JwtTokenExpired) throw new TokenRejected('token_expired', 'the shopper token has expired');
    if (err instanceof JwtTokenSignatureMismatched)
      throw new TokenRejected('invalid_token', 'the shopper token is not signed by this shop');
    if (err instanceof JwtTokenNotBefore || err instanceof JwtTokenIssuedAt)
      throw new TokenRejected('invalid_token', 'the shopper token is not valid yet');
    throw new TokenRejected('invalid_token', 'the shopper token is malformed');
  }
  const user_id = idClaim(payload.sub);
  const session_id = idClaim(payload.sid);
  if (typeof payload.exp !== 'number')
    throw new TokenRejected('invalid_token', 'the shopper token has no expiry (exp)');
  if (user_id === undefined && session_id === undefined)
    throw new TokenRejected('invalid_token', 'the shopper token names no shopper (sub or sid)');
  return { user_id, session_id, expires_at: payload.exp * 1000 };
}
