import { defaultBehaviorConfig } from '../../behavior/config.ts';
import { applyBatch } from '../../behavior/consumer.ts';
import {
  BehaviorEventSchema,
  partitionKey,
  type BehaviorEvent,
  type BehaviorEventInput,
} from '../../behavior/event.ts';
import type { StreamRecord } from '../../behavior/event-log.ts';
import { staticItems } from '../../behavior/item-lookup.ts';
import type { StateStore } from '../../behavior/state-store.ts';
import type { ItemInfo, UserState } from '../../behavior/user-state.ts';
import { mulberry32 } from '../../core/rng.ts';

/** Shared by the behaviour conformance suites and the end-to-end consumer tests. */
export const behaviorConfig = defaultBehaviorConfig();
export const DAY = 86_400_000;
/** Event time well in the past, so "decayed to now" is a real decay, and whole days for readability. */
export const T0 = Math.floor(Date.now() / DAY) * DAY - 60 * DAY;

export const ITEMS = new Map<string, ItemInfo>([
  ['shoe', { vector: new Float32Array([1, 0, 0]), categoryKey: 'sports/shoes', brandKey: 'acme', price: 100 }],
  ['sock', { vector: new Float32Array([0.8, 0.6, 0]), categoryKey: 'sports/socks', brandKey: 'acme', price: 10 }],
  ['pan', { vector: new Float32Array([0, 0, 1]), categoryKey: 'kitchen', brandKey: 'chef', price: 40 }],
  ['pot', { vector: new Float32Array([0, 0.6, 0.8]), categoryKey: 'kitchen/pots', brandKey: 'chef', price: 60 }],
  ['hat', { vector: new Float32Array([0.6, 0, 0.8]), categoryKey: 'clothing/hats', brandKey: 'acme', price: 25 }],
]);
export const PRODUCTS = [...ITEMS.keys()];
export const items = staticItems(ITEMS);

const run = Math.random().toString(36).slice(2, 8);
let seq = 0;
/** A valid event; ids are unique across the whole test process unless given. */
export function ev(e: Partial<BehaviorEventInput> & Pick<BehaviorEventInput, 'type'>): BehaviorEvent {
  return BehaviorEventSchema.parse({ event_id: `e-${run}-${++seq}`, user_id: 'u1', ts: T0, ...e });
}

let position = 0;
/** Stream records as a log would deliver them, each at a new position. */
export function toRecords(events: ReadonlyArray<BehaviorEvent | string>): StreamRecord[] {
  return events.map((e) =>
    typeof e === 'string'
      ? { position: `${++position}`, key: undefined, value: e }
      : { position: `${++position}`, key: partitionKey(e), value: JSON.stringify(e) },
  );
}

export function applyRecords(store: StateStore, records: readonly StreamRecord[]) {
  return applyBatch(records, { state: store, items, config: behaviorConfig });
}

export const apply = (store: StateStore, events: ReadonlyArray<BehaviorEvent | string>) =>
  applyRecords(store, toRecords(events));

/**
 * A seeded shopping stream: users and anonymous sessions browsing, buying, logging in. Events
 * of one subject are in time order; subjects interleave. With `partitionSafe`, no event joins
 * a session to a user, so each subject's state depends only on its own events, whatever order
 * a partitioned log interleaves them in.
 */
export function shoppingStream(opts: {
  seed: number;
  events: number;
  subjects?: number;
  partitionSafe?: boolean;
}): BehaviorEvent[] {
  const r = mulberry32(opts.seed);
  const n = opts.subjects ?? 12;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const clock = Array.from({ length: n }, () => T0 + Math.floor(r() * DAY));
  const out: BehaviorEvent[] = [];
  for (let i = 0; i < opts.events; i++) {
    const s = Math.floor(r() * n);
    clock[s]! += Math.floor(r() * 3_600_000);
    // Every third subject is an anonymous session; the one before it is the user it logs in as.
    const who = s % 3 === 2 ? { session_id: `s${s}`, user_id: undefined } : { user_id: `u${s}` };
    const roll = r();
    if (!opts.partitionSafe && s % 3 === 2 && roll < 0.04) {
      out.push(ev({ type: 'identify', session_id: `s${s}`, user_id: `u${s - 1}`, ts: clock[s]! }));
      continue;
    }
    const type =
      roll < 0.25
        ? 'impression'
        : roll < 0.65
          ? 'view'
          : roll < 0.85
            ? 'click'
            : roll < 0.95
              ? 'add_to_cart'
              : 'purchase';
    out.push(ev({ type, product_id: pick(PRODUCTS), ts: clock[s]!, ...who }));
  }
  return out;
}

/** Everything a store exposes about the given subjects and products, in comparable form. */
export async function snapshot(store: StateStore, subjects: readonly string[]) {
  const scopes = ['', 'sports', 'sports/shoes', 'kitchen', 'kitchen/pots', 'clothing'];
  const trending: Record<string, Array<{ id: string; rel: number }>> = {};
  for (const s of scopes) trending[s] = relative(await store.trending(s, 10));
  const cooc: Record<string, Array<{ id: string; score: number }>> = {};
  for (const p of PRODUCTS) cooc[p] = await store.cooccurring(p, 10);
  return {
    users: Object.fromEntries([...(await store.getUsers(subjects))].sort(([a], [b]) => (a < b ? -1 : 1))) as Record<
      string,
      UserState
    >,
    trending,
    cooc,
    counts: Object.fromEntries(await store.itemCounts(PRODUCTS)),
    dead: (await store.deadLetters(100)).map(({ position, raw, reason }) => ({ position, raw, reason })),
  };
}

/**
 * Trending scores as fractions of the top one, to 12 significant digits: "decayed to now"
 * moves with the clock between two reads, their ratios do not.
 */
export function relative(rows: ReadonlyArray<{ id: string; score: number }>): Array<{ id: string; rel: number }> {
  const top = rows[0]?.score ?? 1;
  return rows.map((r) => ({ id: r.id, rel: Number((r.score / top).toPrecision(12)) }));
}

/** Every number in a JSON-like value, to 12 significant digits. */
export function roundDeep<T>(x: T): T {
  if (typeof x === 'number') return Number(x.toPrecision(12)) as T;
  if (Array.isArray(x)) return x.map(roundDeep) as T;
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, roundDeep(v)])) as T;
  return x;
}

export function subjectsOf(events: readonly BehaviorEvent[]): string[] {
  const s = new Set<string>();
  for (const e of events) {
    if (e.user_id !== undefined) s.add(`u:${e.user_id}`);
    if (e.session_id !== undefined) s.add(`s:${e.session_id}`);
  }
  return [...s].sort();
}

/** Users without the write counter, which depends on how events were split into batches. */
export function withoutVersions(users: Record<string, UserState>): Record<string, Omit<UserState, 'version'>> {
  return Object.fromEntries(Object.entries(users).map(([k, { version: _v, ...rest }]) => [k, rest]));
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
