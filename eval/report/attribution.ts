import type { ServedEntry } from '../../behavior/served-log.ts';

/**
 * What the shop's own logs say happened after each response: the served log (what was shown, to
 * whom, by which experiment arm) joined with the behaviour events. Clicks, carts, purchases and
 * coupon redemptions count for the response whose `request_id` they name; a purchase that names
 * none counts for the latest response in which the same shopper clicked the same product, within
 * `windowMs` before it. Pure: the callers read the logs.
 */

export interface LoggedEvent {
  type: string;
  user_id?: string;
  session_id?: string;
  product_id?: string;
  request_id?: string;
  price?: number;
  quantity?: number;
  coupon_id?: string;
  ts: number | string;
}

/** One response and what it led to. */
export interface Outcome {
  entry: ServedEntry;
  /** Products clicked, added to cart, bought (distinct per response). */
  clicks: Set<string>;
  carts: Set<string>;
  purchases: Set<string>;
  /** Revenue of the purchases credited to it (price × quantity). */
  revenue: number;
  /** Discount granted on redemptions credited to it. */
  couponCost: number;
  /** Clicked positions (0-based), for CTR by position. */
  clickedPositions: number[];
}

export interface Attribution {
  outcomes: Map<string, Outcome>;
  /** Coupon claims and redemptions seen (whatever the response), and the discount granted. */
  coupons: { claims: number; redemptions: number; spend: number };
  /** Redemptions naming no response: counted for the arm the shopper is in (see experiment.ts). */
  unattributedRedemptions: Array<{ subject: string; ts: number; discount: number }>;
  /** Purchases credited to a response: by request_id, or by a click within the window. */
  purchases: { by_request_id: number; by_click_window: number; unattributed: number };
}

const subjectOf = (e: LoggedEvent): string | undefined =>
  e.user_id !== undefined ? `u:${e.user_id}` : e.session_id !== undefined ? `s:${e.session_id}` : undefined;
const tsOf = (e: LoggedEvent): number => (typeof e.ts === 'number' ? e.ts : Date.parse(e.ts));

export function parseLines<T>(lines: Iterable<string>): T[] {
  const out: T[] = [];
  for (const raw of lines) {
    try {
      out.push(JSON.parse(raw) as T);
    } catch {
      // A malformed line is not data; the stream's dead-letter handling reports it elsewhere.
    }
  }
  return out;
}

export function attribute(
  served: readonly ServedEntry[],
  events: readonly LoggedEvent[],
  opts: { windowMs: number },
): Attribution {
  const outcomes = new Map<string, Outcome>();
  for (const entry of served)
    outcomes.set(entry.request_id, {
      entry,
      clicks: new Set(),
      carts: new Set(),
      purchases: new Set(),
      revenue: 0,
      couponCost: 0,
      clickedPositions: [],
    });
  // The latest click per (shopper, product): where a purchase without a request_id came from.
  const lastClick = new Map<string, { ts: number; request_id: string }>();
  const coupons = { claims: 0, redemptions: 0, spend: 0 };
  const unattributedRedemptions: Attribution['unattributedRedemptions'] = [];
  const purchases = { by_request_id: 0, by_click_window: 0, unattributed: 0 };
  const sorted = [...events].sort((a, b) => tsOf(a) - tsOf(b));
  for (const e of sorted) {
    const ts = tsOf(e);
    const subject = subjectOf(e);
    const named = e.request_id !== undefined ? outcomes.get(e.request_id) : undefined;
    switch (e.type) {
      case 'click': {
        if (!named || e.product_id === undefined) break;
        if (!named.clicks.has(e.product_id)) {
          named.clicks.add(e.product_id);
          const shown = named.entry.items.find((i) => i.id === e.product_id);
          if (shown) named.clickedPositions.push(shown.position);
        }
        if (subject !== undefined) lastClick.set(`${subject}\u0000${e.product_id}`, { ts, request_id: e.request_id! });
        break;
      }
      case 'add_to_cart':
        if (named && e.product_id !== undefined) named.carts.add(e.product_id);
        break;
      case 'purchase': {
        let to = named;
        if (to) purchases.by_request_id++;
        else if (subject !== undefined && e.product_id !== undefined) {
          const c = lastClick.get(`${subject}\u0000${e.product_id}`);
          if (c && ts - c.ts <= opts.windowMs && ts >= c.ts) {
            to = outcomes.get(c.request_id);
            if (to) purchases.by_click_window++;
          }
        }
        if (!to) {
          purchases.unattributed++;
          break;
        }
        if (e.product_id !== undefined) to.purchases.add(e.product_id);
        to.revenue += (e.price ?? 0) * (e.quantity ?? 1);
        break;
      }
      case 'coupon_claim':
        coupons.claims++;
        break;
      case 'coupon_redeem': {
        coupons.redemptions++;
        const discount = e.price ?? 0;
        coupons.spend += discount;
        if (named) named.couponCost += discount;
        else if (subject !== undefined) unattributedRedemptions.push({ subject, ts, discount });
        break;
      }
    }
  }
  return { outcomes, coupons, unattributedRedemptions, purchases };
}
