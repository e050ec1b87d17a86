import { tokens } from './analyze.ts';

/**
 * Highlighting from the terms a lexical search matched with (the words, their synonyms and
 * corrections, Chinese words): every word of the text whose analysed form is one of them is
 * wrapped in <em>, as is the typed part of a word the last query word matched as a prefix
 * ("run" → "<em>run</em>ning"). A word that only differs by an inflection the engine's stemmer
 * folds ("shoe" → "shoes") is marked on its shared part. Everything is HTML-escaped.
 */

export interface HighlightTerms {
  terms: readonly string[];
  prefixes: readonly string[];
}

/** How many characters of an inflected ending (-s, -es, -ing, -ed) a whole-term match may leave unmarked. */
const MAX_SUFFIX = 3;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** `text` with its matches in <em>, escaped; undefined when nothing in it matched. */
export function highlight(text: string, match: HighlightTerms): string | undefined {
  if (match.terms.length === 0 && match.prefixes.length === 0) return undefined;
  const terms = new Set(match.terms);
  // Spans are offsets in the normalised text; when normalising changed the length (full-width
  // forms, ligatures) the normalised text is what is shown, so the marks stay where they belong.
  const norm = text.normalize('NFKC').toLowerCase();
  const shown = norm.length === text.length ? text : text.normalize('NFKC');
  const spans: Array<[number, number]> = [];
  for (const t of tokens(text)) {
    if (terms.has(t.term)) {
      spans.push([t.start, t.end]);
      continue;
    }
    const part = [...terms, ...match.prefixes].find(
      (p) =>
        p.length >= 3 &&
        t.term.startsWith(p) &&
        (match.prefixes.includes(p) || t.term.length - p.length <= MAX_SUFFIX) &&
        t.end - t.start === t.term.length,
    );
    if (part) spans.push([t.start, t.start + part.length]);
  }
  if (spans.length === 0) return undefined;
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = '';
  let at = 0;
  for (const [s, e] of spans) {
    if (e <= at) continue;
    const from = Math.max(s, at);
    out += escapeHtml(shown.slice(at, from)) + '<em>' + escapeHtml(shown.slice(from, e)) + '</em>';
    at = e;
  }
  return out + escapeHtml(shown.slice(at));
}

/** Characters of context kept around the first match of a long text (a description). */
const SNIPPET = 160;

/** A long text cut to a snippet around its first match, then highlighted; undefined without a match. */
export function highlightSnippet(text: string, match: HighlightTerms): string | undefined {
  const full = highlight(text, match);
  if (full === undefined || text.length <= SNIPPET) return full;
  const first = full.indexOf('<em>');
  // Cut on the escaped string's structure: start a little before the first mark, at a space.
  const from = Math.max(0, full.lastIndexOf(' ', Math.max(0, first - SNIPPET / 4)) + 1);
  let to = Math.min(full.length, from + SNIPPET);
  const open = full.lastIndexOf('<em>', to);
  const close = full.lastIndexOf('</em>', to);
  if (open > close) to = full.indexOf('</em>', open) + 5;
  // Never cut inside an entity.
  const amp = full.lastIndexOf('&', to);
  if (amp > full.lastIndexOf(';', to) && amp >= from) to = full.indexOf(';', amp) + 1;
  return (from > 0 ? '…' : '') + full.slice(from, to) + (to < full.length ? '…' : '');
}
