import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Dependency } from '../../core/dependencies.ts';
import { partitionKey, type BehaviorEvent } from '../event.ts';
import type { ConsumeOptions, EventLog, LogPrunePolicy, StreamRecord, Subscription } from '../event-log.ts';
import { addColumnOnce, reclaimPages, usedBytes } from './sqlite-retention.ts';

export interface SqliteLogOptions {
  file: string;
  /** How often a consumer looks for appends made by other processes (same-process appends wake it at once). */
  pollMs?: number;
  /** Wait after a failed batch before retrying it. */
  retryMs?: number;
}

/**
 * The embedded behaviour stream: an append-only SQLite table in WAL mode with synchronous=FULL,
 * so an append has reached the disk when it resolves. Consumer groups keep their committed
 * position in the same file, the way Kafka keeps offsets beside the log. Each row keeps the time
 * it was appended, so `prune` can cut the head of the log by age or size (behavior/retention.ts).
 */
export class SqliteEventLog implements EventLog {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly appended = new EventEmitter();
  private readonly stmts;
  private readonly subs = new Set<Subscription>();

  constructor(private readonly opts: SqliteLogOptions) {
    if (opts.file !== ':memory:') fs.mkdirSync(path.dirname(opts.file), { recursive: true });
    this.db = new Database(opts.file);
    // Must precede the first table: a new file then gives pruned pages back to the file system
    // (an existing file without it keeps its size and reuses the freed pages).
    this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS log (position INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, value TEXT NOT NULL, at INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS offsets (grp TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
    `);
    // Rows written before retention existed count as appended now: their window starts today.
    addColumnOnce(this.db, 'log', 'at', `INTEGER NOT NULL DEFAULT ${Date.now()}`);
    this.appended.setMaxListeners(0);
    this.stmts = {
      insert: this.db.prepare<[string | null, string, number]>('INSERT INTO log (key, value, at) VALUES (?, ?, ?)'),
      read: this.db.prepare<[number, number], { position: number; key: string | null; value: string }>(
        'SELECT position, key, value FROM log WHERE position > ? ORDER BY position LIMIT ?',
      ),
      last: this.db.prepare<[], { p: number | null }>('SELECT max(position) AS p FROM log'),
      getOffset: this.db.prepare<[string], { position: number }>('SELECT position FROM offsets WHERE grp = ?'),
      putOffset: this.db.prepare<[string, number]>(
        'INSERT INTO offsets (grp, position) VALUES (?, ?) ON CONFLICT(grp) DO UPDATE SET position = excluded.position',
      ),
      head: this.db.prepare<[number], { position: number; at: number }>(
        'SELECT position, at FROM log ORDER BY position LIMIT ?',
      ),
      span: this.db.prepare<[], { lo: number | null; hi: number | null }>(
        'SELECT min(position) AS lo, max(position) AS hi FROM log',
      ),
      committedFloor: this.db.prepare<[], { p: number | null; groups: number }>(
        'SELECT min(position) AS p, count(*) AS groups FROM offsets',
      ),
      deleteThrough: this.db.prepare<[number]>('DELETE FROM log WHERE position <= ?'),
    };
  }

  async append(events: readonly BehaviorEvent[]): Promise<void> {
    await this.appendRaw(events.map((e) => ({ key: partitionKey(e), value: JSON.stringify(e) })));
  }

  async appendRaw(records: ReadonlyArray<{ key?: string; value: string }>): Promise<void> {
    if (records.length === 0) return;
    const at = Date.now();
    this.db.transaction(() => {
      for (const r of records) this.stmts.insert.run(r.key ?? null, r.value, at);
    })();
    this.appended.emit('append');
  }

  /**
   * Runs `fn` after every append made through this instance, and lets another instance on the
   * same file (a consumer thread) be woken with `wake()` instead of waiting for its next poll.
   */
  onAppend(fn: () => void): () => void {
    this.appended.on('append', fn);
    return () => this.appended.off('append', fn);
  }

  wake(): void {
    this.appended.emit('append');
  }

  async consume(opts: ConsumeOptions, handler: (batch: StreamRecord[]) => Promise<void>): Promise<Subscription> {
    const maxBatch = opts.maxBatch ?? 500;
    let position = this.stmts.getOffset.get(opts.group)?.position;
    if (position === undefined) {
      position = opts.fromBeginning ? 0 : (this.stmts.last.get()?.p ?? 0);
      this.stmts.putOffset.run(opts.group, position);
    }
    let stopped = false;
    let wake: (() => void) | undefined;
    const onAppend = () => wake?.();
    this.appended.on('append', onAppend);
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          wake = undefined;
          resolve();
        }
        wake = done;
      });

    const loop = (async () => {
      while (!stopped) {
        const rows = this.stmts.read.all(position!, maxBatch);
        if (rows.length === 0) {
          await sleep(this.opts.pollMs ?? 250);
          continue;
        }
        const batch: StreamRecord[] = rows.map((r) => ({
          position: String(r.position),
          key: r.key ?? undefined,
          value: r.value,
        }));
        try {
          await handler(batch);
        } catch (err) {
          opts.onError?.(err as Error);
          await sleep(this.opts.retryMs ?? 200);
          continue;
        }
        position = rows.at(-1)!.position;
        this.stmts.putOffset.run(opts.group, position);
      }
    })();

    const sub: Subscription = {
      stop: async () => {
        stopped = true;
        wake?.();
        await loop;
        this.appended.off('append', onAppend);
        this.subs.delete(sub);
      },
    };
    this.subs.add(sub);
    return sub;
  }

  /**
   * Deletes at most `rows` rows from the head of the log: those appended before `maxAgeMs` ago,
   * and the oldest ones while the log holds more than `maxBytes`. With `committedOnly`, never a
   * row past the lowest position a consumer group has committed (nothing at all when no
   * group has), so an event no consumer has applied yet stays, however old. Returns how many went.
   */
  async prune(policy: LogPrunePolicy, rows: number): Promise<number> {
    let floor = Infinity;
    if (policy.committedOnly) {
      const c = this.stmts.committedFloor.get()!;
      if (c.groups === 0 || c.p === null) return 0;
      floor = c.p;
    }
    const cutoff = policy.maxAgeMs === undefined ? -Infinity : policy.now - policy.maxAgeMs;
    // Over the size cap, the same share of rows goes as the share of bytes over it (rows are
    // numbered without gaps, so the span of positions counts them without a scan).
    let overSize = 0;
    if (policy.maxBytes !== undefined) {
      const used = usedBytes(this.db);
      const span = this.stmts.span.get()!;
      if (used > policy.maxBytes && span.lo !== null && span.hi !== null)
        overSize = Math.ceil(((used - policy.maxBytes) / used) * (span.hi - span.lo + 1));
    }
    let through: number | undefined;
    let n = 0;
    // Appends are in time order, so the rows to go are a prefix of the log: walk it from the head.
    for (const r of this.stmts.head.iterate(rows)) {
      if (r.position > floor || (r.at >= cutoff && n >= overSize)) break;
      through = r.position;
      n++;
    }
    if (through === undefined) return 0;
    this.stmts.deleteThrough.run(through);
    reclaimPages(this.db);
    return n;
  }

  dependencies(): Dependency[] {
    return [];
  }

  async close(): Promise<void> {
    for (const s of [...this.subs]) await s.stop();
    if (this.db.open) this.db.close();
  }
}
