import type { QdrantClient, Schemas } from '@qdrant/js-client-rest';
import { dot, dotFromDistance, euclideanItem, euclideanQuery } from '../inner-product.ts';
import {
  DEFAULT_SEQUENCE_EF_SEARCH,
  DEFAULT_SEQUENCE_FULL_SCAN_KB,
  scansExactly,
  type SequenceIndexOptions,
  type SequenceItemIndex,
  type SequenceItemIndexes,
} from '../sequence-items.ts';
import type { RouteHit } from '../types.ts';
import { pointId, qdrantClient, UPSERT_BATCH } from './qdrant-vector-store.ts';

/** The named vector the sequence model's item embeddings live in. */
export const SEQUENCE_VECTOR_NAME = 'sequence';
const READ_BATCH = 1024;

/** Collection metadata: the transform's M, so every instance queries with the M the points were stored with. */
const BOUND_KEY = 'shelf_sequence_norm_bound';

/**
 * The collection of one model: `<namespace>-sequence-e-<key>`, the key its version and item-table
 * digest (SequenceModel.indexKey); Qdrant names take letters, digits, `_` and `-`. The `e` is the
 * Euclidean layout (an earlier layout, Dot on the raw vectors, had no letter; dropSequenceCollections
 * clears such collections with the other retired ones).
 */
export function sequenceCollection(namespace: string, key: string): string {
  return `${namespace}-sequence-e-${key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export interface QdrantSequenceOptions {
  url?: string;
  apiKey?: string | undefined;
  client?: QdrantClient;
  collection: string;
  dim: number;
  /** The transform's M (normBound of the model's table); an existing collection's own M wins. */
  bound: number;
  /** Qdrant's `hnsw_ef` (setting `sequence.ef_search`); a search is never narrower than what it returns. */
  efSearch?: number;
  /**
   * Every search scans exactly (Qdrant's `exact`): the model's table is under
   * `sequence.full_scan_threshold_kb`, as the embedded index decides. Qdrant scans a collection
   * too small to be indexed anyway; this keeps it exact once an optimizer has built the graph.
   */
  exact?: boolean;
}

/**
 * The production sequence item index: a Qdrant collection per model version whose points carry
 * one named vector, `sequence`: the item vector through the Euclidean transform of
 * sequence-items.ts (dim + 1, Euclid distance), so Qdrant's HNSW finds the largest inner products
 * (its Dot graph found 70% of the true top 100 on the Video model once indexed; Cosine would
 * normalise away what an item's norm learned). M is in the collection's metadata; scores are
 * inner products again. The product id is in the payload. Point ids are
 * the same deterministic UUIDs as the catalog collection's. A version's collection is filled once
 * and reused by every instance and restart (upserts by id are idempotent); collections of
 * versions no longer served are dropped by the service (dropSequenceCollections).
 */
export class QdrantSequenceItems implements SequenceItemIndex {
  readonly kind = 'qdrant';

  private constructor(
    private readonly client: QdrantClient,
    readonly collection: string,
    readonly dim: number,
    private bound: number,
    private readonly efSearch: number,
    private readonly exact: boolean,
  ) {}

  /** Connects, and creates the collection when it is missing (checking an existing one's vector). */
  static async open(opts: QdrantSequenceOptions): Promise<QdrantSequenceItems> {
    if (!Number.isInteger(opts.dim) || opts.dim <= 0) throw new Error(`bad vector dimension ${opts.dim}`);
    const client = opts.client ?? qdrantClient({ url: opts.url!, apiKey: opts.apiKey });
    const store = new QdrantSequenceItems(
      client,
      opts.collection,
      opts.dim,
      opts.bound,
      opts.efSearch ?? DEFAULT_SEQUENCE_EF_SEARCH,
      opts.exact ?? false,
    );
    await store.ensureCollection();
    return store;
  }

  private async ensureCollection(): Promise<void> {
    const name = this.collection;
    if (!(await this.client.collectionExists(name)).exists) {
      try {
        await this.client.createCollection(name, {
          vectors: { [SEQUENCE_VECTOR_NAME]: { size: this.dim + 1, distance: 'Euclid' } },
          metadata: { [BOUND_KEY]: this.bound },
        });
        await this.client.createPayloadIndex(name, { field_name: 'product_id', field_schema: 'keyword', wait: true });
        return;
      } catch (err) {
        // Another instance may have created it in between: accept it if it is compatible.
        if (!(await this.client.collectionExists(name)).exists) throw err;
      }
    }
    const info = await this.client.getCollection(name);
    const vectors = info.config.params.vectors;
    const named =
      vectors && !('size' in vectors)
        ? (vectors as Record<string, Schemas['VectorParams'] | undefined>)[SEQUENCE_VECTOR_NAME]
        : undefined;
    if (!named) throw new Error(`Qdrant collection ${name} has no named vector "${SEQUENCE_VECTOR_NAME}"`);
    if (named.size !== this.dim + 1 || named.distance !== 'Euclid')
      throw new Error(
        `Qdrant collection ${name}: vector "${SEQUENCE_VECTOR_NAME}" is ${named.size}-d ${named.distance}, the model needs ${this.dim + 1}-d Euclid`,
      );
    const bound = (info.config as { metadata?: Record<string, unknown> | null }).metadata?.[BOUND_KEY];
    if (typeof bound !== 'number' || !(bound > 0))
      throw new Error(`Qdrant collection ${name} has no ${BOUND_KEY} in its metadata`);
    this.bound = bound;
  }

  async upsert(ids: readonly string[], vectors: readonly Float32Array[]): Promise<void> {
    if (ids.length !== vectors.length) throw new Error(`${ids.length} ids for ${vectors.length} vectors`);
    for (const [i, v] of vectors.entries())
      if (v.length !== this.dim)
        throw new Error(`vector for ${ids[i]} has ${v.length} dimensions, collection has ${this.dim}`);
    // Later duplicates of an id win, as they would in sequential upserts.
    const byId = new Map<string, Float32Array>();
    ids.forEach((id, i) => byId.set(id, vectors[i]!));
    const all = [...byId.entries()];
    for (let i = 0; i < all.length; i += UPSERT_BATCH) {
      await this.client.upsert(this.collection, {
        wait: true,
        points: all.slice(i, i + UPSERT_BATCH).map(([id, v]) => ({
          id: pointId(id),
          vector: { [SEQUENCE_VECTOR_NAME]: euclideanItem(v, this.bound) },
          payload: { product_id: id },
        })),
      });
    }
  }

  async search(v: Float32Array, k: number, skip: ReadonlySet<string> = new Set()): Promise<RouteHit[]> {
    if (k <= 0) return [];
    if (v.length !== this.dim) throw new Error(`query vector has ${v.length} dimensions, collection has ${this.dim}`);
    const res = await this.client.query(this.collection, {
      query: euclideanQuery(v, this.bound),
      using: SEQUENCE_VECTOR_NAME,
      limit: k + skip.size,
      // As the embedded index: the search is at least as broad as what it must return.
      params: { hnsw_ef: Math.max(this.efSearch, k + skip.size), exact: this.exact },
      with_payload: ['product_id'],
      with_vector: false,
    });
    const out: RouteHit[] = [];
    const norm = Math.sqrt(dot(v, v));
    for (const p of res.points) {
      const id = p.payload?.['product_id'];
      // Euclid scores are distances: back to the inner product.
      if (typeof id === 'string' && !skip.has(id) && out.length < k)
        out.push({ id, score: dotFromDistance(p.score * p.score, norm, this.bound) });
    }
    return out;
  }

  async vectorsOf(ids: readonly string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += READ_BATCH) {
      const points = await this.client.retrieve(this.collection, {
        ids: unique.slice(i, i + READ_BATCH).map(pointId),
        with_payload: ['product_id'],
        with_vector: [SEQUENCE_VECTOR_NAME],
      });
      for (const p of points) {
        const id = p.payload?.['product_id'];
        const v =
          p.vector && !Array.isArray(p.vector)
            ? (p.vector as Record<string, unknown>)[SEQUENCE_VECTOR_NAME]
            : undefined;
        if (typeof id === 'string' && Array.isArray(v) && typeof v[0] === 'number')
          out.set(id, Float32Array.from((v as number[]).slice(0, this.dim)));
      }
    }
    return out;
  }

  async count(): Promise<number> {
    return (await this.client.count(this.collection, { exact: true })).count;
  }

  async close(): Promise<void> {
    // The REST client holds nothing beyond its keep-alive pool.
  }
}

/** Drops the sequence collections of `namespace` except those of the models (keys) in `keep`. */
export async function dropSequenceCollections(
  client: QdrantClient,
  namespace: string,
  keep: readonly string[],
): Promise<string[]> {
  const prefix = `${namespace}-sequence-`;
  const kept = new Set(keep.map((v) => sequenceCollection(namespace, v)));
  const { collections } = await client.getCollections();
  const drop = collections.map((c) => c.name).filter((n) => n.startsWith(prefix) && !kept.has(n));
  for (const name of drop) await client.deleteCollection(name);
  return drop;
}

/**
 * The production back end's sequence indexes: one collection per model version in `namespace`,
 * filled by the first instance that loads the version and reused by the others. `guard` wraps
 * the serving reads (search, vectorsOf) in the Qdrant budget and breaker; the fill is not.
 */
export function qdrantSequenceIndexes(
  opts: {
    client: QdrantClient;
    namespace: string;
    guard?: <T extends SequenceItemIndex>(index: T) => T;
  } & SequenceIndexOptions,
): SequenceItemIndexes {
  return {
    kind: 'qdrant',
    open: async (key, dim, capacity, bound) => {
      const index = await QdrantSequenceItems.open({
        client: opts.client,
        collection: sequenceCollection(opts.namespace, key),
        dim,
        bound,
        ...(opts.efSearch !== undefined && { efSearch: opts.efSearch }),
        exact: scansExactly(capacity, dim, opts.fullScanThresholdKb ?? DEFAULT_SEQUENCE_FULL_SCAN_KB),
      });
      return opts.guard ? opts.guard(index) : index;
    },
    retire: async (keep) => {
      await dropSequenceCollections(opts.client, opts.namespace, keep);
    },
  };
}
