import fs from 'node:fs';
import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import {
  compileFilter,
  filterPayload,
  hasFilters,
  type FilterPayload,
  type VectorPoint,
  type VectorStore,
} from '../stores.ts';
import type { Filters, RouteHit } from '../types.ts';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

export interface HnswParams {
  /** Graph degree. */
  m: number;
  efConstruction: number;
  efSearch: number;
  /**
   * Filtered queries whose filter matches at most this share of the points are answered by
   * an exact scan of the matching points: a graph walk that rejects most nodes is slower and
   * misses results, while a scan of a few thousand vectors is both exact and fast.
   */
  exactScanShare: number;
}

export const DEFAULT_HNSW: HnswParams = { m: 16, efConstruction: 200, efSearch: 128, exactScanShare: 0.05 };

const pointsSchema = (table: string) => `
CREATE TABLE IF NOT EXISTS ${table} (
  label INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL,
  category TEXT,
  brand TEXT,
  price REAL,
  in_stock INTEGER NOT NULL,
  vec BLOB NOT NULL
);
`;

/** Filter payload of one point, indexed by its HNSW label. */
interface Payload extends FilterPayload {
  id: string;
}

/**
 * Embedded vector index: hnswlib (HNSW graph) for search, persisted beside a SQLite table that
 * holds each point's vector and filter payload. The table is the source of truth: the graph
 * file can always be rebuilt from it, and exact scans read the vectors from memory.
 */
export class HnswVectorStore implements VectorStore {
  readonly kind = 'hnswlib';
  private index: Hnsw;
  private payload: Array<Payload | undefined> = [];
  private vectors: Float32Array;
  private live = 0;
  private dirty = false;
  private readonly stmts;

  private constructor(
    private readonly db: Database.Database,
    private readonly graphPath: string,
    readonly dim: number,
    private readonly params: HnswParams,
    private readonly table: string,
  ) {
    this.stmts = {
      byId: db.prepare<[string], { label: number }>(`SELECT label FROM ${table} WHERE id = ?`),
      insert: db.prepare(
        `INSERT INTO ${table} (id, hash, category, brand, price, in_stock, vec) VALUES (@id, @hash, @category, @brand, @price, @in_stock, @vec)`,
      ),
      update: db.prepare(
        `UPDATE ${table} SET hash=@hash, category=@category, brand=@brand, price=@price, in_stock=@in_stock, vec=@vec WHERE label=@label`,
      ),
      delete: db.prepare(`DELETE FROM ${table} WHERE label = ?`),
      hashes: db.prepare<[], { id: string; hash: string }>(`SELECT id, hash FROM ${table}`),
    };
    this.index = new HierarchicalNSW('cosine', dim);
    this.vectors = new Float32Array(0);
  }

  /**
   * Opens (or creates) the store. The graph is loaded from `graphPath` when it is present and
   * matches the table; otherwise it is rebuilt from the stored vectors.
   */
  static open(
    db: Database.Database,
    graphPath: string,
    dim: number,
    params: HnswParams = DEFAULT_HNSW,
    table = 'points',
  ): HnswVectorStore {
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`bad table name ${table}`);
    if (!db.readonly) db.exec(pointsSchema(table));
    const store = new HnswVectorStore(db, graphPath, dim, params, table);
    store.load();
    return store;
  }

  private hasDocs(): boolean {
    return (
      this.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'docs'").get()!.n > 0
    );
  }

  private load(): void {
    const rows = this.db
      .prepare<
        [],
        {
          label: number;
          id: string;
          category: string | null;
          brand: string | null;
          price: number | null;
          in_stock: number;
          vec: Buffer;
          attributes: string | null;
        }
      >(
        // Attribute filters read the product's attributes from the text store's documents in the
        // same database (a vector table alone has no attributes column).
        this.hasDocs()
          ? `SELECT v.label, v.id, v.category, v.brand, v.price, v.in_stock, v.vec,
               (SELECT json_extract(d.doc, '$.attributes') FROM docs d WHERE d.id = v.id) AS attributes
             FROM ${this.table} v`
          : `SELECT label, id, category, brand, price, in_stock, vec, NULL AS attributes FROM ${this.table}`,
      )
      .all();
    const maxLabel = rows.reduce((m, r) => Math.max(m, r.label), 0);
    this.ensureCapacity(maxLabel + 1);
    for (const r of rows) {
      this.payload[r.label] = rowPayload(r);
      this.vectors.set(blobToVector(r.vec, this.dim), r.label * this.dim);
    }
    this.live = rows.length;
    let loaded = false;
    if (fs.existsSync(this.graphPath)) {
      try {
        this.index.readIndexSync(this.graphPath, true);
        // Points deleted from the table but present in the graph are harmless (no payload, skipped);
        // a point missing from the graph is not, so the graph must cover every stored label.
        loaded = this.graphMatches(rows.map((r) => r.label));
      } catch {
        loaded = false;
      }
    }
    if (!loaded) {
      // Missing or stale graph (e.g. a crash between table and graph writes): rebuild it.
      this.index = new HierarchicalNSW('cosine', this.dim);
      this.index.initIndex(Math.max(1024, maxLabel + 1), this.params.m, this.params.efConstruction, 100, true);
      for (const r of rows) this.index.addPoint(this.vectorOf(r.label), r.label);
      this.dirty = rows.length > 0;
    } else if (this.index.getMaxElements() < maxLabel + 1) {
      this.index.resizeIndex(maxLabel + 1024);
    }
    if (this.index.getMaxElements() === 0) {
      this.index.initIndex(1024, this.params.m, this.params.efConstruction, 100, true);
    }
    this.index.setEf(this.params.efSearch);
  }

  private graphMatches(labels: number[]): boolean {
    const inGraph = new Set(this.index.getIdsList());
    return labels.every((l) => inGraph.has(l));
  }

  private ensureCapacity(labels: number): void {
    const need = labels * this.dim;
    if (this.vectors.length >= need) return;
    const grown = new Float32Array(Math.max(need, this.vectors.length * 2, 1024 * this.dim));
    grown.set(this.vectors);
    this.vectors = grown;
  }

  private vectorOf(label: number): number[] {
    return Array.from(this.vectors.subarray(label * this.dim, (label + 1) * this.dim));
  }

  async upsert(points: VectorPoint[]): Promise<void> {
    for (const p of points) {
      if (p.vector.length !== this.dim) {
        throw new Error(`vector for ${p.product.id} has ${p.vector.length} dimensions, index has ${this.dim}`);
      }
    }
    const written: Array<{ label: number; point: VectorPoint }> = [];
    const tx = this.db.transaction(() => {
      for (const point of points) {
        const { product, hash, vector } = point;
        const row = {
          id: product.id,
          hash,
          category: product.category ?? null,
          brand: product.brand ?? null,
          price: product.price ?? null,
          in_stock: product.in_stock ? 1 : 0,
          vec: Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength),
        };
        const existing = this.stmts.byId.get(product.id);
        if (existing) {
          this.stmts.update.run({ ...row, label: existing.label });
          written.push({ label: existing.label, point });
        } else {
          written.push({ label: Number(this.stmts.insert.run(row).lastInsertRowid), point });
        }
      }
    });
    tx();
    const maxLabel = written.reduce((m, w) => Math.max(m, w.label), 0);
    this.ensureCapacity(maxLabel + 1);
    if (this.index.getMaxElements() < maxLabel + 1) {
      this.index.resizeIndex(Math.max(maxLabel + 1, Math.ceil(this.index.getMaxElements() * 1.5)));
    }
    for (const { label, point } of written) {
      if (this.payload[label] === undefined) this.live++;
      this.payload[label] = { id: point.product.id, ...filterPayload(point.product) };
      this.vectors.set(point.vector, label * this.dim);
      // hnswlib updates an existing label in place (and un-deletes it if it was marked deleted).
      this.index.addPoint(Array.from(point.vector), label);
    }
    this.dirty = true;
  }

  async delete(ids: string[]): Promise<void> {
    const labels: number[] = [];
    const tx = this.db.transaction(() => {
      for (const id of ids) {
        const existing = this.stmts.byId.get(id);
        if (!existing) continue;
        this.stmts.delete.run(existing.label);
        labels.push(existing.label);
      }
    });
    tx();
    for (const label of labels) {
      this.index.markDelete(label);
      this.payload[label] = undefined;
      this.live--;
    }
    if (labels.length > 0) this.dirty = true;
  }

  async vectorsOf(ids: readonly string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const id of ids) {
      const row = this.stmts.byId.get(id);
      if (row && this.payload[row.label])
        out.set(id, this.vectors.slice(row.label * this.dim, (row.label + 1) * this.dim));
    }
    return out;
  }

  async search(vector: Float32Array, k: number, filters?: Filters): Promise<RouteHit[]> {
    if (this.live === 0 || k <= 0) return [];
    if (hasFilters(filters)) {
      const allowed: number[] = [];
      const pass = compileFilter(filters);
      for (let label = 0; label < this.payload.length; label++) {
        const p = this.payload[label];
        if (p && pass(p)) allowed.push(label);
      }
      if (allowed.length === 0) return [];
      if (allowed.length <= Math.max(k * 4, this.live * this.params.exactScanShare))
        return this.exactScan(vector, k, allowed);
      const allowedSet = new Set(allowed);
      return this.graphSearch(vector, Math.min(k, allowed.length), (label) => allowedSet.has(label));
    }
    return this.graphSearch(vector, Math.min(k, this.live));
  }

  /** Exact top-k by dot product (vectors are unit length) over the given labels. */
  exactScan(vector: Float32Array, k: number, labels?: Iterable<number>): RouteHit[] {
    const dim = this.dim;
    const scored: Array<{ label: number; s: number }> = [];
    const all = labels ?? this.payload.keys();
    for (const label of all) {
      if (!this.payload[label]) continue;
      let s = 0;
      const off = label * dim;
      for (let i = 0; i < dim; i++) s += vector[i]! * this.vectors[off + i]!;
      scored.push({ label, s });
    }
    scored.sort((a, b) => b.s - a.s || a.label - b.label);
    return scored.slice(0, k).map(({ label, s }) => ({ id: this.payload[label]!.id, score: s }));
  }

  private graphSearch(vector: Float32Array, k: number, filter?: (label: number) => boolean): RouteHit[] {
    if (k <= 0) return [];
    this.index.setEf(Math.max(this.params.efSearch, k));
    const res = this.index.searchKnn(Array.from(vector), k, filter);
    const hits: RouteHit[] = [];
    for (let i = 0; i < res.neighbors.length; i++) {
      const p = this.payload[res.neighbors[i]!];
      if (p) hits.push({ id: p.id, score: 1 - res.distances[i]! });
    }
    return hits;
  }

  async hashes(): Promise<Map<string, string>> {
    return new Map(this.stmts.hashes.all().map((r) => [r.id, r.hash]));
  }

  async count(): Promise<number> {
    return this.live;
  }

  /** Writes the graph file; the table is already durable through SQLite. */
  flush(): void {
    if (!this.dirty) return;
    const tmp = `${this.graphPath}.tmp`;
    this.index.writeIndexSync(tmp);
    fs.renameSync(tmp, this.graphPath);
    this.dirty = false;
  }

  async close(): Promise<void> {
    // Persisting is the owner's (the generation writer's) decision, via flush().
  }
}

function rowPayload(r: {
  id: string;
  category: string | null;
  brand: string | null;
  price: number | null;
  in_stock: number;
  attributes: string | null;
}): Payload {
  return {
    id: r.id,
    ...filterPayload({
      in_stock: r.in_stock === 1,
      ...(r.attributes !== null && { attributes: JSON.parse(r.attributes) as Record<string, string> }),
      ...(r.category !== null && { category: r.category }),
      ...(r.brand !== null && { brand: r.brand }),
      ...(r.price !== null && { price: r.price }),
    }),
  };
}

export function blobToVector(blob: Buffer, dim: number): Float32Array {
  if (blob.byteLength !== dim * 4)
    throw new Error(`stored vector has ${blob.byteLength / 4} dimensions, expected ${dim}`);
  // Copy: the Buffer may be a view into a pooled allocation with any alignment.
  return new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}
