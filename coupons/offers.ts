import type { Surface } from '../core/candidate.ts';
import type { UserState } from '../behavior/user-state.ts';
import { loadShopper, type Shopper, type StateStore } from '../behavior/state-store.ts';
import { attachCoupons, bestOffers, offerable, type CouponPageItem } from './attach.ts';
import type { CouponConfig } from './config.ts';
import { isLive, type Coupon } from './coupon.ts';
import type { CouponLedger } from './ledger.ts';

/** What this stage reads from the ledger: definitions, stock/budget, the shopper's claims. */
export type CouponReader = Pick<CouponLedger, 'list' | 'status' | 'claimsOf'>;

export interface CouponPageRequest {
  surface: Surface;
  /**
   * Who is shopping: their subject (`u:<user>` or `s:<session>`), read here; or their state when
   * the caller already read it (loadShopper: the subject is then the resolved one). Absent: an
   * anonymous search (priors, no claims held).
   */
  shopper?: string | Shopper | undefined;
  debug: boolean;
  /** This request's value threshold and boost (an experiment arm's); default: the stage's settings. */
  settings?: Pick<CouponConfig, 'min_value' | 'boost'> | undefined;
  /** The ranker's post-click conversion per item, when a model served (ranking/apply.ts served entries). */
  pCvr?: ReadonlyMap<string, number> | undefined;
  now?: number;
}

export interface CouponPage<T> {
  items: T[];
  /** Set when the ledger or state failed: the page is served without coupons. */
  degraded?: { route: 'coupons'; reason: string };
  debug?: { live: number; offered: number; attached: number; min_value: number; boost: number };
}

/**
 * The coupon stage of /v1/search and /v1/feed, run on the final page items (after ranking and
 * diversity). Coupon definitions are read once per `cache_ms` for all requests; stock/budget
 * status, the shopper's claims and state once per request, and only when some coupon is live. Any failure serves the page without coupons and says so (`degraded`, and
 * the `onDegraded` hook: `shelf_coupon_degraded_total`): coupons never fail a search.
 */
export class CouponOffers {
  private cached: { at: number; coupons: Coupon[] } | undefined;
  private loading: Promise<Coupon[]> | undefined;

  constructor(
    private readonly ledger: CouponReader,
    private readonly cfg: CouponConfig,
    private readonly deps: {
      state?: StateStore | undefined;
      /** Metrics hooks (core/metrics.ts): items shown with a coupon, pages served without coupons. */
      onAttached?: ((surface: Surface, n: number) => void) | undefined;
      onDegraded?: ((surface: Surface) => void) | undefined;
    } = {},
  ) {}

  /** The stage's settings (a request may override min_value and boost). */
  get config(): CouponConfig {
    return this.cfg;
  }

  async apply<T extends CouponPageItem>(items: T[], req: CouponPageRequest): Promise<CouponPage<T>> {
    if (!this.cfg.enabled || items.length === 0) return { items };
    const cfg = req.settings ? { ...this.cfg, ...req.settings } : this.cfg;
    const now = req.now ?? Date.now();
    try {
      const current = (await this.definitions(now)).filter((c) => isLive(c, now));
      if (current.length === 0) return { items, ...(req.debug && { debug: debugOf(cfg, 0, 0, 0) }) };
      const ids = current.map((c) => c.id);
      // Stock and budget are read for every request (one batched read, beside the claims): a
      // coupon that just ran out is never shown, whatever the definitions' cache. A session
      // linked to a user claims as that user (src/api/coupons.ts), so the claims read follows
      // the state's link.
      const [status, shopper] = await Promise.all([
        this.ledger.status(ids),
        (typeof req.shopper === 'object' ? Promise.resolve(req.shopper) : this.shopper(req.shopper)).then(
          async (sh) => ({
            ...sh,
            claims: sh.subject !== undefined ? await this.ledger.claimsOf(sh.subject, ids) : undefined,
          }),
        ),
      ]);
      const live = offerable(current, status, undefined, now);
      if (live.length === 0) return { items, ...(req.debug && { debug: debugOf(cfg, 0, 0, 0) }) };
      const { user, claims } = shopper;
      const available = live.filter((c) => (claims?.get(c.id) ?? 0) < c.per_user_limit);
      const offers = bestOffers(items, available, { user, now, status, pCvr: req.pCvr }, cfg);
      const out = attachCoupons(items, offers, cfg, req.debug);
      const attached = out.filter((it) => (it as { coupon?: unknown }).coupon !== undefined).length;
      if (attached > 0) this.deps.onAttached?.(req.surface, attached);
      return { items: out, ...(req.debug && { debug: debugOf(cfg, live.length, offers.size, attached) }) };
    } catch (err) {
      this.deps.onDegraded?.(req.surface);
      return { items, degraded: { route: 'coupons', reason: (err as Error).message } };
    }
  }

  /** Definitions, shared by all requests for `cache_ms` (they change rarely); one ledger read in flight at a time. */
  private async definitions(now: number): Promise<Coupon[]> {
    const c = this.cached;
    if (c && now - c.at < this.cfg.cache_ms && now >= c.at) return c.coupons;
    this.loading ??= (async () => {
      // Ended coupons stay in the ledger for its records; only those that can still go live matter here.
      const coupons = (await this.ledger.list()).filter((x) => x.active && x.valid_until > now);
      this.cached = { at: now, coupons };
      return coupons;
    })().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async shopper(
    subject: string | undefined,
  ): Promise<{ user: UserState | undefined; subject: string | undefined }> {
    const state = this.deps.state;
    if (subject === undefined || !state) return { user: undefined, subject };
    return loadShopper(state, subject);
  }
}

function debugOf(cfg: Pick<CouponConfig, 'min_value' | 'boost'>, live: number, offered: number, attached: number) {
  return { live, offered, attached, min_value: cfg.min_value, boost: cfg.boost };
}
