import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExperimentSchema, type Experiment, type ExperimentInput } from '../../pipeline/experiments/experiment.ts';
import type { ExperimentStore } from '../../pipeline/experiments/store.ts';
import type { StoreHarness } from './stores.ts';

export interface ExperimentStoreHarness extends StoreHarness<ExperimentStore> {
  /** Another connection to the same data (the caller closes it): a second service instance. */
  connect(): Promise<ExperimentStore>;
}

export const T0 = Date.parse('2026-06-01T12:00:00Z');

export function experiment(over: Partial<ExperimentInput> = {}): Experiment {
  return {
    ...ExperimentSchema.parse({
      id: 'fusion-w05',
      surface: 'search',
      status: 'running',
      arms: [
        { name: 'control', weight: 50 },
        { name: 'b', weight: 50, overrides: { 'retrieval.weights.vector': 0.5 } },
      ],
      ...over,
    }),
    created_at: T0,
  };
}

/**
 * One suite for every ExperimentStore: SQLite in the unit tests, Redis in the integration suite.
 * The harness's open() gives a new, empty store; connect() a second instance on the same data.
 */
export function experimentStoreConformance(name: string, harness: () => ExperimentStoreHarness) {
  describe(`ExperimentStore conformance: ${name}`, () => {
    let h: ExperimentStoreHarness;
    let store: ExperimentStore;
    const extra: ExperimentStore[] = [];
    beforeEach(async () => {
      h = harness();
      store = await h.open();
    });
    afterEach(async () => {
      await Promise.all(extra.splice(0).map((s) => s.close()));
      await store.close();
      await h.cleanup();
    });
    const connect = async () => {
      const s = await h.connect();
      extra.push(s);
      return s;
    };

    it('creates once, reads back exactly what it stored, lists by id', async () => {
      expect(await store.get('fusion-w05')).toBeUndefined();
      expect(await store.list()).toEqual([]);
      const e = experiment({ description: 'vector weight ½', start: T0, end: T0 + 86_400_000 });
      expect(await store.create(e)).toBe('created');
      expect(await store.get('fusion-w05')).toEqual(e);
      expect(await store.create(experiment({ surface: 'feed' }))).toBe('exists');
      expect((await store.get('fusion-w05'))!.surface).toBe('search');
      await store.create(experiment({ id: 'a-feed', surface: 'feed' }));
      expect((await store.list()).map((x) => x.id)).toEqual(['a-feed', 'fusion-w05']);
    });

    it('keeps an arm without overrides as an empty map, and nested override values intact', async () => {
      const e = experiment({
        arms: [
          { name: 'control', weight: 1 },
          { name: 'b', weight: 3, overrides: { 'diversity.feed': { lambda: 0.5, max_per_brand: 2 } } },
        ],
      });
      await store.create(e);
      const back = (await store.get(e.id))!;
      expect(back.arms[0]!.overrides).toEqual({});
      expect(back.arms[1]).toEqual({
        name: 'b',
        weight: 3,
        overrides: { 'diversity.feed': { lambda: 0.5, max_per_brand: 2 } },
      });
    });

    it('moves the status, records when it stopped, and says when there is no such experiment', async () => {
      await store.create(experiment({ status: 'draft' }));
      expect(await store.setStatus('missing', 'stopped', T0)).toBeUndefined();
      const running = await store.setStatus('fusion-w05', 'running', T0 + 1);
      expect(running!.status).toBe('running');
      expect(running!.stopped_at).toBeUndefined();
      const stopped = await store.setStatus('fusion-w05', 'stopped', T0 + 2);
      expect(stopped).toMatchObject({ status: 'stopped', stopped_at: T0 + 2 });
      expect(await store.get('fusion-w05')).toEqual(stopped);
    });

    it('is shared by every instance: a stop made by one is read by another at once', async () => {
      const other = await connect();
      await store.create(experiment());
      expect((await other.get('fusion-w05'))!.status).toBe('running');
      await other.setStatus('fusion-w05', 'stopped', T0 + 5);
      expect((await store.get('fusion-w05'))!.status).toBe('stopped');
      expect(await other.create(experiment())).toBe('exists');
    });

    it('survives a restart', async () => {
      await store.create(experiment());
      await store.setStatus('fusion-w05', 'stopped', T0 + 5);
      store = await h.reopen(store);
      expect(await store.get('fusion-w05')).toMatchObject({ status: 'stopped', stopped_at: T0 + 5 });
    });

    it('concurrent creates of one id: exactly one wins', async () => {
      const other = await connect();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).create(experiment({ description: `#${i}` }))),
      );
      expect(results.filter((r) => r === 'created')).toHaveLength(1);
    });
  });
}
