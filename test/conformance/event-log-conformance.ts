import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { partitionKey, type BehaviorEvent } from '../../behavior/event.ts';
import type { ConsumeOptions, EventLog, StreamRecord, Subscription } from '../../behavior/event-log.ts';
import { ev, T0, waitFor } from '../helpers/behavior-stream.ts';
import type { StoreHarness } from './stores.ts';

/** A consumer that records what it was handed; `fail(n)` makes its next n calls throw. */
function recorder() {
  const handled: StreamRecord[] = [];
  const failedBatches: StreamRecord[][] = [];
  let failures = 0;
  return {
    handled,
    failedBatches,
    fail: (n: number) => (failures = n),
    handler: async (batch: StreamRecord[]) => {
      if (failures > 0) {
        failures--;
        failedBatches.push(batch);
        throw new Error('handler failed (test)');
      }
      handled.push(...batch);
    },
    eventIds: () => handled.map((r) => (JSON.parse(r.value) as BehaviorEvent).event_id),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 400));
let groups = 0;
const group = () => `g-${process.pid}-${Date.now().toString(36)}-${++groups}`;

/**
 * One behaviour suite for every EventLog: the embedded SQLite log in the unit tests, Kafka in
 * the integration suite. The harness's open() gives a log on a new, empty stream; reopen()
 * closes it and opens the same stream again, as a restarted process would.
 */
export function eventLogConformance(name: string, harness: () => StoreHarness<EventLog>) {
  describe(`EventLog conformance: ${name}`, () => {
    let h: StoreHarness<EventLog>;
    let log: EventLog;
    const subs: Subscription[] = [];
    const consume = async (opts: ConsumeOptions, handler: (b: StreamRecord[]) => Promise<void>) => {
      const s = await log.consume(opts, handler);
      subs.push(s);
      return s;
    };
    beforeEach(async () => {
      h = harness();
      log = await h.open();
    });
    afterEach(async () => {
      for (const s of subs.splice(0)) await s.stop();
      await log.close();
      await h.cleanup();
    });

    it('delivers every appended event, each shopper in order', async () => {
      const shoppers = ['ann', 'bob', 'cy'];
      const sent: BehaviorEvent[] = [];
      for (let round = 0; round < 5; round++) {
        const events = shoppers.flatMap((u) =>
          [0, 1, 2].map((i) => ev({ type: 'view', product_id: `p${i}`, user_id: u, ts: T0 + round * 10 + i })),
        );
        await log.append(events);
        sent.push(...events);
      }
      await log.append([ev({ type: 'view', product_id: 'p9', session_id: 'anon', user_id: undefined })]);
      const r = recorder();
      await consume({ group: group(), fromBeginning: true }, r.handler);
      await waitFor(() => r.handled.length >= sent.length + 1, 'all records');
      const byKey = new Map<string, string[]>();
      for (const rec of r.handled) {
        const e = JSON.parse(rec.value) as BehaviorEvent;
        expect(rec.key).toBe(partitionKey(e));
        byKey.set(rec.key!, [...(byKey.get(rec.key!) ?? []), e.event_id]);
      }
      for (const u of shoppers)
        expect(byKey.get(`u:${u}`)).toEqual(sent.filter((e) => e.user_id === u).map((e) => e.event_id));
      expect(byKey.get('s:anon')).toHaveLength(1);
      expect(new Set(r.handled.map((x) => x.position)).size).toBe(r.handled.length);
      const first = JSON.parse(r.handled.find((x) => x.key === 'u:ann')!.value) as BehaviorEvent;
      expect(first).toEqual(JSON.parse(JSON.stringify(sent[0])));
    });

    it('redelivers a batch whose handler failed, and loses nothing', async () => {
      const sent = Array.from({ length: 20 }, (_, i) =>
        ev({ type: 'click', product_id: 'p', user_id: `u${i % 4}`, ts: T0 + i }),
      );
      await log.append(sent);
      const r = recorder();
      r.fail(2);
      const errors: Error[] = [];
      await consume({ group: group(), fromBeginning: true, onError: (e) => errors.push(e) }, r.handler);
      await waitFor(() => r.handled.length >= sent.length, 'all records after the failures');
      await settle();
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(errors[0]!.message).toMatch(/handler failed/);
      expect(r.failedBatches).toHaveLength(2);
      const handledPositions = new Set(r.handled.map((x) => x.position));
      for (const rec of r.failedBatches.flat()) expect(handledPositions).toContain(rec.position);
      expect(r.eventIds().sort()).toEqual(sent.map((e) => e.event_id).sort());
    });

    it('resumes a group after its last committed position after a restart', async () => {
      const g = group();
      const first = Array.from({ length: 10 }, (_, i) =>
        ev({ type: 'view', product_id: 'p', user_id: `u${i % 3}`, ts: T0 + i }),
      );
      await log.append(first);
      const r1 = recorder();
      const s1 = await consume({ group: g, fromBeginning: true }, r1.handler);
      await waitFor(() => r1.handled.length >= 10, 'the first 10');
      await s1.stop();
      const second = Array.from({ length: 10 }, (_, i) =>
        ev({ type: 'view', product_id: 'q', user_id: `u${i % 3}`, ts: T0 + 100 + i }),
      );
      await log.append(second);
      log = await h.reopen(log);
      const r2 = recorder();
      await consume({ group: g, fromBeginning: true }, r2.handler);
      await waitFor(() => r2.handled.length >= 10, 'the next 10');
      await settle();
      expect(r1.eventIds().sort()).toEqual(first.map((e) => e.event_id).sort());
      expect(r2.eventIds().sort()).toEqual(second.map((e) => e.event_id).sort());
    });

    it('finishes and commits the batch in hand on stop', async () => {
      const g = group();
      const sent = Array.from({ length: 12 }, (_, i) =>
        ev({ type: 'view', product_id: 'p', user_id: `u${i % 4}`, ts: T0 + i }),
      );
      await log.append(sent);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const inHand: StreamRecord[] = [];
      let calls = 0;
      const s1 = await consume({ group: g, fromBeginning: true }, async (batch) => {
        if (calls++ > 0) throw new Error('only the first batch is handled before stop');
        await gate;
        inHand.push(...batch);
      });
      await waitFor(() => calls > 0, 'the first batch');
      const stopping = s1.stop();
      setTimeout(release, 100);
      await stopping;
      expect(inHand.length).toBeGreaterThan(0);
      const later = [ev({ type: 'view', product_id: 'z', user_id: 'u9', ts: T0 + 50 })];
      await log.append(later);
      const r2 = recorder();
      await consume({ group: g, fromBeginning: true }, r2.handler);
      const all = [...sent, ...later].map((e) => e.event_id).sort();
      await waitFor(() => inHand.length + r2.handled.length >= all.length, 'the rest');
      await settle();
      const first = inHand.map((x) => (JSON.parse(x.value) as BehaviorEvent).event_id);
      expect([...first, ...r2.eventIds()].sort()).toEqual(all);
    });

    it('replays everything to a new group that starts from the beginning', async () => {
      const sent = Array.from({ length: 8 }, (_, i) =>
        ev({ type: 'view', product_id: 'p', user_id: `u${i % 2}`, ts: T0 + i }),
      );
      await log.append(sent);
      const r1 = recorder();
      await consume({ group: group(), fromBeginning: true }, r1.handler);
      await waitFor(() => r1.handled.length >= 8, 'the first group');
      const r2 = recorder();
      await consume({ group: group(), fromBeginning: true }, r2.handler);
      await waitFor(() => r2.handled.length >= 8, 'the replaying group');
      await settle();
      expect(r2.eventIds().sort()).toEqual(sent.map((e) => e.event_id).sort());
      expect(r1.handled.length).toBe(8);
    });

    it('starts a new group without fromBeginning at the end, and keeps that start', async () => {
      await log.append([ev({ type: 'view', product_id: 'old', user_id: 'u1' })]);
      const g = group();
      const s1 = await consume({ group: g }, recorder().handler);
      await s1.stop();
      const fresh = [
        ev({ type: 'view', product_id: 'new', user_id: 'u1', ts: T0 + 1 }),
        ev({ type: 'view', product_id: 'new', user_id: 'u2', ts: T0 + 2 }),
      ];
      await log.append(fresh);
      const r = recorder();
      await consume({ group: g }, r.handler);
      await waitFor(() => r.handled.length >= 2, 'the events appended after the group started');
      await settle();
      expect(r.eventIds().sort()).toEqual(fresh.map((e) => e.event_id).sort());
    });

    it('carries records it cannot parse through as they are', async () => {
      await log.appendRaw([
        { key: 'k1', value: '{not json' },
        { value: JSON.stringify({ event_id: 'x', type: 'teleport' }) },
        { key: 'k1', value: '中文 ✓' },
      ]);
      const r = recorder();
      await consume({ group: group(), fromBeginning: true }, r.handler);
      await waitFor(() => r.handled.length >= 3, 'the raw records');
      const byValue = new Map(r.handled.map((x) => [x.value, x]));
      expect(byValue.get('{not json')!.key).toBe('k1');
      expect(byValue.get('中文 ✓')!.key).toBe('k1');
      expect(byValue.get('{"event_id":"x","type":"teleport"}')!.key).toBeUndefined();
      const k1 = r.handled.filter((x) => x.key === 'k1').map((x) => x.value);
      expect(k1).toEqual(['{not json', '中文 ✓']);
    });
  });
}
