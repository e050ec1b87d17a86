import { mulberry32, type Rng } from '../../core/rng.ts';
import { buyProb, clickProb, drawQuery, examine, type SimUser, type World } from './world.ts';

/**
 * Simulated shoppers driving a running service over HTTP, as a shop's front end would: they
 * search, open their feed and similar items, click what interests them (by the hidden preferences
 * of world.ts and the position they see it at), add to cart and buy, and send those events with
 * the response's request_id — so the served log, the events and any experiment running on the
 * service fill up exactly as with real traffic, and the reports (eval/report/) can be shown and
 * tested without a real shop. Some purchases come later from "checkout", naming no request_id,
 * to exercise attribution by click window.
 */

/** How the simulator reaches the service: `fetch` on a base URL, or a Hono app's `request`. */
export type ServiceRequest = (path: string, init?: RequestInit) => Promise<Response>;

export const httpService =
  (baseUrl: string): ServiceRequest =>
  (p, init) =>
    fetch(new URL(p, baseUrl), init);

export interface OnlineOptions {
  request: ServiceRequest;
  world: World;
  /** Visits per shopper (each: one search or feed request, and maybe similar items). Default 3. */
  visits?: number;
  seed?: number;
  /** Page size asked for. Default 10. */
  size?: number;
  /** Share of purchases sent later without a request_id. Default 0.3. */
  checkoutShare?: number;
}

export interface OnlineSummary {
  shoppers: number;
  requests: number;
  clicks: number;
  carts: number;
  purchases: number;
  /** Responses per experiment arm (`<id>/<arm>`), and `none` for the defaults. */
  by_arm: Record<string, number>;
}

interface Item {
  id: string;
  price?: number;
}
interface Page {
  request_id: string;
  items: Item[];
  experiment?: { id: string; arm: string };
}

export async function driveService(o: OnlineOptions): Promise<OnlineSummary> {
  const rng = mulberry32(o.seed ?? 7);
  const visits = o.visits ?? 3;
  const size = o.size ?? 10;
  const summary: OnlineSummary = { shoppers: 0, requests: 0, clicks: 0, carts: 0, purchases: 0, by_arm: {} };
  let eventNo = 0;
  const get = async (p: string): Promise<Page> => {
    const res = await o.request(p);
    if (res.status !== 200) throw new Error(`GET ${p}: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as Page;
    summary.requests++;
    const arm = page.experiment ? `${page.experiment.id}/${page.experiment.arm}` : 'none';
    summary.by_arm[arm] = (summary.by_arm[arm] ?? 0) + 1;
    return page;
  };
  const send = async (events: object[]) => {
    if (events.length === 0) return;
    const res = await o.request('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    if (res.status !== 200) throw new Error(`POST /v1/events: ${res.status} ${await res.text()}`);
  };

  for (const user of o.world.users) {
    summary.shoppers++;
    const who = `user_id=${encodeURIComponent(user.id)}`;
    const later: object[] = [];
    for (let v = 0; v < visits; v++) {
      const page =
        rng() < 0.6
          ? await get(`/v1/search?q=${encodeURIComponent(drawQuery(user, o.world, rng))}&size=${size}&${who}`)
          : await get(`/v1/feed?${who}&size=${size}`);
      const events = react(user, o.world, page, rng, () => `sim-${o.seed ?? 7}-${eventNo++}`, o.checkoutShare ?? 0.3);
      const clicked = events.now.filter((e) => e.type === 'click');
      // A click opens the product page: its similar items, served and reacted to too.
      if (clicked.length > 0 && rng() < 0.5) {
        const sim = await get(`/v1/products/${encodeURIComponent(clicked[0]!.product_id)}/similar?size=6&${who}`);
        const more = react(user, o.world, sim, rng, () => `sim-${o.seed ?? 7}-${eventNo++}`, o.checkoutShare ?? 0.3);
        events.now.push(...more.now);
        events.later.push(...more.later);
      }
      for (const e of events.now)
        summary[e.type === 'click' ? 'clicks' : e.type === 'add_to_cart' ? 'carts' : 'purchases']++;
      summary.purchases += events.later.length;
      await send(events.now);
      later.push(...events.later);
    }
    await send(later);
  }
  return summary;
}

interface SimEvent {
  event_id: string;
  type: 'click' | 'add_to_cart' | 'purchase';
  user_id: string;
  product_id: string;
  request_id?: string;
  position?: number;
  price?: number;
  ts: number;
}

/** What one shopper does with one page: examine top-down, click, maybe cart and buy. */
function react(
  user: SimUser,
  world: World,
  page: Page,
  rng: Rng,
  nextId: () => string,
  checkoutShare: number,
): { now: SimEvent[]; later: Array<SimEvent> } {
  const now: SimEvent[] = [];
  const later: SimEvent[] = [];
  const ts = Date.now();
  page.items.forEach((item, slot) => {
    const p = world.byId.get(item.id);
    if (!p || rng() >= examine(slot) || rng() >= clickProb(user, p)) return;
    const base = { user_id: user.id, product_id: item.id, ts };
    now.push({ ...base, event_id: nextId(), type: 'click', request_id: page.request_id, position: slot });
    if (rng() >= buyProb(user, p) * 1.3) return;
    now.push({ ...base, event_id: nextId(), type: 'add_to_cart', request_id: page.request_id });
    if (rng() >= 0.7) return;
    const buy: SimEvent = { ...base, event_id: nextId(), type: 'purchase', price: item.price ?? 0 };
    if (rng() < checkoutShare) later.push({ ...buy, ts: ts + 1 });
    else now.push({ ...buy, request_id: page.request_id });
  });
  return { now, later };
}
