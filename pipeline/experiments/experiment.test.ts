import { describe, expect, it } from 'vitest';
import { assignArm, ExperimentSchema, liveState, servingOn, type Experiment } from './experiment.ts';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const exp = (o: Record<string, unknown> = {}): Experiment => ({
  ...ExperimentSchema.parse({
    id: 'x',
    surface: 'search',
    status: 'running',
    arms: [
      { name: 'control', weight: 50 },
      { name: 'b', weight: 50 },
    ],
    ...o,
  }),
  created_at: T0,
});

describe('experiment assignment', () => {
  it('keeps a shopper in one arm and splits shoppers by the weights', () => {
    const e = exp({
      arms: [
        { name: 'control', weight: 20 },
        { name: 'b', weight: 80 },
      ],
    });
    const counts = { control: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 10_000; i++) {
      const arm = assignArm(e, `u:${i}`).name;
      expect(assignArm(e, `u:${i}`).name).toBe(arm);
      counts[arm]!++;
    }
    expect(counts.control! / 10_000).toBeGreaterThan(0.18);
    expect(counts.control! / 10_000).toBeLessThan(0.22);
  });

  it('splits independently across experiments', () => {
    const a = exp({ id: 'a' });
    const b = exp({ id: 'b' });
    let same = 0;
    for (let i = 0; i < 4000; i++) if (assignArm(a, `u:${i}`).name === assignArm(b, `u:${i}`).name) same++;
    expect(same / 4000).toBeGreaterThan(0.45);
    expect(same / 4000).toBeLessThan(0.55);
  });

  it('serves only a running experiment inside its window, on its surface', () => {
    const e = exp({ start: T0, end: T0 + 1000, surface: 'feed' });
    expect(liveState(e, T0 - 1)).toBe('scheduled');
    expect(liveState(e, T0)).toBe('running');
    expect(liveState(e, T0 + 1000)).toBe('ended');
    expect(servingOn([e], 'feed', T0 + 1)?.id).toBe('x');
    expect(servingOn([e], 'search', T0 + 1)).toBeUndefined();
    expect(servingOn([{ ...e, status: 'stopped' }], 'feed', T0 + 1)).toBeUndefined();
    expect(servingOn([exp({ surface: 'all' })], 'similar', T0)?.id).toBe('x');
  });

  it('refuses duplicate arm names, one arm, and an end before the start', () => {
    expect(() => exp({ arms: [{ name: 'a', weight: 1 }] })).toThrow(/at least two arms/);
    expect(() =>
      exp({
        arms: [
          { name: 'a', weight: 1 },
          { name: 'a', weight: 1 },
        ],
      }),
    ).toThrow(/unique/);
    expect(() => exp({ start: T0, end: T0 })).toThrow(/after start/);
    expect(exp({ start: '2026-06-01T12:00:00Z' }).start).toBe(T0);
  });
});
