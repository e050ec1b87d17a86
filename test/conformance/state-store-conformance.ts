import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateConflictError, type StateCommit, type StateStore } from '../../behavior/state-store.ts';
import { emptyUserState, type ItemEffects, type UserState } from '../../behavior/user-state.ts';
import {
  apply,
  applyRecords,
  DAY,
  ev,
  relative,
  roundDeep,
  shoppingStream,
  snapshot,
  subjectsOf,
  T0,
  toRecords,
  withoutVersions,
} from '../helpers/behavior-stream.ts';
import type { StoreHarness } from './stores.ts';

const noEffects = (): ItemEffects => ({ trending: [], cooc: [], counts: [] });
const commitOf = (c: Partial<StateCommit>): StateCommit => ({
  eventIds: [],
  users: [],
  effects: noEffects(),
  deadLetters: [],
  ...c,
});
const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id);

function user(subject: string, version: number, extra: Partial<UserState> = {}): UserState {
  return { ...emptyUserState(subject), version, ts: T0, ...extra };
}

/**
 * One behaviour suite for every StateStore: the embedded SQLite store in the unit tests, Redis
 * in the integration suite. The harness's open() gives a new, empty store whose trending
 * half-life is defaultBehaviorConfig()'s (one day); reopen() simulates a process restart.
 */
export function stateStoreConformance(name: string, harness: () => StoreHarness<StateStore>) {
  describe(`StateStore conformance: ${name}`, () => {
    let h: StoreHarness<StateStore>;
    let store: StateStore;
    const extra: Array<{ h: StoreHarness<StateStore>; s: StateStore }> = [];
    /** A second, independent empty store, closed and cleaned up with the first. */
    const another = async () => {
      const h2 = harness();
      const s = await h2.open();
      extra.push({ h: h2, s });
      return s;
    };
    beforeEach(async () => {
      h = harness();
      store = await h.open();
    });
    afterEach(async () => {
      await store.close();
      await h.cleanup();
      for (const e of extra.splice(0)) {
        await e.s.close();
        await e.h.cleanup();
      }
    });

    it('returns user states exactly as committed, and nothing for unknown subjects', async () => {
      const u = user('u:ann', 1, {
        short: [0.1, -0.25, 1 / 3],
        recent: [{ id: 'shoe', ts: T0, w: 2 }],
        categories: { sports: 1.5 },
      });
      const s = user('s:x1', 1, { linked_to: 'u:ann' });
      await store.commit(commitOf({ eventIds: ['c1'], users: [u, s] }));
      const got = await store.getUsers(['u:ann', 's:x1', 'u:nobody']);
      expect([...got.keys()].sort()).toEqual(['s:x1', 'u:ann']);
      expect(got.get('u:ann')).toEqual(u);
      expect(got.get('s:x1')).toEqual(s);
      expect((await store.getUsers([])).size).toBe(0);
    });

    it('remembers which event ids it has applied', async () => {
      expect(await store.applied(['a1'])).toEqual(new Set());
      await store.commit(commitOf({ eventIds: ['a1', 'a2'], users: [user('u:a', 1)] }));
      expect(await store.applied(['a1', 'a2', 'a3'])).toEqual(new Set(['a1', 'a2']));
      expect(await store.applied([])).toEqual(new Set());
    });

    it('applies a redelivered batch once: the second delivery changes nothing', async () => {
      const events = [
        ev({ type: 'view', product_id: 'shoe' }),
        ev({ type: 'click', product_id: 'sock', ts: T0 + 60_000 }),
        ev({ type: 'purchase', product_id: 'sock', ts: T0 + 120_000, user_id: 'u2' }),
      ];
      const records = toRecords(events);
      expect((await applyRecords(store, records)).events).toHaveLength(3);
      const before = await snapshot(store, ['u:u1', 'u:u2']);
      const again = await applyRecords(store, records);
      expect(again).toEqual({ events: [], duplicates: 3, deadLetters: 0 });
      expect(await snapshot(store, ['u:u1', 'u:u2'])).toEqual(before);
      // A batch mixing old and new events applies only the new one.
      const more = await apply(store, [events[0]!, ev({ type: 'view', product_id: 'pan', ts: T0 + 180_000 })]);
      expect(more.events.map((e) => e.product_id)).toEqual(['pan']);
      expect(more.duplicates).toBe(1);
      expect((await store.itemCounts(['shoe', 'pan'])).get('shoe')).toBe(1);
    });

    it('rejects a commit made from a stale state with StateConflictError, writing none of it', async () => {
      await store.commit(commitOf({ eventIds: ['v1'], users: [user('u:a', 1)] }));
      const stale = commitOf({
        eventIds: ['v2'],
        users: [user('u:a', 1, { ts: T0 + 1 }), user('u:b', 1)],
        effects: {
          trending: [{ scope: '', id: 'pan', w: 1, ts: T0 }],
          cooc: [{ a: 'pan', b: 'pot', w: 1 }],
          counts: [{ id: 'pan', w: 1 }],
        },
        deadLetters: [{ position: 'x', raw: 'bad', reason: 'test', ts: T0 }],
      });
      const err = await store.commit(stale).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StateConflictError);
      expect((err as StateConflictError).subjects).toContain('u:a');
      expect(await store.applied(['v2'])).toEqual(new Set());
      expect((await store.getUsers(['u:a', 'u:b'])).get('u:a')).toEqual(user('u:a', 1));
      expect((await store.getUsers(['u:b'])).size).toBe(0);
      expect(await store.trending('', 5)).toEqual([]);
      expect(await store.cooccurring('pan', 5)).toEqual([]);
      expect((await store.itemCounts(['pan'])).size).toBe(0);
      expect(await store.deadLetters(5)).toEqual([]);
      // A subject that does not exist yet is at version 0: writing version 2 means a lost read.
      await expect(store.commit(commitOf({ users: [user('u:new', 2)] }))).rejects.toBeInstanceOf(StateConflictError);
      // The next version is accepted.
      await store.commit(commitOf({ users: [user('u:a', 2)] }));
      expect((await store.getUsers(['u:a'])).get('u:a')!.version).toBe(2);
    });

    it('lets exactly one of two racing writers of the same state win', async () => {
      await store.commit(commitOf({ users: [user('u:a', 1)] }));
      const results = await Promise.allSettled([
        store.commit(commitOf({ eventIds: ['r1'], users: [user('u:a', 2, { ts: T0 + 1 })] })),
        store.commit(commitOf({ eventIds: ['r2'], users: [user('u:a', 2, { ts: T0 + 2 })] })),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(StateConflictError);
      expect((await store.applied(['r1', 'r2'])).size).toBe(1);
    });

    it('ranks trending by decayed weight, within each category scope', async () => {
      // Day 0: three clicks on shoe (3 × 2). Day 3: two clicks on pan (2 × 2), one view of sock (1).
      // Decayed to day 3 with a one-day half-life: pan 4, sock 1, shoe 6/8.
      await apply(store, [
        ...[0, 1, 2].map((i) => ev({ type: 'click', product_id: 'shoe', user_id: `t${i}` })),
        ev({ type: 'click', product_id: 'pan', user_id: 't3', ts: T0 + 3 * DAY }),
        ev({ type: 'click', product_id: 'pan', user_id: 't4', ts: T0 + 3 * DAY }),
        ev({ type: 'view', product_id: 'sock', user_id: 't5', ts: T0 + 3 * DAY }),
      ]);
      const all = await store.trending('', 10);
      expect(ids(all)).toEqual(['pan', 'sock', 'shoe']);
      expect(all[0]!.score / all[1]!.score).toBeCloseTo(4, 9);
      expect(all[1]!.score / all[2]!.score).toBeCloseTo(1 / 0.75, 9);
      expect(all.every((r) => Number.isFinite(r.score) && r.score > 0)).toBe(true);
      expect(ids(await store.trending('', 2))).toEqual(['pan', 'sock']);
      expect(ids(await store.trending('sports', 10))).toEqual(['sock', 'shoe']);
      expect(ids(await store.trending('sports/shoes', 10))).toEqual(['shoe']);
      expect(ids(await store.trending('kitchen', 10))).toEqual(['pan']);
      expect(await store.trending('toys', 10)).toEqual([]);
      expect(await store.trending('', 0)).toEqual([]);
    });

    it('gives the same trending whatever order events arrive in (forward decay)', async () => {
      const events = [
        ev({ type: 'click', product_id: 'shoe', user_id: 'o1' }),
        ev({ type: 'purchase', product_id: 'pan', user_id: 'o2', ts: T0 + DAY / 2 }),
        ev({ type: 'view', product_id: 'hat', user_id: 'o3', ts: T0 + 2 * DAY }),
        ev({ type: 'add_to_cart', product_id: 'pot', user_id: 'o4', ts: T0 + 5 * DAY }),
      ];
      await apply(store, events);
      const other = await another();
      for (const e of [...events].reverse()) await apply(other, [e]);
      expect(relative(await other.trending('', 10))).toEqual(relative(await store.trending('', 10)));
      // With a one-day half-life, relative to day 0: pot 4·2^5, pan 8·2^0.5, hat 1·2^2, shoe 2.
      expect(ids(await store.trending('', 10))).toEqual(['pot', 'pan', 'hat', 'shoe']);
    });

    it('keeps trending finite and ordered across thousands of half-lives', async () => {
      // 1,200 one-day half-lives: without rescaling, 2^1200 would overflow a double.
      const events = [
        ev({ type: 'purchase', product_id: 'pan', user_id: 'l1', ts: T0 - 1200 * DAY }),
        ev({ type: 'purchase', product_id: 'pot', user_id: 'l2', ts: T0 - 600 * DAY }),
        ev({ type: 'click', product_id: 'shoe', user_id: 'l3', ts: T0 - 2 * DAY }),
        ev({ type: 'view', product_id: 'sock', user_id: 'l4', ts: T0 }),
      ];
      await apply(store, events);
      const all = await store.trending('', 10);
      expect(ids(all)).toEqual(['sock', 'shoe', 'pot', 'pan']);
      expect(all.every((r) => Number.isFinite(r.score) && r.score >= 0)).toBe(true);
      expect(all[0]!.score / all[1]!.score).toBeCloseTo(2, 9);
      // Rescaling at different batch boundaries gives the same result.
      const other = await another();
      for (const e of events) await apply(other, [e]);
      expect(relative(await other.trending('', 10))).toEqual(relative(all));
      expect(ids(await other.trending('kitchen', 10))).toEqual(['pot', 'pan']);
    });

    it('ranks co-occurring products, strongest first, ties by id', async () => {
      // u1 views shoe, sock, pan in turn: pan pairs with sock (1) and shoe (1/2).
      await apply(store, [
        ev({ type: 'view', product_id: 'shoe' }),
        ev({ type: 'view', product_id: 'sock', ts: T0 + 60_000 }),
        ev({ type: 'view', product_id: 'pan', ts: T0 + 120_000 }),
      ]);
      expect(await store.cooccurring('pan', 10)).toEqual([
        { id: 'sock', score: 1 },
        { id: 'shoe', score: 0.5 },
      ]);
      expect(await store.cooccurring('sock', 10)).toEqual([
        { id: 'pan', score: 1 },
        { id: 'shoe', score: 1 },
      ]);
      expect(ids(await store.cooccurring('pan', 1))).toEqual(['sock']);
      expect(await store.cooccurring('hat', 10)).toEqual([]);
      // More evidence from another shopper reorders.
      await apply(store, [
        ev({ type: 'view', product_id: 'shoe', user_id: 'u2' }),
        ev({ type: 'view', product_id: 'pan', user_id: 'u2', ts: T0 + 60_000 }),
      ]);
      expect(await store.cooccurring('pan', 10)).toEqual([
        { id: 'shoe', score: 1.5 },
        { id: 'sock', score: 1 },
      ]);
    });

    it('keeps undecayed interaction counts per product', async () => {
      await apply(store, [
        ev({ type: 'view', product_id: 'shoe' }),
        ev({ type: 'click', product_id: 'shoe', ts: T0 + 1 }),
        ev({ type: 'view', product_id: 'shoe', user_id: 'u2', ts: T0 - 300 * DAY }),
        ev({ type: 'impression', product_id: 'pan' }),
        ev({ type: 'purchase', product_id: 'pot', user_id: 'u3' }),
      ]);
      const counts = await store.itemCounts(['shoe', 'pot', 'pan', 'nothing']);
      expect(Object.fromEntries(counts)).toEqual({ shoe: 3, pot: 1 });
      expect((await store.itemCounts([])).size).toBe(0);
    });

    it('dead-letters records it cannot use, newest first, and keeps applying the rest', async () => {
      const records = toRecords([
        ev({ type: 'view', product_id: 'shoe' }),
        '{not json',
        JSON.stringify({ event_id: 'x', type: 'teleport', user_id: 'u', ts: T0 }),
      ]);
      const r = await applyRecords(store, records);
      expect(r.events).toHaveLength(1);
      expect(r.deadLetters).toBe(2);
      const dead = await store.deadLetters(10);
      expect(dead.map((d) => d.position)).toEqual([records[2]!.position, records[1]!.position]);
      expect(dead[1]!.raw).toBe('{not json');
      expect(dead[1]!.reason).toMatch(/not JSON/);
      expect(dead[0]!.reason).toMatch(/invalid event: type/);
      expect(dead.every((d) => typeof d.ts === 'number')).toBe(true);
      expect(await store.deadLetters(1)).toHaveLength(1);
      expect((await store.itemCounts(['shoe'])).get('shoe')).toBe(1);
    });

    it('keeps a redelivered dead letter once', async () => {
      const records = toRecords(['{not json', ev({ type: 'view', product_id: 'shoe' })]);
      await applyRecords(store, records);
      await applyRecords(store, records);
      expect((await store.deadLetters(10)).map((d) => d.position)).toEqual([records[0]!.position]);
    });

    it('keeps everything across a restart', async () => {
      const events = shoppingStream({ seed: 7, events: 120 });
      const records = toRecords([...events.slice(0, 60), 'garbage', ...events.slice(60)]);
      await applyRecords(store, records.slice(0, 50));
      await applyRecords(store, records.slice(50));
      const subjects = subjectsOf(events);
      const before = await snapshot(store, subjects);
      expect(Object.keys(before.users).length).toBeGreaterThan(5);
      store = await h.reopen(store);
      expect(await snapshot(store, subjects)).toEqual(before);
      expect((await store.applied(events.map((e) => e.event_id))).size).toBe(events.length);
      expect((await applyRecords(store, records)).duplicates).toBe(events.length);
    });

    it('replays deterministically: the same stream gives the same state in a fresh store', async () => {
      const events = shoppingStream({ seed: 42, events: 400 });
      const records = toRecords(events);
      const other = await another();
      for (let i = 0; i < records.length; i += 25) {
        await applyRecords(store, records.slice(i, i + 25));
        await applyRecords(other, records.slice(i, i + 25));
      }
      const subjects = subjectsOf(events);
      const a = await snapshot(store, subjects);
      expect(Object.keys(a.users).length).toBe(subjects.length);
      expect(a.trending['']!.length).toBe(5);
      expect(await snapshot(other, subjects)).toEqual(a);
    });

    it('does not depend on how the stream was split into batches', async () => {
      const events = shoppingStream({ seed: 43, events: 300 });
      const records = toRecords(events);
      const other = await another();
      for (let i = 0; i < records.length; i += 100) await applyRecords(store, records.slice(i, i + 100));
      for (let i = 0; i < records.length; i += 7) await applyRecords(other, records.slice(i, i + 7));
      const subjects = subjectsOf(events);
      // Same additions in the same order, but a store may keep partial sums at another
      // precision between commits (SQLite does): equal to 12 significant digits.
      const [a, b] = [roundDeep(await snapshot(store, subjects)), roundDeep(await snapshot(other, subjects))];
      expect(withoutVersions(b.users)).toEqual(withoutVersions(a.users));
      expect(b.trending).toEqual(a.trending);
      expect(b.cooc).toEqual(a.cooc);
      expect(b.counts).toEqual(a.counts);
    });
  });
}
