import { analyze } from '../../core/text/analyze.ts';
import { correctable } from '../../core/text/typos.ts';
import type { CompiledSynonyms } from './synonyms.ts';

/**
 * A lexical query as both text stores run it: the analysed query as groups (a word, or the
 * phrase a synonym rule matched), each with the alternatives that may stand for it — the word
 * itself, its synonyms, its corrections (typo tolerance), a prefix (the last word, while the
 * shopper is still typing). A document matches a group when it holds any alternative; the
 * stores' and-first relaxation works on groups as it did on words.
 */

export type AlternativeKind = 'exact' | 'synonym' | 'typo' | 'prefix';

export interface Alternative {
  /** Analysed tokens joined by one space (more than one token: a phrase). */
  text: string;
  kind: AlternativeKind;
}

export interface QueryGroup {
  /** What the shopper typed for this group, analysed. */
  text: string;
  alternatives: Alternative[];
}

/** Query-side lexical options; every feature is on unless switched off. */
export interface LexicalOptions {
  /** Correct words the index does not know (core/text/typos.ts rules). Default true. */
  typos?: boolean | undefined;
  /** The last word also matches as a prefix (3+ characters, no trailing space). Default true. */
  prefix?: boolean | undefined;
  synonyms?: CompiledSynonyms | undefined;
}

/** What a lexical search matched with, for debug and highlighting. */
export interface LexicalMatch {
  /** Whole terms (analysed) that found documents: the words, their synonyms and corrections. */
  terms: string[];
  /** Prefixes the last word matched as. */
  prefixes: string[];
  /** Words the index did not know, and the indexed words searched instead. */
  corrected: Array<{ term: string; to: string[] }>;
  /** Words or phrases a synonym rule expanded, and what they also searched for. */
  synonyms: Array<{ term: string; to: string[] }>;
  /** The synonym set's version in force (0: none set). */
  synonyms_version: number;
}

export interface LexicalResult<H> {
  hits: H[];
  match: LexicalMatch;
}

/** Prefix matching starts at this many characters: "r*" would match half a catalog. */
export const MIN_PREFIX = 3;

/** The query's groups with their exact and synonym alternatives (corrections are the store's: they need its vocabulary). */
export function queryGroups(q: string, opts: LexicalOptions = {}): QueryGroup[] {
  const tokens = analyze(q);
  const syn = opts.synonyms;
  const groups: QueryGroup[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < tokens.length;) {
    let len = 0;
    let alts: readonly string[] | undefined;
    // The longest phrase a rule names, starting here.
    if (syn && syn.map.size > 0) {
      for (let n = Math.min(syn.maxTokens, tokens.length - i); n >= 1; n--) {
        const found = syn.map.get(tokens.slice(i, i + n).join(' '));
        if (found) {
          len = n;
          alts = found;
          break;
        }
      }
    }
    const n = Math.max(len, 1);
    const text = tokens.slice(i, i + n).join(' ');
    i += n;
    if (seen.has(text)) continue;
    seen.add(text);
    groups.push({
      text,
      alternatives: [{ text, kind: 'exact' }, ...(alts ?? []).map((a): Alternative => ({ text: a, kind: 'synonym' }))],
    });
  }
  const last = groups.at(-1);
  if (
    last &&
    opts.prefix !== false &&
    !/\s$/.test(q) &&
    last.alternatives.length === 1 &&
    !last.text.includes(' ') &&
    /^[\p{L}\p{N}]+$/u.test(last.text) &&
    !/\p{Script=Han}/u.test(last.text) &&
    Array.from(last.text).length >= MIN_PREFIX
  ) {
    last.alternatives.push({ text: last.text, kind: 'prefix' });
  }
  return groups;
}

/** Single-word groups the store may correct (typo tolerance on, a Latin word long enough). */
export function correctableGroups(groups: readonly QueryGroup[], opts: LexicalOptions): QueryGroup[] {
  if (opts.typos === false) return [];
  return groups.filter((g) => !g.text.includes(' ') && correctable(g.text));
}

/** The match record of `groups` once the store has added its corrections. */
export function matchOf(groups: readonly QueryGroup[], opts: LexicalOptions): LexicalMatch {
  const terms = new Set<string>();
  const prefixes: string[] = [];
  const corrected: LexicalMatch['corrected'] = [];
  const synonyms: LexicalMatch['synonyms'] = [];
  for (const g of groups) {
    const typos = g.alternatives.filter((a) => a.kind === 'typo').map((a) => a.text);
    const syns = g.alternatives.filter((a) => a.kind === 'synonym').map((a) => a.text);
    if (typos.length > 0) corrected.push({ term: g.text, to: typos });
    if (syns.length > 0) synonyms.push({ term: g.text, to: syns });
    for (const a of g.alternatives) {
      if (a.kind === 'prefix') prefixes.push(a.text);
      else for (const t of a.text.split(' ')) terms.add(t);
    }
  }
  return { terms: [...terms], prefixes, corrected, synonyms, synonyms_version: opts.synonyms?.version ?? 0 };
}
