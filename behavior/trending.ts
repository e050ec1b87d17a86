/**
 * Forward decay (Cormode et al., 2009) for trending counters: an event of weight w at time t
 * adds w·2^((t − epoch)/h). Ordering by the stored sum equals ordering by the exponentially
 * decayed count at any later time, so counters are only ever incremented — which Redis
 * ZINCRBY and SQLite UPSERT do atomically — and never rewritten on read.
 */
export interface ForwardDecay {
  epoch: number;
  halfLifeMs: number;
}

/** Past this exponent the stored sums are rescaled, long before doubles overflow (2^1023). */
export const RESCALE_EXPONENT = 500;

export function forwardWeight(w: number, ts: number, d: ForwardDecay): number {
  return w * Math.pow(2, (ts - d.epoch) / d.halfLifeMs);
}

/**
 * The epoch to move to before adding an event at `ts`, or undefined if none is needed. Depends
 * only on the event times, so a replay rescales at the same points and gives the same sums.
 */
export function nextEpoch(ts: number, d: ForwardDecay): number | undefined {
  return (ts - d.epoch) / d.halfLifeMs > RESCALE_EXPONENT ? ts : undefined;
}

/** Multiplier that re-expresses sums kept at `from` relative to epoch `to`. */
export function rescaleFactor(from: number, to: number, halfLifeMs: number): number {
  return Math.pow(2, -(to - from) / halfLifeMs);
}

/** The decayed count at `now`, from a stored sum. */
export function decayedAt(sum: number, now: number, d: ForwardDecay): number {
  return sum * Math.pow(2, (d.epoch - now) / d.halfLifeMs);
}
