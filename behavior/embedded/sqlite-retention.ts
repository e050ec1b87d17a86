import type Database from 'better-sqlite3';

/**
 * Adds a column to a table made by an older version, once. A constant default fills the old rows
 * without rewriting them (SQLite stores it in the schema).
 */
export function addColumnOnce(db: Database.Database, table: string, column: string, decl: string): void {
  const cols = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Array<{ name: string }>;
  if (!cols.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${decl}`);
}

/** Bytes the file's live pages hold (pages on the free list are not counted). */
export function usedBytes(db: Database.Database): number {
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  return (pages - free) * (db.pragma('page_size', { simple: true }) as number);
}

/**
 * Gives up to `pages` free pages back to the file system (files made with auto_vacuum=INCREMENTAL;
 * a no-op otherwise, where SQLite reuses the free pages for new rows instead).
 */
export function reclaimPages(db: Database.Database, pages = 4096): void {
  db.pragma(`incremental_vacuum(${pages})`);
}
