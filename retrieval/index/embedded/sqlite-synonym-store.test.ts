import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { synonymStoreConformance } from '../../../test/conformance/synonym-store.ts';
import { tempDir } from '../../../test/helpers/catalog.ts';
import { CachedSynonyms, compileSynonyms } from '../synonyms.ts';
import { SqliteSynonymStore } from './sqlite-synonym-store.ts';

synonymStoreConformance('SQLite', () => {
  const dir = tempDir('synonyms');
  return {
    open: async () => new SqliteSynonymStore(dir),
    reopen: async (s) => {
      await s.close();
      return new SqliteSynonymStore(dir);
    },
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

describe('compiled synonyms', () => {
  it('expands multi-way sets every way and one-way rules one way, analysed like queries', () => {
    const c = compileSynonyms({
      version: 2,
      synonyms: [['TV', 'Television', 'flat screen'], { from: 'Notebook', to: ['laptop'] }],
    });
    expect(c.map.get('tv')).toEqual(['television', 'flat screen']);
    expect(c.map.get('flat screen')).toEqual(['tv', 'television']);
    expect(c.map.get('notebook')).toEqual(['laptop']);
    expect(c.map.get('laptop')).toBeUndefined();
    expect(c.maxTokens).toBe(2);
  });

  it('reads the store once per cache period, and at once after invalidate()', async () => {
    const dir = tempDir('synonyms');
    const store = new SqliteSynonymStore(dir);
    const cached = new CachedSynonyms(store, 60_000);
    expect((await cached.current()).version).toBe(0);
    await store.put([['tv', 'television']]);
    expect((await cached.current()).version).toBe(0);
    cached.invalidate();
    expect((await cached.current()).version).toBe(1);
    await store.close();
  });
});
