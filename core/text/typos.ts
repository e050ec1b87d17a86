/**
 * Typo tolerance rules, one place for both back ends: how many edits a query word may be away
 * from an indexed word (the embedded engine corrects against its vocabulary; Elasticsearch is
 * sent the same rule as `fuzziness: "AUTO:5,9"`), and the distance itself.
 */

/** Words shorter than this are never corrected: "tv" → "to" helps nobody. */
export const ONE_TYPO_MIN = 5;
/** From this length a word may be two edits away. */
export const TWO_TYPOS_MIN = 9;
/** The same rule in Elasticsearch's syntax (AUTO:low,high: 0 edits below low, 1 below high, else 2). */
export const ES_FUZZINESS = `AUTO:${ONE_TYPO_MIN},${TWO_TYPOS_MIN}`;

/** Edits allowed for a query word of `length` characters (code points). */
export function typoBudget(length: number): 0 | 1 | 2 {
  return length >= TWO_TYPOS_MIN ? 2 : length >= ONE_TYPO_MIN ? 1 : 0;
}

/**
 * Damerau–Levenshtein distance (optimal string alignment: a swap of two neighbours is one edit,
 * the commonest typing slip) between `a` and `b`, or `max + 1` as soon as it must exceed `max`.
 */
export function editDistance(a: string, b: string, max: number): number {
  const s = Array.from(a);
  const t = Array.from(b);
  if (Math.abs(s.length - t.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    prev2 = prev;
    prev = cur;
  }
  return Math.min(prev[t.length]!, max + 1);
}

/** Could this analysed token be a misspelt word? Latin-script words only: CJK has no spelling. */
export function correctable(term: string): boolean {
  return typoBudget(Array.from(term).length) > 0 && /^\p{L}[\p{L}\p{N}]*$/u.test(term) && !/\p{Script=Han}/u.test(term);
}
