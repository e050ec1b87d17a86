import { createHash } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ServedEntry } from '../../behavior/served-log.ts';
import { readSqliteLog } from '../../ranking/training-data.ts';
import { RequestJoin, wasSeen, type JoinedType, type ResponseEvents } from '../../behavior/request-join.ts';

/**
 * The text tower's training data from a shop's own logs: each search the served log recorded
 * (query → the products shown, by request_id) joined with the behaviour events naming that
 * request_id, as a judged set in the eval format (queries.tsv, qrels.tsv) that
 * models/text_embedder/train.py --data reads. The join is the ranker's (behavior/request-join.ts,
 * used by ranking/training-data.ts too): events count for the response whose request_id they
 * carry; a request with impression events counts only the impressed items as seen.
 *
 * Grades per (query, product), the strongest signal over every request of the same query text:
 * purchase 3, add_to_cart 3, click 2 (the trainer's positives are grade >= 2), shown and skipped 0
 * (a hard negative; seen means impressed, or every shown item when the request logged no
 * impressions, but only above the lowest clicked slot when there was a click: a shopper who
 * clicked slot 3 saw slots 1-2, not necessarily slot 9).
 */
export interface LogPairs {
  /** query id → query text (the id is a hash of the normalised text, stable across runs). */
  queries: Map<string, string>;
  /** query id → product id → grade. */
  qrels: Map<string, Map<string, number>>;
  summary: LogPairsSummary;
}

export interface LogPairsSummary {
  search_requests: number;
  requests_with_engagement: number;
  queries: number;
  positives: number;
  hard_negatives: number;
  /** Engagement events whose request_id is not in the served log (or not a search). */
  unmatched_events: number;
}

/** Grades of engagement, strongest last: a product's grade in a response is its strongest. */
const ENGAGEMENT: ReadonlyArray<[Exclude<JoinedType, 'impression'>, number]> = [
  ['click', 2],
  ['add_to_cart', 3],
  ['purchase', 3],
];

/** Product id → grade, of the products the shopper engaged with in one response. */
function grades(events: ResponseEvents | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [type, grade] of ENGAGEMENT)
    for (const id of events?.[type] ?? []) out.set(id, Math.max(grade, out.get(id) ?? 0));
  return out;
}

/** Query text as the same query: trimmed, whitespace collapsed, lower-cased. */
export function normaliseQuery(q: string): string {
  return q.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

export function queryId(normalised: string): string {
  return 'q' + createHash('sha256').update(normalised).digest('hex').slice(0, 16);
}

/** Pure join of served-log entries and behaviour events (JSON strings, stream order). */
export function joinSearchPairs(served: Iterable<string>, events: Iterable<string>): LogPairs {
  const join = new RequestJoin(events);
  const queries = new Map<string, string>();
  const qrels = new Map<string, Map<string, number>>();
  let searches = 0;
  let engaged = 0;
  const isSearch = (s: ServedEntry) =>
    s.surface === 'search' && typeof s.query === 'string' && normaliseQuery(s.query) !== '';
  for (const { served: s, events } of join.responses(served, isSearch)) {
    const text = normaliseQuery(s.query!);
    searches++;
    const graded = grades(events);
    if (graded.size === 0) continue; // no engagement: nothing says what was relevant
    engaged++;
    const id = queryId(text);
    if (!queries.has(id)) queries.set(id, text);
    let judged = qrels.get(id);
    if (!judged) qrels.set(id, (judged = new Map()));
    const shownIds = new Set(s.items.map((it) => it.id));
    let lowestClicked = -1;
    for (const it of s.items) if (graded.has(it.id)) lowestClicked = Math.max(lowestClicked, it.position);
    for (const it of s.items) {
      const g = graded.get(it.id);
      if (g !== undefined) {
        judged.set(it.id, Math.max(g, judged.get(it.id) ?? 0));
        continue;
      }
      if (wasSeen(events, it.id) && it.position < lowestClicked && !judged.has(it.id)) judged.set(it.id, 0);
    }
    // Engagement with a product the response did not show (a later page, say) still names the query.
    for (const [pid, g] of graded) if (!shownIds.has(pid)) judged.set(pid, Math.max(g, judged.get(pid) ?? 0));
  }
  // Engagement naming a request the log holds no search for.
  const unmatched = join.unmatched((events) => grades(events).size);
  let positives = 0;
  let negatives = 0;
  for (const j of qrels.values())
    for (const g of j.values()) {
      if (g >= 2) positives++;
      else if (g === 0) negatives++;
    }
  return {
    queries,
    qrels,
    summary: {
      search_requests: searches,
      requests_with_engagement: engaged,
      queries: queries.size,
      positives,
      hard_negatives: negatives,
      unmatched_events: unmatched,
    },
  };
}

/**
 * Writes the judged set of a service data dir's embedded logs (behavior/served.sqlite ⋈
 * behavior/events.sqlite) with the catalog copied as products.jsonl.
 */
export async function writeLogPairs(dataDir: string, catalogPath: string, outDir: string): Promise<LogPairsSummary> {
  const dir = path.join(dataDir, 'behavior');
  const pairs = joinSearchPairs(
    readSqliteLog(path.join(dir, 'served.sqlite')),
    readSqliteLog(path.join(dir, 'events.sqlite')),
  );
  await mkdir(outDir, { recursive: true });
  await copyFile(catalogPath, path.join(outDir, 'products.jsonl'));
  const q = [...pairs.queries].map(([id, text]) => `${id}\t${text.replace(/[\t\r\n]/g, ' ')}\n`);
  const r: string[] = [];
  for (const [id, judged] of pairs.qrels) for (const [pid, g] of judged) r.push(`${id} 0 ${pid} ${g}\n`);
  await writeFile(path.join(outDir, 'queries.tsv'), q.join(''));
  await writeFile(path.join(outDir, 'qrels.tsv'), r.join(''));
  await writeFile(path.join(outDir, 'dataset.json'), JSON.stringify({ name: 'service logs', ...pairs.summary }) + '\n');
  return pairs.summary;
}
