import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IndexSummary } from './index-catalog.ts';

/**
 * What each indexer run did, kept beside the index (`<dataDir>/index-runs.jsonl`, one JSON line a
 * run, the newest `KEEP` kept), so the console's Catalog page and an operator can see when the
 * catalog was last indexed and whether it went well without reading the process's output.
 * Recording is best effort: a run that indexed is never failed by its own record.
 */

export interface IndexRun {
  /** Epoch ms when the run finished. */
  at: number;
  /** `catalog`: a whole catalog file (`--catalog`, `npm start`); `changes`: a change file. */
  kind: 'catalog' | 'changes';
  /** The file it read (base name only: where the data lives is not the console's business). */
  source: string;
  generation: string | null;
  indexed: number;
  unchanged: number;
  deleted: number;
  skipped: number;
  write_failures: number;
  took_ms: number;
}

const FILE = 'index-runs.jsonl';
const KEEP = 50;

export const indexRunOf = (kind: IndexRun['kind'], file: string, s: IndexSummary, at = Date.now()): IndexRun => ({
  at,
  kind,
  source: path.basename(file),
  generation: s.generation ?? null,
  indexed: s.indexed,
  unchanged: s.unchanged,
  deleted: s.deleted,
  skipped: s.skipped,
  write_failures: s.writeFailures.length,
  took_ms: Math.round(s.took_ms),
});

export function recordIndexRun(dataDir: string, run: IndexRun): void {
  try {
    mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, FILE);
    appendFileSync(file, JSON.stringify(run) + '\n');
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    // Rewritten only when well past the limit, so most runs append one line.
    if (lines.length > 2 * KEEP) writeFileSync(file, lines.slice(-KEEP).join('\n') + '\n');
  } catch (err) {
    console.error(`index runs: could not record this run: ${(err as Error).message}`);
  }
}

/** The newest `n` runs, newest first; none when nothing was recorded. */
export function readIndexRuns(dataDir: string, n = 10): IndexRun[] {
  const file = path.join(dataDir, FILE);
  if (!existsSync(file)) return [];
  const out: IndexRun[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse()) {
    try {
      out.push(JSON.parse(line) as IndexRun);
    } catch {
      // A line cut by a crash mid-append is not a run.
    }
    if (out.length >= n) break;
  }
  return out;
}
