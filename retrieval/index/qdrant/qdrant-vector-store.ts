import { createHash } from 'node:crypto';
import { v5 } from 'uuid';
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { attributeKeysOf, filterKey, type VectorPoint, type VectorStore } from '../stores.ts';
import { filterValues, type Filters, type RouteHit } from '../types.ts';

/**
 * Production vector store on Qdrant: one collection per catalog with named cosine vectors,
 * `text` and, when product images are indexed, `image`. A store reads and writes one of them:
 *  - the `text` store owns the points: its upsert writes the whole point (payload + text
 *    vector, keeping the image vector the point already has), its delete removes the point;
 *  - the `image` store only sets or removes the image vector of existing points, so "has an
 *    image vector" (`has_vector`) is what it counts, lists and searches.
 * Qdrant point ids must be unsigned integers or UUIDs, so each product id is mapped to
 * a deterministic UUID (v5) and the product id itself is kept in the payload (`product_id`).
 *
 * Filters are translated to a Qdrant filter evaluated inside the HNSW search, with the same
 * semantics as compileFilter() in ../stores.ts:
 *  - category: case-insensitive '/'-path prefix. Every point stores `category_prefixes`, all the
 *    '/'-prefixes of its lowercased path, so a prefix filter is one keyword `match: {value}`.
 *  - brand: case-insensitive equality on `brand_key`.
 *  - price_min/price_max: inclusive `range` on `price` (a point without a price never matches).
 *  - in_stock: boolean `match` on `in_stock`.
 */

export const VECTOR_NAME = 'text';
export const IMAGE_VECTOR_NAME = 'image';
/** `text`, `image`, or an extra text model's vector (extraVectorName). */
export type VectorName = string;

/**
 * The named vector of an extra text model (embedder.extra_models): `text-` and a hash of the model
 * id. Like `image`, it is set on the points the `text` store owns.
 */
export function extraVectorName(modelId: string): string {
  return `text-${createHash('sha256').update(modelId).digest('hex').slice(0, 12)}`;
}
export const UPSERT_BATCH = 256;
const DELETE_BATCH = 1024;
const SCROLL_PAGE = 1024;

/** Namespace of Shelf's product-id → point-id UUIDs (a fixed, random v4 UUID). */
export const POINT_ID_NAMESPACE = '0b6f3c9e-5d1a-4e7b-9c2f-7a8d4e1b3f60';

/** Payload indexes the filters rely on, created idempotently when the store opens. */
export const PAYLOAD_INDEXES: ReadonlyArray<{ field: string; type: 'keyword' | 'float' | 'bool' }> = [
  { field: 'product_id', type: 'keyword' },
  { field: 'category_prefixes', type: 'keyword' },
  { field: 'brand_key', type: 'keyword' },
  { field: 'price', type: 'float' },
  { field: 'in_stock', type: 'bool' },
];

/** RFC 4122 name-based UUID, version 5 (SHA-1), from the `uuid` package. */
export function uuidV5(name: string, namespace: string): string {
  return v5(name, namespace);
}

/** The Qdrant point id of a product: deterministic, so re-upserting a product replaces it. */
export function pointId(productId: string): string {
  return uuidV5(productId, POINT_ID_NAMESPACE);
}

/**
 * Every value `c` for which compileFilter's category test passes on this key: the key itself
 * and each prefix ending just before a '/'. `categoryKey === c || categoryKey.startsWith(c + '/')`
 * holds exactly when `c` is in this list.
 */
export function categoryPrefixes(categoryKey: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < categoryKey.length; i++) {
    if (categoryKey[i] === '/') out.push(categoryKey.slice(0, i));
  }
  out.push(categoryKey);
  return [...new Set(out)];
}

export interface QdrantPayload {
  product_id: string;
  hash: string;
  category_key?: string;
  category_prefixes?: string[];
  brand_key?: string;
  price?: number;
  in_stock: boolean;
  /** Attribute names and values through filterKey(), for attribute filters. */
  attribute_keys?: Record<string, string>;
}

export function pointPayload(p: Pick<VectorPoint, 'product' | 'hash'>): QdrantPayload {
  const { product, hash } = p;
  const categoryKey = product.category !== undefined ? filterKey(product.category) : undefined;
  return {
    product_id: product.id,
    hash,
    ...(categoryKey !== undefined && { category_key: categoryKey, category_prefixes: categoryPrefixes(categoryKey) }),
    ...(product.brand !== undefined && { brand_key: filterKey(product.brand) }),
    ...(product.price !== undefined && { price: product.price }),
    ...(product.attributes && { attribute_keys: attributeKeysOf(product.attributes) }),
    in_stock: product.in_stock,
  };
}

/** Translates Shelf filters into a Qdrant filter (all conditions in `must`); undefined when none apply. */
export function qdrantFilter(f: Filters | undefined): Schemas['Filter'] | undefined {
  if (!f) return undefined;
  const must: Schemas['FieldCondition'][] = [];
  // Several values of one field: any of them (`match.any`); fields combine in `must`.
  const anyOf = (key: string, values: readonly string[]) =>
    must.push({ key, match: values.length === 1 ? { value: values[0]! } : { any: [...values] } });
  const categories = filterValues(f.category).map((c) => filterKey(c).replace(/^\/+|\/+$/g, ''));
  if (categories.length > 0) anyOf('category_prefixes', categories);
  const brands = filterValues(f.brand).map(filterKey);
  if (brands.length > 0) anyOf('brand_key', brands);
  for (const [name, values] of Object.entries(f.attributes ?? {}))
    anyOf(`attribute_keys.${filterKey(name)}`, filterValues(values).map(filterKey));
  if (f.price_min !== undefined || f.price_max !== undefined) {
    must.push({
      key: 'price',
      range: {
        ...(f.price_min !== undefined && { gte: f.price_min }),
        ...(f.price_max !== undefined && { lte: f.price_max }),
      },
    });
  }
  if (f.in_stock !== undefined) must.push({ key: 'in_stock', match: { value: f.in_stock } });
  return must.length > 0 ? { must } : undefined;
}

export interface QdrantOpenOptions {
  url: string;
  apiKey?: string;
  collection: string;
  dim: number;
  /** Request timeout in ms (the client's default is 300 s). */
  timeoutMs?: number;
  /** Reuse a client (the production backend shares one across stores). */
  client?: QdrantClient;
  /** The named vector this store reads and writes (default `text`). */
  vector?: VectorName;
  /** Dimension of every named vector the collection holds, created together (default: this store's only). */
  collectionVectors?: Record<VectorName, number>;
}

/** A failed Qdrant request, with the reason Qdrant gave (`status.error` of its answer). */
export class QdrantRequestError extends Error {
  constructor(
    readonly method: string,
    /** HTTP status, when Qdrant answered at all. */
    readonly status: number | undefined,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`Qdrant ${method}: ${status !== undefined ? `${status} ` : ''}${reason}`, options);
    this.name = 'QdrantRequestError';
  }
}

/**
 * The REST client's errors carry only the HTTP status text ("Not Found", "Bad Request") as their
 * message; Qdrant's own reason ("Collection `x` doesn't exist!", "No point with id … found") is in
 * `data.status.error`. Operators read these messages in index reports and logs, so keep the reason.
 */
export function describeQdrantError(method: string, err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof QdrantRequestError) return err;
  const e = err as Error & { status?: unknown; data?: { status?: { error?: unknown } } };
  const reason = e.data?.status?.error;
  if (typeof e.status !== 'number') return err;
  return new QdrantRequestError(method, e.status, typeof reason === 'string' ? reason : e.message, { cause: err });
}

/**
 * True when a request failed because the pooled connection it was sent on had been closed by the
 * server. Qdrant (actix-web) closes idle connections after 5 s without saying so in a Keep-Alive
 * header, while the client's pool keeps them for 10 s; a request that goes out on such a socket
 * before the event loop has seen the close fails with "fetch failed: other side closed". The
 * request never reached Qdrant, so sending it again on a new connection is safe.
 */
export function isStaleConnection(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return err instanceof TypeError && (cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'ECONNRESET');
}

/**
 * Every method of the client rejects with a QdrantRequestError instead of a bare status text, and
 * a request that hit a connection the server had already closed is sent once more.
 */
function withQdrantReasons(client: QdrantClient): QdrantClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const call = (): unknown => value.apply(target, args);
        const out = call();
        if (!(out instanceof Promise)) return out;
        return out
          .catch((err: unknown) => {
            if (isStaleConnection(err)) return call();
            throw err;
          })
          .catch((err: unknown) => {
            throw describeQdrantError(String(prop), err);
          });
      };
    },
  });
}

/**
 * Headers every request of the adapter's client carries. `Accept-Encoding: identity` asks Qdrant for
 * uncompressed answers. Node's fetch sends `Accept-Encoding: gzip, deflate` by default, and Qdrant
 * (actix-web) then compresses any answer over 1 KiB (a top-k of about 10 hits or more) on a worker
 * thread and streams it chunked: the headers go out in one TCP segment, the compressed body in a
 * later one. Qdrant does not set TCP_NODELAY, so Nagle's algorithm holds that second segment until
 * the client acknowledges the first, and the client's kernel delays that ACK by up to 40 ms: a
 * 4 ms search took ~50 ms (docs/BENCHMARKS.md, "Where the 45 ms went"). On localhost or a LAN the
 * few KiB the compression saves are worth nothing; the stall is what the search route waited for.
 */
export const QDRANT_CLIENT_HEADERS: Readonly<Record<string, string>> = { 'accept-encoding': 'identity' };

export function qdrantClient(opts: {
  url: string;
  apiKey?: string | undefined;
  timeoutMs?: number | undefined;
}): QdrantClient {
  return withQdrantReasons(
    new QdrantClient({
      url: opts.url,
      headers: { ...QDRANT_CLIENT_HEADERS },
      ...(opts.apiKey !== undefined && { apiKey: opts.apiKey }),
      ...(opts.timeoutMs !== undefined && { timeout: opts.timeoutMs }),
      checkCompatibility: false,
    }),
  );
}

export class QdrantVectorStore implements VectorStore {
  readonly kind = 'qdrant';

  /** true for the `text` store, which owns the points; false for the `image` store. */
  private readonly ownsPoints: boolean;

  private constructor(
    private readonly client: QdrantClient,
    readonly collection: string,
    readonly dim: number,
    readonly vector: VectorName = VECTOR_NAME,
    private readonly collectionVectors: Record<VectorName, number> = { [vector]: dim },
  ) {
    this.ownsPoints = vector === VECTOR_NAME;
  }

  /** Connects, and creates the collection and its payload indexes when they are missing. */
  static async open(opts: QdrantOpenOptions): Promise<QdrantVectorStore> {
    const vector = opts.vector ?? VECTOR_NAME;
    const all = { ...opts.collectionVectors, [vector]: opts.dim };
    for (const [name, dim] of Object.entries(all)) {
      if (!Number.isInteger(dim) || dim <= 0) throw new Error(`bad vector dimension ${dim} for "${name}"`);
    }
    if (opts.collectionVectors?.[vector] !== undefined && opts.collectionVectors[vector] !== opts.dim) {
      throw new Error(
        `vector "${vector}": dim ${opts.dim} disagrees with collectionVectors (${opts.collectionVectors[vector]})`,
      );
    }
    const client = opts.client ?? qdrantClient(opts);
    const store = new QdrantVectorStore(client, opts.collection, opts.dim, vector, all);
    await store.ensureCollection();
    return store;
  }

  /**
   * A store over an existing collection or alias, sending nothing until used: the searcher
   * reads through the alias, so a rebuild's swap is seen without reopening anything.
   */
  static attach(
    client: QdrantClient,
    collectionOrAlias: string,
    dim: number,
    vector: VectorName = VECTOR_NAME,
  ): QdrantVectorStore {
    return new QdrantVectorStore(client, collectionOrAlias, dim, vector);
  }

  private async ensureCollection(): Promise<void> {
    const name = this.collection;
    let info: Schemas['CollectionInfo'] | undefined;
    if ((await this.client.collectionExists(name)).exists) {
      info = await this.client.getCollection(name);
    } else {
      try {
        const vectors = Object.fromEntries(
          Object.entries(this.collectionVectors).map(([v, size]) => [v, { size, distance: 'Cosine' as const }]),
        );
        await this.client.createCollection(name, { vectors });
      } catch (err) {
        // Another writer may have created it in between: accept it if it is compatible.
        if (!(await this.client.collectionExists(name)).exists) throw err;
        info = await this.client.getCollection(name);
      }
    }
    if (info) this.checkVectors(info);
    const existing = info?.payload_schema ?? {};
    for (const { field, type } of PAYLOAD_INDEXES) {
      const have = existing[field]?.data_type;
      if (have === type) continue;
      if (have !== undefined) {
        throw new Error(`Qdrant collection ${name}: payload index on ${field} is ${have}, expected ${type}`);
      }
      await this.client.createPayloadIndex(name, { field_name: field, field_schema: type, wait: true });
    }
  }

  private checkVectors(info: Schemas['CollectionInfo']): void {
    const vectors = info.config.params.vectors;
    const byName =
      vectors && !('size' in vectors) ? (vectors as Record<string, Schemas['VectorParams'] | undefined>) : {};
    for (const [name, dim] of Object.entries(this.collectionVectors)) {
      const named = byName[name];
      if (!named) {
        throw new Error(`Qdrant collection ${this.collection} has no named vector "${name}"`);
      }
      if (named.size !== dim) {
        throw new Error(
          `Qdrant collection ${this.collection}: vector "${name}" has dimension ${named.size}, but the embedder produces dimension ${dim}`,
        );
      }
      if (named.distance !== 'Cosine') {
        throw new Error(
          `Qdrant collection ${this.collection}: vector "${name}" uses ${named.distance} distance, expected Cosine`,
        );
      }
    }
  }

  async upsert(points: VectorPoint[]): Promise<void> {
    for (const p of points) {
      if (p.vector.length !== this.dim) {
        throw new Error(`vector for ${p.product.id} has ${p.vector.length} dimensions, collection has ${this.dim}`);
      }
    }
    // Later duplicates of an id win, as they would in sequential upserts.
    const byId = new Map<string, VectorPoint>();
    for (const p of points) byId.set(p.product.id, p);
    const all = [...byId.values()];
    for (let i = 0; i < all.length; i += UPSERT_BATCH) {
      const batch = all.slice(i, i + UPSERT_BATCH);
      if (!this.ownsPoints) {
        // Sets this vector on points the text store wrote; their payload stays as it is.
        await this.client.updateVectors(this.collection, {
          wait: true,
          points: batch.map((p) => ({ id: pointId(p.product.id), vector: { [this.vector]: Array.from(p.vector) } })),
        });
        continue;
      }
      const kept = await this.otherVectorsOf(batch.map((p) => p.product.id));
      await this.client.upsert(this.collection, {
        wait: true,
        points: batch.map((p) => ({
          id: pointId(p.product.id),
          vector: { ...kept.get(p.product.id), [VECTOR_NAME]: Array.from(p.vector) },
          payload: { ...pointPayload(p) },
        })),
      });
    }
  }

  /**
   * The vectors other than this store's (the image vector) that these products' points hold now.
   * Qdrant's upsert replaces the whole point, every named vector included, so the text store
   * writes them back: a text write must not remove an image vector, as it does not in the
   * embedded back end, where images are a separate index (a --verify repair of a stale text
   * vector would otherwise silently drop the product's image). Nothing is read when the
   * collection has no other vector.
   */
  private async otherVectorsOf(ids: readonly string[]): Promise<Map<string, Record<string, number[]>>> {
    const others = Object.keys(this.collectionVectors).filter((v) => v !== this.vector);
    const out = new Map<string, Record<string, number[]>>();
    if (others.length === 0) return out;
    const points = await this.client.retrieve(this.collection, {
      ids: ids.map(pointId),
      with_payload: ['product_id'],
      with_vector: others,
    });
    for (const p of points) {
      const id = p.payload?.['product_id'];
      if (typeof id !== 'string' || !p.vector || Array.isArray(p.vector)) continue;
      const vectors: Record<string, number[]> = {};
      for (const [name, v] of Object.entries(p.vector)) {
        if (others.includes(name) && Array.isArray(v) && typeof v[0] === 'number') vectors[name] = v as number[];
      }
      if (Object.keys(vectors).length > 0) out.set(id, vectors);
    }
    return out;
  }

  async delete(ids: string[]): Promise<void> {
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += DELETE_BATCH) {
      if (!this.ownsPoints) {
        // By filter, not by id list: ids without a point (or without this vector) are a no-op.
        await this.client.deleteVectors(this.collection, {
          wait: true,
          vector: [this.vector],
          filter: { must: [{ has_id: unique.slice(i, i + DELETE_BATCH).map(pointId) }] },
        });
        continue;
      }
      await this.client.delete(this.collection, { wait: true, points: unique.slice(i, i + DELETE_BATCH).map(pointId) });
    }
  }

  async search(vector: Float32Array, k: number, filters?: Filters): Promise<RouteHit[]> {
    if (k <= 0) return [];
    if (vector.length !== this.dim) {
      throw new Error(`query vector has ${vector.length} dimensions, collection has ${this.dim}`);
    }
    const filter = qdrantFilter(filters);
    const res = await this.client.query(this.collection, {
      query: Array.from(vector),
      using: this.vector,
      limit: k,
      with_payload: ['product_id'],
      with_vector: false,
      ...(filter && { filter }),
    });
    const hits: RouteHit[] = [];
    for (const p of res.points) {
      const id = p.payload?.['product_id'];
      if (typeof id === 'string') hits.push({ id, score: p.score });
    }
    return hits;
  }

  async vectorsOf(ids: readonly string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += DELETE_BATCH) {
      const points = await this.client.retrieve(this.collection, {
        ids: unique.slice(i, i + DELETE_BATCH).map(pointId),
        with_payload: ['product_id'],
        with_vector: [this.vector],
      });
      for (const p of points) {
        const id = p.payload?.['product_id'];
        // Named vectors come back as {name: number[]}; a point without this vector has no entry.
        const v = p.vector && !Array.isArray(p.vector) ? (p.vector as Record<string, unknown>)[this.vector] : undefined;
        if (typeof id === 'string' && Array.isArray(v) && typeof v[0] === 'number')
          out.set(id, Float32Array.from(v as number[]));
      }
    }
    return out;
  }

  async hashes(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let offset: Schemas['ExtendedPointId'] | undefined;
    for (;;) {
      const page = await this.client.scroll(this.collection, {
        limit: SCROLL_PAGE,
        with_payload: ['product_id', 'hash'],
        with_vector: false,
        ...(offset !== undefined && { offset }),
        ...(this.hasVectorFilter && { filter: this.hasVectorFilter }),
      });
      for (const p of page.points) {
        const id = p.payload?.['product_id'];
        const hash = p.payload?.['hash'];
        if (typeof id === 'string' && typeof hash === 'string') out.set(id, hash);
      }
      const next = page.next_page_offset;
      if (next === undefined || next === null || typeof next === 'object') break;
      offset = next;
    }
    return out;
  }

  async count(): Promise<number> {
    return (
      await this.client.count(this.collection, {
        exact: true,
        ...(this.hasVectorFilter && { filter: this.hasVectorFilter }),
      })
    ).count;
  }

  /** The image store's points are those that have an image vector. */
  private get hasVectorFilter(): Schemas['Filter'] | undefined {
    return this.ownsPoints ? undefined : { must: [{ has_vector: this.vector }] };
  }

  async close(): Promise<void> {
    // The REST client holds no resources that need releasing beyond its keep-alive pool.
  }
}
