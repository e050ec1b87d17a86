import path from 'node:path';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { EmbedRole, TextEmbedder } from '../core/embedding/embedder.ts';
import { blobToVector } from '../retrieval/index/embedded/hnsw-vector-store.ts';

/**
 * Embeddings survive a crash: each batch is committed to DATA/embed-cache.sqlite as soon as it
 * is computed, keyed by (embedder id, text hash). A rerun after a crash re-embeds nothing it
 * already has, which is what makes a 100,000-product first run resumable.
 */
export class EmbeddingCache {
  private readonly db: Database.Database;
  private readonly getStmt;
  private readonly putStmt;

  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, 'embed-cache.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS embeddings (embedder TEXT NOT NULL, hash TEXT NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (embedder, hash)) WITHOUT ROWID',
    );
    this.getStmt = this.db.prepare<[string, string], { vec: Buffer }>(
      'SELECT vec FROM embeddings WHERE embedder = ? AND hash = ?',
    );
    this.putStmt = this.db.prepare('INSERT OR REPLACE INTO embeddings (embedder, hash, vec) VALUES (?, ?, ?)');
  }

  /**
   * Vectors for every item, embedding only cache misses, in batches. `onBatch` reports how
   * many items are done (hits count immediately).
   */
  async embed(
    embedder: TextEmbedder,
    items: Array<{ hash: string; text: string }>,
    opts: { batchSize?: number; role?: EmbedRole; onProgress?: (done: number) => void } = {},
  ): Promise<{ vectors: Float32Array[]; hits: number }> {
    const role = opts.role ?? 'document';
    return this.embedWith(
      { id: embedder.id, dim: embedder.dim, run: (inputs) => embedder.embedTexts(inputs, role) },
      items,
      opts,
    );
  }

  /** Same, for any model call (image embeddings key their entries by the image model's id). */
  async embedWith(
    model: { id: string; dim: number; run: (inputs: string[]) => Promise<Float32Array[]> },
    items: Array<{ hash: string; text: string }>,
    opts: { batchSize?: number; onProgress?: (done: number) => void } = {},
  ): Promise<{ vectors: Float32Array[]; hits: number }> {
    const batchSize = opts.batchSize ?? 64;
    const vectors: Array<Float32Array | undefined> = new Array(items.length);
    const misses: number[] = [];
    items.forEach((it, i) => {
      const row = this.getStmt.get(model.id, it.hash);
      if (row) vectors[i] = blobToVector(row.vec, model.dim);
      else misses.push(i);
    });
    const hits = items.length - misses.length;
    opts.onProgress?.(hits);
    const put = this.db.transaction((batch: Array<{ hash: string; vec: Float32Array }>) => {
      for (const b of batch)
        this.putStmt.run(model.id, b.hash, Buffer.from(b.vec.buffer, b.vec.byteOffset, b.vec.byteLength));
    });
    for (let start = 0; start < misses.length; start += batchSize) {
      const idx = misses.slice(start, start + batchSize);
      const out = await model.run(idx.map((i) => items[i]!.text));
      if (out.length !== idx.length) throw new Error(`embedder returned ${out.length} vectors for ${idx.length} texts`);
      idx.forEach((i, j) => (vectors[i] = out[j]!));
      put(idx.map((i, j) => ({ hash: items[i]!.hash, vec: out[j]! })));
      opts.onProgress?.(hits + Math.min(start + batchSize, misses.length));
    }
    return { vectors: vectors as Float32Array[], hits };
  }

  close(): void {
    this.db.close();
  }
}
