import Database from 'better-sqlite3';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { EventLog } from '../behavior/event-log.ts';
import { RequestJoin, wasSeen } from '../behavior/request-join.ts';
import { FEATURE_COUNT, FEATURE_SPEC_VERSION } from './features.ts';

/**
 * Training examples: every shown item that was seen (an impression event named its request_id,
 * or it was clicked; a request with no impression events at all counts every shown item), with
 * the feature vector the server logged for it and its labels: click, and purchase (a purchase
 * of the item naming the same request_id; a purchase implies a click). Joined by request_id
 * (behavior/request-join.ts, the join the text tower's log pairs use too).
 */
export interface TrainingRow {
  request_id: string;
  surface: string;
  subject?: string | undefined;
  ts: number;
  /** Slot it was shown in. */
  position: number;
  fusion_position?: number | undefined;
  /** How the response was ordered: model version, heuristic, off. */
  served_by: string;
  features: number[];
  click: 0 | 1;
  purchase: 0 | 1;
}

export interface TrainingSummary {
  feature_spec_version: string;
  requests: number;
  impressions: number;
  clicks: number;
  purchases: number;
  by_surface: Record<string, { impressions: number; clicks: number; purchases: number }>;
  /** Served entries left out: no feature vectors (ranking off) or another feature spec. */
  skipped_requests: number;
  /** Click or purchase events whose request_id is not in the served log. */
  unmatched_events: number;
}

/** Pure join of served-log entries and behaviour events (JSON strings, stream order). */
export function joinTraining(
  served: Iterable<string>,
  events: Iterable<string>,
): { rows: TrainingRow[]; summary: TrainingSummary } {
  const join = new RequestJoin(events);
  const rows: TrainingRow[] = [];
  let skipped = 0;
  for (const { served: s, events: l } of join.responses(served, (s) => s.surface !== 'similar')) {
    const usable =
      s.ranking?.feature_spec === FEATURE_SPEC_VERSION && s.items.some((it) => it.features?.length === FEATURE_COUNT);
    if (!usable) {
      skipped++;
      continue;
    }
    for (const it of s.items) {
      if (it.features?.length !== FEATURE_COUNT) continue;
      const purchase = l?.purchase.has(it.id) ? 1 : 0;
      const click = purchase || l?.click.has(it.id) ? 1 : 0;
      if (!click && !wasSeen(l, it.id)) continue;
      rows.push({
        request_id: s.request_id,
        surface: s.surface,
        ...(s.subject !== undefined && { subject: s.subject }),
        ts: s.ts,
        position: it.position,
        ...(it.fusion_position !== undefined && { fusion_position: it.fusion_position }),
        served_by: s.ranking?.model_version ?? s.ranking?.mode ?? 'off',
        features: it.features,
        click,
        purchase,
      });
    }
  }
  const unmatched = join.unmatched((l) => l.click.size + l.purchase.size);
  const by: TrainingSummary['by_surface'] = {};
  for (const r of rows) {
    const b = (by[r.surface] ??= { impressions: 0, clicks: 0, purchases: 0 });
    b.impressions++;
    b.clicks += r.click;
    b.purchases += r.purchase;
  }
  return {
    rows,
    summary: {
      feature_spec_version: FEATURE_SPEC_VERSION,
      requests: new Set(rows.map((r) => r.request_id)).size,
      impressions: rows.length,
      clicks: rows.reduce((a, r) => a + r.click, 0),
      purchases: rows.reduce((a, r) => a + r.purchase, 0),
      by_surface: by,
      skipped_requests: skipped,
      unmatched_events: unmatched,
    },
  };
}

/** Every message of an embedded (SQLite) stream file, in order, read-only. */
export function* readSqliteLog(file: string): Generator<string> {
  if (!existsSync(file)) return;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    for (const row of db.prepare<[], { value: string }>('SELECT value FROM log ORDER BY position').iterate())
      yield row.value;
  } finally {
    db.close();
  }
}

/**
 * Every message of any stream (Kafka topic or SQLite log), in order, read with a fresh consumer
 * group from the beginning; done once nothing new arrived for `idleMs` after the first message (or
 * nothing at all within `firstMs`, for an empty stream).
 */
export async function readWholeLog(
  log: EventLog,
  opts: { idleMs?: number; firstMs?: number; group?: string } = {},
): Promise<string[]> {
  const values: string[] = [];
  let last: number | undefined;
  const group = opts.group ?? `shelf-ranking-export-${process.pid}-${Date.now()}`;
  const sub = await log.consume({ group, fromBeginning: true, maxBatch: 5000 }, async (batch) => {
    for (const r of batch) values.push(r.value);
    last = Date.now();
  });
  const start = Date.now();
  const idle = opts.idleMs ?? 2_000;
  while (last === undefined ? Date.now() - start < (opts.firstMs ?? 20_000) : Date.now() - last < idle)
    await new Promise((r) => setTimeout(r, 25));
  await sub.stop();
  return values;
}

/** Writes training rows as JSON Lines. */
async function writeRows(rows: readonly TrainingRow[], outFile: string): Promise<void> {
  await mkdir(path.dirname(outFile), { recursive: true });
  const out = createWriteStream(outFile);
  for (const r of rows)
    if (!out.write(JSON.stringify(r) + '\n')) await new Promise<void>((res) => out.once('drain', () => res()));
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
}

/**
 * Joins the embedded served log and event stream of a service data dir into JSON Lines for
 * models/ranker/train.py (one TrainingRow a line).
 */
export async function exportTrainingData(dataDir: string, outFile: string): Promise<TrainingSummary> {
  const dir = path.join(dataDir, 'behavior');
  const { rows, summary } = joinTraining(
    readSqliteLog(path.join(dir, 'served.sqlite')),
    readSqliteLog(path.join(dir, 'events.sqlite')),
  );
  await writeRows(rows, outFile);
  return summary;
}

/** The same join over any behaviour back end (Kafka topics when KAFKA_BROKERS is configured). */
export async function exportTrainingDataFrom(
  logs: { served: EventLog; events: EventLog },
  outFile: string,
  opts?: { idleMs?: number; firstMs?: number },
): Promise<TrainingSummary> {
  const [served, events] = await Promise.all([readWholeLog(logs.served, opts), readWholeLog(logs.events, opts)]);
  const { rows, summary } = joinTraining(served, events);
  await writeRows(rows, outFile);
  return summary;
}
