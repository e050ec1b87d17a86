import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Dependency } from '../../core/dependencies.ts';
import { partitionKey, type BehaviorEvent } from '../event.ts';
import type { ConsumeOptions, EventLog, StreamRecord, Subscription } from '../event-log.ts';

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
 * position in the same file, the way Kafka keeps offsets beside the log.
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
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS log (position INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS offsets (grp TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
    `);
    this.appended.setMaxListeners(0);
    this.stmts = {
      insert: this.db.prepare<[string | null, string]>('INSERT INTO log (key, value) VALUES (?, ?)'),
      read: this.db.prepare<[number, number], { position: number; key: string | null; value: string }>(
        'SELECT position, key, value FROM log WHERE position > ? ORDER BY position LIMIT ?',
      ),
      last: this.db.prepare<[], { p: number | null }>('SELECT max(position) AS p FROM log'),
      getOffset: this.db.prepare<[string], { position: number }>('SELECT position FROM offsets WHERE grp = ?'),
      putOffset: this.db.prepare<[string, number]>(
        'INSERT INTO offsets (grp, position) VALUES (?, ?) ON CONFLICT(grp) DO UPDATE SET position = excluded.position',
      ),
    };
  }

  async append(events: readonly BehaviorEvent[]): Promise<void> {
    await this.appendRaw(events.map((e) => ({ key: partitionKey(e), value: JSON.stringify(e) })));
  }

  async appendRaw(records: ReadonlyArray<{ key?: string; value: string }>): Promise<void> {
    if (records.length === 0) return;
    this.db.transaction(() => {
      for (const r of records) this.stmts.insert.run(r.key ?? null, r.value);
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

  dependencies(): Dependency[] {
    return [];
  }

  async close(): Promise<void> {
    for (const s of [...this.subs]) await s.stop();
    if (this.db.open) this.db.close();
  }
}
