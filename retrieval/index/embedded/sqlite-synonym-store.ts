import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EMPTY_SYNONYMS, type SynonymRule, type SynonymSet, type SynonymStore } from '../synonyms.ts';

/**
 * The embedded synonym set: one row in `DATA/synonyms.sqlite`, beside (not inside) the index
 * generations, so a catalog rebuild keeps it. Every process on the folder reads the same row;
 * a replace is one transaction that bumps the version.
 */
export class SqliteSynonymStore implements SynonymStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, 'synonyms.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS synonyms (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, updated_at TEXT NOT NULL, rules TEXT NOT NULL)',
    );
  }

  async get(): Promise<SynonymSet> {
    const row = this.db
      .prepare<[], { version: number; updated_at: string; rules: string }>('SELECT * FROM synonyms WHERE id = 1')
      .get();
    if (!row) return EMPTY_SYNONYMS;
    return { version: row.version, updated_at: row.updated_at, synonyms: JSON.parse(row.rules) as SynonymRule[] };
  }

  async put(rules: SynonymRule[]): Promise<SynonymSet> {
    const updated_at = new Date().toISOString();
    const tx = this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO synonyms (id, version, updated_at, rules) VALUES (1, 1, @updated_at, @rules)
           ON CONFLICT(id) DO UPDATE SET version = version + 1, updated_at = @updated_at, rules = @rules`,
        )
        .run({ updated_at, rules: JSON.stringify(rules) });
    });
    tx.immediate();
    return this.get();
  }

  async clear(): Promise<SynonymSet> {
    return this.put([]);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
