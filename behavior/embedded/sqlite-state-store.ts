import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { Dependency } from '../../core/dependencies.ts';
import { StateConflictError, type DeadLetter, type StateCommit, type StateStore } from '../state-store.ts';
import { decayedAt, forwardWeight, nextEpoch, rescaleFactor, type ForwardDecay } from '../trending.ts';
import type { UserState } from '../user-state.ts';
import { decodeUser, encodeUser } from '../user-codec.ts';
import { addColumnOnce, reclaimPages } from './sqlite-retention.ts';

export interface SqliteStateOptions {
  /** File path, or ":memory:" for tests and offline evaluation. */
  file: string;
  trendingHalfLifeMs: number;
  /** Co-occurrence neighbours kept per product. */
  coocCap?: number;
  deadLetterCap?: number;
  /**
   * Keep this many decoded user states in memory. Only for the one connection that writes (the
   * consumer): getUsers then hands out the cached objects themselves, and a caller that does not
   * commit what it changed must call forget().
   */
  cacheUsers?: number;
}

/**
 * The embedded state store: one SQLite file, each commit one transaction, so a batch's effects
 * and its event ids land together or not at all (the same guarantee Redis MULTI gives).
 */
export class SqliteStateStore implements StateStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private decay: ForwardDecay | undefined;
  private readonly coocCap: number;
  private readonly deadCap: number;
  private readonly stmts;
  private commitsSinceTrim = 0;
  private readonly cache = new Map<string, UserState>();

  constructor(private readonly opts: SqliteStateOptions) {
    if (opts.file !== ':memory:') fs.mkdirSync(path.dirname(opts.file), { recursive: true });
    this.db = new Database(opts.file);
    // Before the first table: a new file gives pruned pages back (see sqlite-retention.ts).
    this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Every batch rewrites the states it touches; keep the hot ones in SQLite's own cache.
    this.db.pragma('cache_size = -65536');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS users (subject TEXT PRIMARY KEY, version INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS applied (event_id TEXT PRIMARY KEY, at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS trend (scope TEXT NOT NULL, id TEXT NOT NULL, score REAL NOT NULL, PRIMARY KEY (scope, id)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS trend_top ON trend (scope, score DESC);
      CREATE TABLE IF NOT EXISTS cooc (a TEXT NOT NULL, b TEXT NOT NULL, w REAL NOT NULL, PRIMARY KEY (a, b)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS cooc_top ON cooc (a, w DESC);
      CREATE TABLE IF NOT EXISTS counts (id TEXT PRIMARY KEY, n REAL NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS dead (seq INTEGER PRIMARY KEY AUTOINCREMENT, position TEXT UNIQUE, raw TEXT, reason TEXT, ts INTEGER);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    `);
    // Ids applied before retention existed count as applied now: their window starts today.
    addColumnOnce(this.db, 'applied', 'at', `INTEGER NOT NULL DEFAULT ${Date.now()}`);
    this.db.exec('CREATE INDEX IF NOT EXISTS applied_at ON applied (at)');
    this.coocCap = opts.coocCap ?? 500;
    this.deadCap = opts.deadLetterCap ?? 10_000;
    this.stmts = {
      isApplied: this.db.prepare<[string], { event_id: string }>('SELECT event_id FROM applied WHERE event_id = ?'),
      markApplied: this.db.prepare<[string, number]>('INSERT OR IGNORE INTO applied (event_id, at) VALUES (?, ?)'),
      pruneApplied: this.db.prepare<[number, number]>(
        'DELETE FROM applied WHERE event_id IN (SELECT event_id FROM applied WHERE at < ? ORDER BY at LIMIT ?)',
      ),
      pruneDeadBefore: this.db.prepare<[number, number]>(
        'DELETE FROM dead WHERE seq IN (SELECT seq FROM dead WHERE ts < ? ORDER BY seq LIMIT ?)',
      ),
      pruneDeadOver: this.db.prepare<[number, number]>(
        'DELETE FROM dead WHERE seq IN (SELECT seq FROM dead WHERE seq <= (SELECT max(seq) FROM dead) - ? ORDER BY seq LIMIT ?)',
      ),
      getUser: this.db.prepare<[string], { version: number; json: string }>(
        'SELECT version, json FROM users WHERE subject = ?',
      ),
      putUser: this.db.prepare<[string, number, string]>(
        'INSERT INTO users (subject, version, json) VALUES (?, ?, ?) ON CONFLICT(subject) DO UPDATE SET version = excluded.version, json = excluded.json',
      ),
      addTrend: this.db.prepare<[string, string, number]>(
        'INSERT INTO trend (scope, id, score) VALUES (?, ?, ?) ON CONFLICT(scope, id) DO UPDATE SET score = score + excluded.score',
      ),
      scaleTrend: this.db.prepare<[number]>('UPDATE trend SET score = score * ?'),
      topTrend: this.db.prepare<[string, number], { id: string; score: number }>(
        'SELECT id, score FROM trend WHERE scope = ? ORDER BY score DESC, id LIMIT ?',
      ),
      addCooc: this.db.prepare<[string, string, number]>(
        'INSERT INTO cooc (a, b, w) VALUES (?, ?, ?) ON CONFLICT(a, b) DO UPDATE SET w = w + excluded.w',
      ),
      topCooc: this.db.prepare<[string, number], { id: string; score: number }>(
        'SELECT b AS id, w AS score FROM cooc WHERE a = ? ORDER BY w DESC, b LIMIT ?',
      ),
      coocSize: this.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM cooc WHERE a = ?'),
      trimCooc: this.db.prepare<[string, string, number]>(
        'DELETE FROM cooc WHERE a = ? AND b NOT IN (SELECT b FROM cooc WHERE a = ? ORDER BY w DESC, b LIMIT ?)',
      ),
      addCount: this.db.prepare<[string, number]>(
        'INSERT INTO counts (id, n) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET n = n + excluded.n',
      ),
      getCount: this.db.prepare<[string], { n: number }>('SELECT n FROM counts WHERE id = ?'),
      addDead: this.db.prepare<[string, string, string, number]>( // A redelivered bad message is the same dead letter, kept once.
        'INSERT OR IGNORE INTO dead (position, raw, reason, ts) VALUES (?, ?, ?, ?)',
      ),
      trimDead: this.db.prepare<[number]>('DELETE FROM dead WHERE seq <= (SELECT max(seq) FROM dead) - ?'),
      listDead: this.db.prepare<[number], DeadLetter>(
        'SELECT position, raw, reason, ts FROM dead ORDER BY seq DESC LIMIT ?',
      ),
      getMeta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      putMeta: this.db.prepare<[string, string]>(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
    };
    const epoch = this.stmts.getMeta.get('trend_epoch');
    if (epoch) this.decay = { epoch: Number(epoch.value), halfLifeMs: opts.trendingHalfLifeMs };
  }

  async applied(eventIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of eventIds) if (this.stmts.isApplied.get(id)) out.add(id);
    return out;
  }

  async getUsers(subjects: readonly string[]): Promise<Map<string, UserState>> {
    const out = new Map<string, UserState>();
    const cap = this.opts.cacheUsers ?? 0;
    for (const s of subjects) {
      const hit = this.cache.get(s);
      if (hit) {
        out.set(s, hit);
        continue;
      }
      const row = this.stmts.getUser.get(s);
      if (!row) continue;
      const u = decodeUser(row.json);
      out.set(s, u);
      if (cap > 0) this.remember(u, cap);
    }
    return out;
  }

  async commit(c: StateCommit): Promise<void> {
    const touchedCooc = new Set<string>();
    const run = this.db.transaction(() => {
      const conflicts = c.users
        .filter((u) => (this.stmts.getUser.get(u.subject)?.version ?? 0) !== u.version - 1)
        .map((u) => u.subject);
      if (conflicts.length > 0) throw new StateConflictError(conflicts);
      const epoch = this.stmts.getMeta.get('trend_epoch');
      this.decay = epoch ? { epoch: Number(epoch.value), halfLifeMs: this.opts.trendingHalfLifeMs } : undefined;
      for (const u of c.users) this.stmts.putUser.run(u.subject, u.version, encodeUser(u));
      const at = Date.now();
      for (const id of c.eventIds) this.stmts.markApplied.run(id, at);
      // Sum increments per key first: a batch of 1,000 events touches far fewer rows than it has effects.
      const trend = new Map<string, { scope: string; id: string; w: number }>();
      for (const t of c.effects.trending) {
        if (!this.decay) {
          this.decay = { epoch: t.ts, halfLifeMs: this.opts.trendingHalfLifeMs };
          this.stmts.putMeta.run('trend_epoch', String(t.ts));
        }
        const next = nextEpoch(t.ts, this.decay);
        if (next !== undefined) {
          this.flushTrend(trend);
          this.stmts.scaleTrend.run(rescaleFactor(this.decay.epoch, next, this.decay.halfLifeMs));
          this.decay = { epoch: next, halfLifeMs: this.decay.halfLifeMs };
          this.stmts.putMeta.run('trend_epoch', String(next));
        }
        const key = `${t.scope}\u0000${t.id}`;
        const w = forwardWeight(t.w, t.ts, this.decay);
        const cur = trend.get(key);
        if (cur) cur.w += w;
        else trend.set(key, { scope: t.scope, id: t.id, w });
      }
      this.flushTrend(trend);
      const cooc = new Map<string, { a: string; b: string; w: number }>();
      for (const x of c.effects.cooc) {
        const key = `${x.a}\u0000${x.b}`;
        const cur = cooc.get(key);
        if (cur) cur.w += x.w;
        else cooc.set(key, { ...x });
        touchedCooc.add(x.a);
      }
      for (const x of cooc.values()) this.stmts.addCooc.run(x.a, x.b, x.w);
      const counts = new Map<string, number>();
      for (const x of c.effects.counts) counts.set(x.id, (counts.get(x.id) ?? 0) + x.w);
      for (const [id, n] of counts) this.stmts.addCount.run(id, n);
      for (const d of c.deadLetters) this.stmts.addDead.run(d.position, d.raw, d.reason, d.ts);
      if (c.deadLetters.length > 0) this.stmts.trimDead.run(this.deadCap);
      // Bounding neighbour lists costs a count per touched product; every few commits is enough.
      if (++this.commitsSinceTrim >= 16) {
        this.commitsSinceTrim = 0;
        for (const a of touchedCooc)
          if (this.stmts.coocSize.get(a)!.n > this.coocCap * 1.5) this.stmts.trimCooc.run(a, a, this.coocCap);
      }
    });
    const before = this.decay;
    try {
      run();
    } catch (err) {
      this.decay = before;
      this.forget(c.users.map((u) => u.subject));
      throw err;
    }
    const cap = this.opts.cacheUsers ?? 0;
    if (cap > 0) for (const u of c.users) this.remember(u, cap);
  }

  /** Drops cached states whose in-memory copies may hold uncommitted changes. */
  forget(subjects: readonly string[]): void {
    for (const s of subjects) this.cache.delete(s);
  }

  private remember(u: UserState, cap: number): void {
    // Map order is insertion order: re-inserting makes this the most recently used.
    this.cache.delete(u.subject);
    this.cache.set(u.subject, u);
    if (this.cache.size > cap) this.cache.delete(this.cache.keys().next().value!);
  }

  private flushTrend(trend: Map<string, { scope: string; id: string; w: number }>): void {
    for (const t of trend.values()) this.stmts.addTrend.run(t.scope, t.id, t.w);
    trend.clear();
  }

  async trending(scope: string, k: number): Promise<Array<{ id: string; score: number }>> {
    const rows = this.stmts.topTrend.all(scope, k);
    // Another connection (the consumer thread) may have moved the epoch since this one read it.
    const epoch = this.stmts.getMeta.get('trend_epoch');
    if (epoch) this.decay = { epoch: Number(epoch.value), halfLifeMs: this.opts.trendingHalfLifeMs };
    const d = this.decay;
    const now = Date.now();
    // Relative order is what matters; decay to now only when it stays representable.
    return d ? rows.map((r) => ({ id: r.id, score: decayedAt(r.score, Math.max(now, d.epoch), d) || r.score })) : rows;
  }

  async cooccurring(id: string, k: number): Promise<Array<{ id: string; score: number }>> {
    return this.stmts.topCooc.all(id, k);
  }

  async itemCounts(ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const id of ids) {
      const row = this.stmts.getCount.get(id);
      if (row) out.set(id, row.n);
    }
    return out;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.stmts.listDead.all(limit);
  }

  /** Forgets at most `rows` event ids applied before `before` (epoch ms); returns how many. */
  async pruneApplied(before: number, rows: number): Promise<number> {
    const n = this.stmts.pruneApplied.run(before, rows).changes;
    if (n > 0) reclaimPages(this.db);
    return n;
  }

  /** Deletes at most `rows` dead letters: older than `before`, then beyond the newest `keep`. */
  async pruneDeadLetters(p: { before?: number | undefined; keep?: number | undefined }, rows: number): Promise<number> {
    let n = p.before === undefined ? 0 : this.stmts.pruneDeadBefore.run(p.before, rows).changes;
    if (p.keep !== undefined && n < rows) n += this.stmts.pruneDeadOver.run(p.keep, rows - n).changes;
    if (n > 0) reclaimPages(this.db);
    return n;
  }

  dependencies(): Dependency[] {
    return [];
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
