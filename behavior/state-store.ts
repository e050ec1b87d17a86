import type { Dependency } from '../core/dependencies.ts';
import type { ItemEffects, UserState } from './user-state.ts';

/** A stream message the consumer could not use, kept with why, so it never blocks the stream. */
export interface DeadLetter {
  /** Where it was on the stream (offset, or partition:offset). */
  position: string;
  raw: string;
  reason: string;
  ts: number;
}

/** Everything one consumed batch changes, written atomically with the ids that caused it. */
export interface StateCommit {
  /** Events whose effects are in this commit: a later copy of any of them changes nothing. */
  eventIds: string[];
  /** Full new states; each carries the `version` it was read at plus one. */
  users: UserState[];
  effects: ItemEffects;
  deadLetters: DeadLetter[];
}

export class StateConflictError extends Error {
  constructor(readonly subjects: string[]) {
    super(`user state changed concurrently: ${subjects.join(', ')}`);
  }
}

/**
 * The real-time state the behaviour consumer keeps and the feed reads: embedded (SQLite) by
 * default, Redis in production. Effects are additive and keyed by event id, which is what makes
 * at-least-once delivery safe.
 */
export interface StateStore {
  readonly kind: string;
  /** Which of these event ids have already been applied. */
  applied(eventIds: readonly string[]): Promise<Set<string>>;
  getUsers(subjects: readonly string[]): Promise<Map<string, UserState>>;
  /** For stores that cache states: drop these, their in-memory copies were changed but not committed. */
  forget?(subjects: readonly string[]): void;
  /**
   * Applies a commit atomically. Throws StateConflictError when a user state changed since it
   * was read (another consumer wrote it); the caller re-reads and retries the batch.
   */
  commit(c: StateCommit): Promise<void>;
  /** Most popular products in a scope ("" = all, else a category path prefix), decayed to now. */
  trending(scope: string, k: number): Promise<Array<{ id: string; score: number }>>;
  /** Products that co-occur with `id`, strongest first. */
  cooccurring(id: string, k: number): Promise<Array<{ id: string; score: number }>>;
  /** Undecayed interaction totals. */
  itemCounts(ids: readonly string[]): Promise<Map<string, number>>;
  deadLetters(limit: number): Promise<DeadLetter[]>;
  /**
   * Retention, for stores the service keeps itself (embedded): forget at most `rows` applied event
   * ids older than `before`, and dead letters older than `before` or beyond the newest `keep`; each
   * says how many rows went. Redis expires applied markers by TTL and caps the dead-letter list
   * instead (behavior/README.md).
   */
  pruneApplied?(before: number, rows: number): Promise<number>;
  pruneDeadLetters?(p: { before?: number | undefined; keep?: number | undefined }, rows: number): Promise<number>;
  dependencies(): Dependency[];
  close(): Promise<void>;
}

/** A shopper's state as requests read it, under the subject it belongs to. */
export interface Shopper {
  user: UserState | undefined;
  subject: string;
}

/** The state a shopper's requests read: a session linked to a user reads the user's. */
export async function loadShopper(state: StateStore, subject: string): Promise<Shopper> {
  const s = (await state.getUsers([subject])).get(subject);
  if (s?.linked_to !== undefined)
    return { user: (await state.getUsers([s.linked_to])).get(s.linked_to), subject: s.linked_to };
  return { user: s, subject };
}
