import type { BehaviorConfig } from './config.ts';
import type { BehaviorEvent } from './event.ts';

/**
 * What the consumer keeps per shopper (a user, or an anonymous session until it is linked).
 * Decayed quantities are stored as their value at `ts` (the latest event time applied); a
 * reader decays them further to its own "now". Because an old event is added already decayed
 * to `ts`, the sums do not depend on the order events arrive in.
 */
export interface UserState {
  subject: string;
  /** Bumped on every write; production stores use it for optimistic concurrency. */
  version: number;
  /** Latest event time applied (epoch ms). */
  ts: number;
  /** Decayed, type-weighted sum of product embeddings: this visit's interest. */
  short: number[] | null;
  /** Same with a long half-life: lasting taste. */
  long: number[] | null;
  /** Most recent first, one entry per product. */
  recent: Array<{ id: string; ts: number; w: number }>;
  categories: Record<string, number>;
  brands: Record<string, number>;
  /** Decayed weight and weighted sum of log(price) of the products engaged with. */
  price: { w: number; log_sum: number };
  coupons: { claimed: number; redeemed: number; coupon_purchases: number };
  counts: { view: number; click: number; add_to_cart: number; purchase: number; impression: number };
  /** Most recent first. */
  purchased: string[];
  /** Products shown most recently first (impressions). */
  shown: string[];
  /** Set on a session once it is linked: its events and feed now belong to this user. */
  linked_to?: string;
}

/** What the reducer needs to know about a product: its embedding and filterable attributes. */
export interface ItemInfo {
  vector?: Float32Array | undefined;
  categoryKey?: string | undefined;
  brandKey?: string | undefined;
  price?: number | undefined;
}

/** Everything one batch of events changes besides user states; stores apply these additively. */
export interface ItemEffects {
  /** Popularity increments, per scope ("" = all products, else a category path prefix). */
  trending: Array<{ scope: string; id: string; w: number; ts: number }>;
  /** Item-to-item co-occurrence increments: earlier → later item, and the backward pair scaled by `cooc_backward_weight`. */
  cooc: Array<{ a: string; b: string; w: number }>;
  /** Undecayed interaction totals per product, to normalise co-occurrence. */
  counts: Array<{ id: string; w: number }>;
}

export function emptyUserState(subject: string): UserState {
  return {
    subject,
    version: 0,
    ts: 0,
    short: null,
    long: null,
    recent: [],
    categories: {},
    brands: {},
    price: { w: 0, log_sum: 0 },
    coupons: { claimed: 0, redeemed: 0, coupon_purchases: 0 },
    counts: { view: 0, click: 0, add_to_cart: 0, purchase: 0, impression: 0 },
    purchased: [],
    shown: [],
  };
}

/** 2^(-Δt/h): the factor a quantity decays by over Δt. */
export function decayFactor(dtMs: number, halfLifeMs: number): number {
  return Math.pow(2, -dtMs / halfLifeMs);
}

type Engagement = 'view' | 'click' | 'add_to_cart' | 'purchase';
const ENGAGEMENTS = new Set<string>(['view', 'click', 'add_to_cart', 'purchase']);

/** Category path and its prefixes, so a click on "sports/shoes/running" counts for "sports". */
export function categoryScopes(categoryKey: string | undefined): string[] {
  if (!categoryKey) return [];
  const parts = categoryKey
    .split('/')
    .map((s) => s.trim())
    .filter(Boolean);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * Applies a batch of events, in order, to the user states it touches. `users` must hold the
 * state of every subject the events name (empty states for new ones) and of every user a
 * named session is linked to; it is updated in place and the changed states are returned.
 * Pure apart from that: the same events on the same states always give the same result.
 *
 * With `now` (the consumer's clock), an event more than `cfg.max_future_skew_ms` ahead of it is
 * not applied but returned in `skipped`: decay is in event time, so one event from the far future
 * would decay every count and vector to nothing (and move the trending epoch past every real event).
 */
export function applyEvents(
  events: readonly BehaviorEvent[],
  users: Map<string, UserState>,
  items: ReadonlyMap<string, ItemInfo>,
  cfg: BehaviorConfig,
  opts: { now?: number } = {},
): { changed: UserState[]; effects: ItemEffects; skipped: BehaviorEvent[] } {
  const changed = new Set<UserState>();
  const effects: ItemEffects = { trending: [], cooc: [], counts: [] };
  const skipped: BehaviorEvent[] = [];
  const latest = opts.now === undefined ? Infinity : opts.now + cfg.max_future_skew_ms;
  const stateOf = (subject: string): UserState => {
    let s = users.get(subject);
    if (!s) {
      s = emptyUserState(subject);
      users.set(subject, s);
    }
    return s;
  };
  /** A linked session writes to its user. */
  const resolve = (subject: string): UserState => {
    const s = stateOf(subject);
    return s.linked_to !== undefined ? stateOf(s.linked_to) : s;
  };

  for (const e of events) {
    if (e.ts > latest) {
      skipped.push(e);
      continue;
    }
    if (e.session_id !== undefined && e.user_id !== undefined) {
      const session = stateOf(`s:${e.session_id}`);
      const user = stateOf(`u:${e.user_id}`);
      if (session.linked_to === undefined) {
        mergeInto(user, session, cfg);
        const linked = emptyUserState(session.subject);
        linked.version = session.version;
        linked.ts = session.ts;
        linked.linked_to = user.subject;
        users.set(session.subject, linked);
        changed.delete(session);
        changed.add(linked).add(user);
      }
    }
    if (e.type === 'identify') continue;
    const state = e.user_id !== undefined ? stateOf(`u:${e.user_id}`) : resolve(`s:${e.session_id!}`);
    changed.add(state);
    applyOne(state, e, e.product_id !== undefined ? items.get(e.product_id) : undefined, cfg, effects);
  }
  for (const s of changed) s.version++;
  return { changed: [...changed], effects, skipped };
}

function applyOne(
  s: UserState,
  e: BehaviorEvent,
  item: ItemInfo | undefined,
  cfg: BehaviorConfig,
  fx: ItemEffects,
): void {
  const { ts } = e;
  switch (e.type) {
    case 'impression':
      s.counts.impression++;
      s.shown = pushFront(s.shown, e.product_id!, cfg.shown_items);
      s.ts = Math.max(s.ts, ts);
      return;
    case 'coupon_claim':
      s.coupons.claimed++;
      s.ts = Math.max(s.ts, ts);
      return;
    case 'coupon_redeem':
      s.coupons.redeemed++;
      s.ts = Math.max(s.ts, ts);
      return;
    default:
      break;
  }
  if (!ENGAGEMENTS.has(e.type)) return;
  const type = e.type as Engagement;
  const w = cfg.weights[type];
  const id = e.product_id!;
  s.counts[type]++;
  if (type === 'purchase') {
    s.purchased = pushFront(s.purchased, id, cfg.purchased_items);
    if (e.coupon_id !== undefined) s.coupons.coupon_purchases++;
  }

  // Everything is kept as of the newest event time; an older event is added pre-decayed.
  const now = Math.max(s.ts, ts);
  const age = now - ts;
  if (now > s.ts && s.ts > 0) {
    const dt = now - s.ts;
    s.short = scale(s.short, decayFactor(dt, cfg.short_half_life_ms));
    s.long = scale(s.long, decayFactor(dt, cfg.long_half_life_ms));
    const fa = decayFactor(dt, cfg.affinity_half_life_ms);
    scaleRecord(s.categories, fa);
    scaleRecord(s.brands, fa);
    s.price = { w: s.price.w * fa, log_sum: s.price.log_sum * fa };
  }
  s.ts = now;

  if (item?.vector) {
    s.short = addScaled(s.short, item.vector, w * decayFactor(age, cfg.short_half_life_ms));
    s.long = addScaled(s.long, item.vector, w * decayFactor(age, cfg.long_half_life_ms));
  }
  const wa = w * decayFactor(age, cfg.affinity_half_life_ms);
  if (item?.categoryKey) s.categories[item.categoryKey] = (s.categories[item.categoryKey] ?? 0) + wa;
  if (item?.brandKey) s.brands[item.brandKey] = (s.brands[item.brandKey] ?? 0) + wa;
  prune(s.categories, cfg.affinities);
  prune(s.brands, cfg.affinities);
  const price = e.price ?? item?.price;
  if (price !== undefined && price > 0)
    s.price = { w: s.price.w + wa, log_sum: s.price.log_sum + wa * Math.log(price) };

  // Co-occurrence with what the shopper touched just before; dwelling on one product (repeat
  // views of the item already most recent) is one visit, not new evidence.
  const repeat = s.recent[0]?.id === id;
  const previous = repeat
    ? []
    : s.recent.filter((r) => r.id !== id && ts - r.ts <= cfg.cooc_max_gap_ms && r.ts <= ts).slice(0, cfg.cooc_window);
  previous.forEach((r, i) => {
    const pw = 1 / (i + 1);
    // Forward pair (what follows r) at full weight, backward (what preceded id) scaled.
    fx.cooc.push({ a: r.id, b: id, w: pw });
    if (cfg.cooc_backward_weight > 0) fx.cooc.push({ a: id, b: r.id, w: pw * cfg.cooc_backward_weight });
  });
  fx.counts.push({ id, w: 1 });
  for (const scope of ['', ...categoryScopes(item?.categoryKey)]) fx.trending.push({ scope, id, w, ts });

  const existing = s.recent.find((r) => r.id === id);
  const entry = { id, ts: Math.max(ts, existing?.ts ?? 0), w: (existing?.w ?? 0) + w };
  s.recent = [entry, ...s.recent.filter((r) => r.id !== id)].sort((a, b) => b.ts - a.ts).slice(0, cfg.recent_items);
}

/** A session's history joins its user's when the shopper logs in. */
function mergeInto(user: UserState, session: UserState, cfg: BehaviorConfig): void {
  if (session.ts === 0 && session.recent.length === 0 && session.shown.length === 0) return;
  const now = Math.max(user.ts, session.ts);
  const align = (s: UserState, h: number) => decayFactor(now - s.ts, h);
  const add = (a: number[] | null, fa: number, b: number[] | null, fb: number): number[] | null => {
    if (!a) return b ? b.map((x) => x * fb) : null;
    if (!b) return a.map((x) => x * fa);
    return a.map((x, i) => x * fa + b[i]! * fb);
  };
  user.short = add(
    user.short,
    align(user, cfg.short_half_life_ms),
    session.short,
    align(session, cfg.short_half_life_ms),
  );
  user.long = add(user.long, align(user, cfg.long_half_life_ms), session.long, align(session, cfg.long_half_life_ms));
  const fu = align(user, cfg.affinity_half_life_ms);
  const fs = align(session, cfg.affinity_half_life_ms);
  for (const [rec, srec] of [
    [user.categories, session.categories],
    [user.brands, session.brands],
  ] as const) {
    scaleRecord(rec, fu);
    for (const [k, v] of Object.entries(srec)) rec[k] = (rec[k] ?? 0) + v * fs;
    prune(rec, cfg.affinities);
  }
  user.price = {
    w: user.price.w * fu + session.price.w * fs,
    log_sum: user.price.log_sum * fu + session.price.log_sum * fs,
  };
  const recent = new Map<string, { id: string; ts: number; w: number }>();
  for (const r of [...user.recent, ...session.recent]) {
    const prev = recent.get(r.id);
    recent.set(r.id, prev ? { id: r.id, ts: Math.max(prev.ts, r.ts), w: prev.w + r.w } : { ...r });
  }
  user.recent = [...recent.values()].sort((a, b) => b.ts - a.ts).slice(0, cfg.recent_items);
  user.purchased = [...new Set([...session.purchased, ...user.purchased])].slice(0, cfg.purchased_items);
  user.shown = [...new Set([...session.shown, ...user.shown])].slice(0, cfg.shown_items);
  for (const k of Object.keys(user.counts) as Array<keyof UserState['counts']>) user.counts[k] += session.counts[k];
  for (const k of Object.keys(user.coupons) as Array<keyof UserState['coupons']>) user.coupons[k] += session.coupons[k];
  user.ts = now;
}

function pushFront(list: string[], id: string, cap: number): string[] {
  if (cap === 0) return [];
  return [id, ...list.filter((x) => x !== id)].slice(0, cap);
}

function scale(v: number[] | null, f: number): number[] | null {
  return v ? v.map((x) => x * f) : null;
}

function addScaled(v: number[] | null, x: Float32Array, f: number): number[] {
  const out = v ? v.slice() : new Array<number>(x.length).fill(0);
  if (out.length !== x.length) throw new Error(`embedding has ${x.length} dimensions, user vector ${out.length}`);
  for (let i = 0; i < x.length; i++) out[i]! += x[i]! * f;
  return out;
}

function scaleRecord(r: Record<string, number>, f: number): void {
  for (const k of Object.keys(r)) r[k]! *= f;
}

/** Keeps the `cap` largest entries, so a long-lived user's state stays small. */
function prune(r: Record<string, number>, cap: number): void {
  const keys = Object.keys(r);
  if (keys.length <= cap) return;
  keys.sort((a, b) => r[b]! - r[a]! || (a < b ? -1 : 1));
  for (const k of keys.slice(cap)) delete r[k];
}

/**
 * The vector the feed searches with: short- and long-term interest, each normalised and
 * decayed to `now`, blended so that this visit dominates while it is fresh.
 */
export function queryVector(
  s: UserState,
  now: number,
  cfg: BehaviorConfig,
  shortWeight = 0.7,
): Float32Array | undefined {
  const parts: Array<[number[] | null, number]> = [
    [s.short, shortWeight * decayFactor(Math.max(0, now - s.ts), cfg.short_half_life_ms)],
    [s.long, (1 - shortWeight) * decayFactor(Math.max(0, now - s.ts), cfg.long_half_life_ms)],
  ];
  let out: Float32Array | undefined;
  for (const [v, w] of parts) {
    if (!v || w <= 0) continue;
    const n = Math.hypot(...v);
    if (n === 0) continue;
    out ??= new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i]! += (v[i]! / n) * w;
  }
  if (!out) return undefined;
  const n = Math.hypot(...out);
  return n > 0 ? out.map((x) => x / n) : undefined;
}

/** Affinities decayed to `now`, best first. */
export function topAffinities(r: Record<string, number>, k: number): Array<{ key: string; weight: number }> {
  return Object.entries(r)
    .map(([key, weight]) => ({ key, weight }))
    .sort((a, b) => b.weight - a.weight || (a.key < b.key ? -1 : 1))
    .slice(0, k);
}

/** Geometric mean price of what the shopper engages with, when known. */
export function priceBand(s: UserState): number | undefined {
  return s.price.w > 0 ? Math.exp(s.price.log_sum / s.price.w) : undefined;
}
