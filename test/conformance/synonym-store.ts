import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SynonymStore } from '../../retrieval/index/synonyms.ts';
import type { StoreHarness } from './stores.ts';

/** One suite for every synonym store: embedded SQLite in the unit tests, Elasticsearch in the integration suite. */
export function synonymStoreConformance(name: string, harness: () => StoreHarness<SynonymStore>) {
  describe(`SynonymStore conformance: ${name}`, () => {
    let h: StoreHarness<SynonymStore>;
    let store: SynonymStore;
    beforeEach(async () => {
      h = harness();
      store = await h.open();
    });
    afterEach(async () => {
      await store.close();
      await h.cleanup();
    });

    it('starts empty at version 0, replaces the whole set with a new version each time, clears', async () => {
      expect(await store.get()).toEqual({ version: 0, synonyms: [] });
      const rules = [['tv', 'television'], { from: 'notebook', to: ['laptop'] }];
      const v1 = await store.put(rules);
      expect(v1).toMatchObject({ version: 1, synonyms: rules });
      expect(await store.get()).toEqual(v1);
      const v2 = await store.put([['sofa', 'couch']]);
      expect(v2).toMatchObject({ version: 2, synonyms: [['sofa', 'couch']] });
      const cleared = await store.clear();
      expect(cleared).toMatchObject({ version: 3, synonyms: [] });
      expect(Date.parse(cleared.updated_at!)).toBeGreaterThan(0);
    });

    it('keeps the set across a restart', async () => {
      await store.put([['tv', 'television']]);
      store = await h.reopen(store);
      expect(await store.get()).toMatchObject({ version: 1, synonyms: [['tv', 'television']] });
    });
  });
}
