import { describe, expect, it } from 'vitest';
import { matchSet } from './match-set.ts';

describe('matchSet', () => {
  it('holds every lexical hit and the vector hits at or above the threshold', () => {
    const set = matchSet(
      {
        bm25: [{ id: 'lex', score: 3, coverage: 0.5 }],
        vector: [
          { id: 'close', score: 0.5 },
          { id: 'edge', score: 0.35 },
          { id: 'far', score: 0.2 },
          { id: 'lex', score: 0.1 },
        ],
      },
      0.35,
    );
    expect([...set].sort()).toEqual(['close', 'edge', 'lex']);
  });

  it('is empty when nothing matched lexically and every neighbour is below the threshold', () => {
    expect(matchSet({ bm25: [], vector: [{ id: 'charger', score: 0.22 }] }, 0.35).size).toBe(0);
    // Uncalibrated (-1): every neighbour counts.
    expect(matchSet({ bm25: [], vector: [{ id: 'charger', score: 0.22 }] }, -1).size).toBe(1);
  });
});
