const DAY = 24 * 3_600_000;

/** User states expire after half a year without an event: the long-term taste has decayed to ~1/4 by then. */
export const DEFAULT_USER_TTL_MS = 180 * DAY;
/**
 * How long an applied event id (and a dead letter's position) is remembered. A copy of an
 * event redelivered after its marker expired is applied a second time, so this must be at
 * least the stream's retention (Kafka's default is 7 days).
 */
export const DEFAULT_APPLIED_TTL_MS = 30 * DAY;
export const DEFAULT_COOC_CAP = 500;
export const DEFAULT_DEAD_LETTER_CAP = 10_000;

/** Every key the Redis state store writes; behavior/README.md documents the layout. */
export function stateKeys(ns: string) {
  return {
    user: (subject: string) => `${ns}:user:${subject}`,
    applied: (eventId: string) => `${ns}:applied:${eventId}`,
    /** Marks a dead-lettered stream position, so a redelivered bad record is kept once. */
    deadAt: (position: string) => `${ns}:dead-at:${position}`,
    trend: (scope: string) => `${ns}:trend:${scope}`,
    /** Set of every scope with a trend zset, so a rescale can reach them all without SCAN. */
    trendScopes: `${ns}:trend-scopes`,
    cooc: (id: string) => `${ns}:cooc:${id}`,
    count: `${ns}:count`,
    dead: `${ns}:dead`,
    /** Hash: trend_epoch, trend_half_life_ms. */
    meta: `${ns}:meta`,
  };
}

export type StateKeys = ReturnType<typeof stateKeys>;
