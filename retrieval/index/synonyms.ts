import { z } from 'zod';
import { analyze } from '../../core/text/analyze.ts';

/**
 * A shop's synonyms, applied at query time by every text store: a multi-way set
 * (`["tv", "television"]`: each finds the others) or a one-way rule
 * (`{"from": "notebook", "to": ["laptop"]}`: "notebook" also finds laptops, "laptop" does not
 * find notebooks). The whole set is replaced at once and carries a version, which search debug
 * shows, so a change can be told apart in results and logs.
 */

const Phrase = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');
export const SynonymRuleSchema = z.union([
  z.array(Phrase).min(2, 'a multi-way set needs at least 2 phrases').max(50),
  z.object({ from: Phrase, to: z.array(Phrase).min(1).max(50) }).strict(),
]);
export type SynonymRule = z.output<typeof SynonymRuleSchema>;

/** The most rules one shop may have: query expansion stays a map lookup, the set one small document. */
export const MAX_SYNONYM_RULES = 10_000;
export const SynonymRulesSchema = z.array(SynonymRuleSchema).max(MAX_SYNONYM_RULES);

export interface SynonymSet {
  /** 0: never set; +1 on every replace or clear. */
  version: number;
  /** ISO-8601 time of the last change; absent when never set. */
  updated_at?: string | undefined;
  synonyms: SynonymRule[];
}

export const EMPTY_SYNONYMS: SynonymSet = { version: 0, synonyms: [] };

/** Where a shop's synonyms are kept: one record shared by every service instance. */
export interface SynonymStore {
  readonly kind: string;
  get(): Promise<SynonymSet>;
  /** Replaces the whole set; returns it with its new version. */
  put(rules: SynonymRule[]): Promise<SynonymSet>;
  /** Removes every rule (a new version, empty). */
  clear(): Promise<SynonymSet>;
  close(): Promise<void>;
}

/** Rules as query expansion reads them: an analysed phrase → the analysed phrases it also finds. */
export interface CompiledSynonyms {
  version: number;
  /** Keys and alternatives are analysed tokens joined by one space. */
  map: ReadonlyMap<string, readonly string[]>;
  /** Tokens in the longest key: how far ahead expansion looks. */
  maxTokens: number;
}

export function compileSynonyms(set: SynonymSet): CompiledSynonyms {
  const map = new Map<string, Set<string>>();
  const add = (from: string, to: string) => {
    if (from === '' || to === '' || from === to) return;
    let alts = map.get(from);
    if (!alts) map.set(from, (alts = new Set()));
    alts.add(to);
  };
  const norm = (p: string) => analyze(p).join(' ');
  for (const rule of set.synonyms) {
    if (Array.isArray(rule)) {
      const phrases = rule.map(norm);
      for (const a of phrases) for (const b of phrases) add(a, b);
    } else {
      const from = norm(rule.from);
      for (const to of rule.to) add(from, norm(to));
    }
  }
  let maxTokens = 0;
  for (const k of map.keys()) maxTokens = Math.max(maxTokens, k.split(' ').length);
  return { version: set.version, map: new Map([...map].map(([k, v]) => [k, [...v]])), maxTokens };
}

/**
 * The compiled set every search uses, read from the store at most once per `cacheMs` for all
 * requests (a change made through another instance shows within it), and at once after a change
 * made through this one. A store that fails keeps the last set and says so to `onError`.
 */
export class CachedSynonyms {
  private compiled: CompiledSynonyms = compileSynonyms(EMPTY_SYNONYMS);
  private readAt = -Infinity;
  private inFlight: Promise<CompiledSynonyms> | undefined;

  constructor(
    readonly store: SynonymStore,
    private readonly cacheMs = 1000,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  async current(): Promise<CompiledSynonyms> {
    if (performance.now() - this.readAt < this.cacheMs) return this.compiled;
    this.inFlight ??= this.store
      .get()
      .then((set) => {
        this.compiled = compileSynonyms(set);
        return this.compiled;
      })
      .catch((err: Error) => {
        this.onError(err);
        return this.compiled;
      })
      .finally(() => {
        this.readAt = performance.now();
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  /** Drops the cached set: the next search reads the store (after a change through this instance). */
  invalidate(): void {
    this.readAt = -Infinity;
  }
}
