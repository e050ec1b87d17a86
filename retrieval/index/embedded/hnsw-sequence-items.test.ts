import { sequenceItemIndexConformance } from '../../../test/conformance/sequence-items.ts';
import { hnswSequenceIndexes, HnswSequenceItems } from './hnsw-sequence-items.ts';
import { describe, expect, it } from 'vitest';

sequenceItemIndexConformance('hnswlib (embedded)', () => ({
  indexes: () => hnswSequenceIndexes(),
  persistent: false,
  cleanup: async () => {},
}));

describe('HnswSequenceItems', () => {
  it('grows past its initial capacity (new products arrive after the table)', async () => {
    const index = new HnswSequenceItems(2, 1, 1.5);
    const n = 100;
    await index.upsert(
      Array.from({ length: n }, (_, i) => `p${i}`),
      Array.from({ length: n }, (_, i) => Float32Array.from([Math.cos(i / 10), Math.sin(i / 10)])),
    );
    expect(await index.count()).toBe(n);
    expect((await index.search(Float32Array.from([Math.cos(5), Math.sin(5)]), 1))[0]!.id).toBe('p50');
  });
});
