import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { Dependency } from '../../../core/dependencies.ts';
import type { Experiment, ExperimentStatus } from '../experiment.ts';
import { withStatus, type ExperimentStore } from '../store.ts';

/**
 * Experiment definitions in one SQLite file (`<dataDir>/experiments/experiments.sqlite`): every
 * process on the machine that opens it sees the same definitions (WAL, one row per experiment).
 */
export class SqliteExperimentStore implements ExperimentStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;

  constructor(private readonly opts: { file: string }) {
    fs.mkdirSync(path.dirname(opts.file), { recursive: true });
    this.db = new Database(opts.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec('CREATE TABLE IF NOT EXISTS experiments (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
  }

  async create(e: Experiment): Promise<'created' | 'exists'> {
    const r = this.db
      .prepare('INSERT OR IGNORE INTO experiments (id, body) VALUES (?, ?)')
      .run(e.id, JSON.stringify(e));
    return r.changes === 1 ? 'created' : 'exists';
  }

  async get(id: string): Promise<Experiment | undefined> {
    const row = this.db.prepare<[string], { body: string }>('SELECT body FROM experiments WHERE id = ?').get(id);
    return row ? (JSON.parse(row.body) as Experiment) : undefined;
  }

  async list(): Promise<Experiment[]> {
    return this.db
      .prepare<[], { body: string }>('SELECT body FROM experiments ORDER BY id')
      .all()
      .map((r) => JSON.parse(r.body) as Experiment);
  }

  async setStatus(id: string, status: ExperimentStatus, at: number): Promise<Experiment | undefined> {
    // One transaction: read, move, write; another process's write waits on the lock.
    return this.db
      .transaction(() => {
        const row = this.db.prepare<[string], { body: string }>('SELECT body FROM experiments WHERE id = ?').get(id);
        if (!row) return undefined;
        const next = withStatus(JSON.parse(row.body) as Experiment, status, at);
        this.db.prepare('UPDATE experiments SET body = ? WHERE id = ?').run(JSON.stringify(next), id);
        return next;
      })
      .immediate();
  }

  dependencies(): Dependency[] {
    return [{ name: 'experiments', check: async () => `SQLite at ${this.opts.file}` }];
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
