/**
 * Leave-last-out, as SASRec (Kang & McAuley 2018) evaluates, so our figures sit next to its
 * published ones: per user (time order) the last item is the test target, the one before it the
 * validation target, everything earlier the history. Users with fewer than 3 interactions are
 * not evaluated but their interactions still count as training data (SASRec keeps them in its
 * training split too).
 *
 * Two phases, each with its own replayed state:
 *   valid: state = every history;               target = validation item (for tuning)
 *   test:  state = every history + validation;  target = test item (reported)
 * SASRec likewise trains on histories and feeds the validation item as input at test time.
 */
import type { Interaction } from './sequential-data.ts';

export type Phase = 'valid' | 'test';

export interface EvalUser {
  user: string;
  /** Every interaction of the user, time order. */
  sequence: Interaction[];
  valid: Interaction;
  test: Interaction;
}

export interface Split {
  /** Users with ≥ 3 interactions, in order of first appearance. */
  users: EvalUser[];
  /** Interactions of users too short to evaluate (training data in both phases). */
  shortUsers: Interaction[];
  /** Every distinct item, first appearance order: the candidate universe. */
  items: string[];
}

/** Groups by user and sorts each user's interactions by time (stable: file order breaks ties). */
export function groupByUser(rows: readonly Interaction[]): Map<string, Interaction[]> {
  const byUser = new Map<string, Interaction[]>();
  for (const r of rows) {
    const list = byUser.get(r.user);
    if (list) list.push(r);
    else byUser.set(r.user, [r]);
  }
  for (const list of byUser.values()) {
    const order = new Map(list.map((r, i) => [r, i]));
    list.sort((a, b) => a.ts - b.ts || order.get(a)! - order.get(b)!);
  }
  return byUser;
}

/**
 * Repeats: a feed never shows what the shopper already has, so a target seen before is a miss
 * for every route by construction. `first` keeps each user's first interaction with an item and
 * drops later ones (the usual preprocessing for next-new-item evaluation); `keep` leaves them.
 */
export function dropRepeats(sequence: readonly Interaction[]): Interaction[] {
  const seen = new Set<string>();
  return sequence.filter((r) => (seen.has(r.item) ? false : (seen.add(r.item), true)));
}

export function leaveLastOut(rows: readonly Interaction[], repeats: 'keep' | 'first' = 'first'): Split {
  const users: EvalUser[] = [];
  const shortUsers: Interaction[] = [];
  const items = new Set<string>();
  for (const [user, raw] of groupByUser(rows)) {
    const sequence = repeats === 'first' ? dropRepeats(raw) : raw;
    for (const r of sequence) items.add(r.item);
    if (sequence.length < 3) {
      shortUsers.push(...sequence);
      continue;
    }
    users.push({ user, sequence, valid: sequence[sequence.length - 2]!, test: sequence[sequence.length - 1]! });
  }
  return { users, shortUsers, items: [...items] };
}

/** What a phase replays into state, and what each user is asked to predict from it. */
export function phaseView(u: EvalUser, phase: Phase): { known: Interaction[]; target: Interaction } {
  const cut = phase === 'valid' ? u.sequence.length - 2 : u.sequence.length - 1;
  return { known: u.sequence.slice(0, cut), target: phase === 'valid' ? u.valid : u.test };
}

/** The training stream of a phase: short users whole, evaluated users up to their target. */
export function phaseEvents(split: Split, phase: Phase): Interaction[] {
  const out = split.shortUsers.slice();
  for (const u of split.users) out.push(...phaseView(u, phase).known);
  return out;
}
