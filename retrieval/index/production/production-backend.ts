import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { z } from 'zod';
import type { Dependency } from '../../../core/dependencies.ts';
import type { DependencyGuards } from '../../../core/dependency-guard.ts';
import { guardTextStore, guardVectorStore } from '../guarded-stores.ts';
import { LEGACY_ANALYZER } from '../../../core/text/analyze.ts';
import {
  aliasIndices,
  deleteIndices,
  indexMeta,
  indicesWithPrefix,
  swapAlias as swapEsAlias,
} from '../elasticsearch/es-aliases.ts';
import { acquireLock, type LockOptions } from '../elasticsearch/es-lock.ts';
import { createIndex, ElasticsearchTextStore } from '../elasticsearch/es-text-store.ts';
import type {
  BackendSnapshot,
  IndexBackend,
  IndexMeta,
  IndexWriter,
  WriteOptions,
  WriterLock,
} from '../index-backend.ts';
import type { TextStore, VectorStore } from '../stores.ts';
import {
  aliasTarget,
  collectionsWithPrefix,
  dropCollection,
  swapAlias as swapQdrantAlias,
} from '../qdrant/qdrant-aliases.ts';
import {
  extraVectorName,
  IMAGE_VECTOR_NAME,
  qdrantClient,
  QdrantVectorStore,
  VECTOR_NAME,
} from '../qdrant/qdrant-vector-store.ts';

/**
 * The production index: BM25 in Elasticsearch, vectors in Qdrant (named vectors `text`, and
 * `image` when product images are indexed), both behind an alias named `${namespace}-products`.
 * Searches always go through the aliases.
 *
 * - A fresh build (first index, or a new embedder) writes a new ES index and a new Qdrant
 *   collection, `${namespace}-products-<stamp>`, then moves both aliases, so a search never sees
 *   a half-built index. The previous pair is kept until the next fresh build: searchers read a
 *   generation's own index and collection until they switch (with its text model) to the new one.
 * - An incremental write goes straight into the served index and collection.
 * - One writer at a time per namespace (a lease in `${namespace}-locks`, see es-lock.ts).
 *
 * The ES index's mapping `_meta` records the generation: its embedder, dimension and the Qdrant
 * collection that belongs to it. It is the source of truth for which pair is served: the two
 * aliases cannot move in one transaction, so ES moves last, and a writer that finds the Qdrant
 * alias disagreeing with `_meta` (a crash between the two moves) points it back.
 */
const MetaSchema = z.object({
  shelf_generation: z.string(),
  collection: z.string(),
  embedder_id: z.string(),
  dim: z.number().int().positive(),
  /** The folder the text model was loaded from, so a service can load the same model. */
  embedder_dir: z.string().optional(),
  /** Extra text models (embedder.extra_models): the collection has a named vector for each (extraVectorName). */
  extra_models: z
    .array(z.object({ id: z.string(), dim: z.number().int().positive(), dir: z.string().optional() }))
    .optional(),
  /** Present when product images are indexed: the collection then has an `image` vector too. */
  image_embedder_id: z.string().optional(),
  image_dim: z.number().int().positive().optional(),
  /** Absent on indices built before the analyzer was recorded: the CJK-bigram one. */
  analyzer: z.string().optional(),
  created_at: z.string(),
});
type Meta = z.output<typeof MetaSchema>;

export interface ProductionOptions {
  elasticsearchUrl: string;
  qdrantUrl: string;
  qdrantApiKey?: string | undefined;
  namespace: string;
  /** Request timeout for both servers (ms). */
  timeoutMs?: number;
  /** The writer lease (see es-lock.ts). */
  lock?: LockOptions;
  /**
   * The serving path's budgets and breakers (core/dependency-guard.ts): snapshot reads and the
   * generation check go through them. The indexer has none: its writes retry on their own.
   */
  guards?: Pick<DependencyGuards, 'elasticsearch' | 'qdrant'> | undefined;
}

export class ProductionBackend implements IndexBackend {
  readonly kind = 'production';
  readonly alias: string;
  private readonly es: Client;
  private readonly qdrant: QdrantClient;

  /** Connects lazily: nothing is sent until the first call, so start-up can check dependencies first. */
  constructor(readonly opts: ProductionOptions) {
    this.alias = `${opts.namespace}-products`;
    this.es = new Client({ node: opts.elasticsearchUrl, requestTimeout: opts.timeoutMs ?? 30_000 });
    this.qdrant = qdrantClient({ url: opts.qdrantUrl, apiKey: opts.qdrantApiKey, timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  async currentGeneration(): Promise<string | undefined> {
    const es = this.opts.guards?.elasticsearch;
    const indices = es
      ? await es.call(() => aliasIndices(this.es, this.alias))
      : await aliasIndices(this.es, this.alias);
    if (indices.length > 1)
      throw new Error(
        `Elasticsearch alias ${this.alias} points at ${indices.length} indices (${indices.join(', ')}): expected one`,
      );
    return indices[0];
  }

  private async served(): Promise<{ index: string; meta: Meta } | undefined> {
    const index = await this.currentGeneration();
    if (index === undefined) return undefined;
    const parsed = MetaSchema.safeParse(await indexMeta(this.es, index));
    if (!parsed.success) {
      throw new Error(
        `Elasticsearch index ${index} (alias ${this.alias}) has no Shelf _meta: it was not built by this indexer; rebuild`,
      );
    }
    return { index, meta: parsed.data };
  }

  /** Search settings do not apply: HNSW breadth and BM25 matching are the servers' own. */
  async openSnapshot(): Promise<BackendSnapshot | undefined> {
    const served = await this.served();
    if (!served) return undefined;
    const m = served.meta;
    const meta: IndexMeta = {
      embedderId: m.embedder_id,
      dim: m.dim,
      embedderDir: m.embedder_dir,
      extraModels: m.extra_models,
      imageEmbedderId: m.image_embedder_id,
      imageDim: m.image_dim,
      analyzer: m.analyzer ?? LEGACY_ANALYZER,
    };
    const g = this.opts.guards;
    // The generation's own index and collection, not the aliases: a snapshot stays the generation it
    // was opened on after the aliases move, so a searcher switches stores together with the query
    // encoder of the new generation's text model (retrieval/recall/searcher.ts), never before it.
    // A rebuild keeps the previous pair until the next one, for the searchers still reading it.
    const collection = m.collection;
    const text: TextStore = ElasticsearchTextStore.attach(this.es, served.index);
    const vectors = (v: VectorStore): VectorStore => (g ? guardVectorStore(v, g.qdrant) : v);
    return {
      generation: served.index,
      meta,
      embedderId: meta.embedderId,
      imageEmbedderId: meta.imageEmbedderId,
      text: g ? guardTextStore(text, g.elasticsearch) : text,
      vectors: vectors(QdrantVectorStore.attach(this.qdrant, collection, m.dim)),
      extraVectors: new Map(
        (m.extra_models ?? []).map((x) => [
          x.id,
          vectors(QdrantVectorStore.attach(this.qdrant, collection, x.dim, extraVectorName(x.id))),
        ]),
      ),
      images:
        m.image_dim !== undefined
          ? vectors(QdrantVectorStore.attach(this.qdrant, collection, m.image_dim, IMAGE_VECTOR_NAME))
          : undefined,
      // The clients belong to the backend.
      close: async () => {},
    };
  }

  async lockWriter(): Promise<WriterLock> {
    const lease = await acquireLock(this.es, `${this.opts.namespace}-locks`, 'indexer', this.opts.lock);
    return { release: () => lease.release() };
  }

  async beginWrite(opts: WriteOptions): Promise<IndexWriter> {
    // A lock the caller holds is the caller's to release.
    const lock = opts.lock ?? (await this.lockWriter());
    const release = opts.lock ? async () => {} : () => lock.release();
    try {
      const served = await this.served();
      const w = !opts.fresh && served ? await this.liveWriter(served, opts) : await this.freshWriter(served, opts);
      return {
        ...w,
        commit: async () => {
          await w.commit();
          await release();
        },
        abort: async () => {
          try {
            await w.abort();
          } finally {
            await release();
          }
        },
      };
    } catch (err) {
      await release();
      throw err;
    }
  }

  /** The text store and, when images are indexed, the image store of one collection. */
  private async openVectors(
    collection: string,
    opts: WriteOptions,
  ): Promise<Pick<IndexWriter, 'vectors' | 'images' | 'extraVectors'>> {
    const extra = opts.extra ?? [];
    const collectionVectors: Record<string, number> = {
      [VECTOR_NAME]: opts.dim,
      ...(opts.image && { [IMAGE_VECTOR_NAME]: opts.image.dim }),
      ...Object.fromEntries(extra.map((x) => [extraVectorName(x.id), x.dim])),
    };
    const common = { url: this.opts.qdrantUrl, client: this.qdrant, collection, collectionVectors };
    const vectors = await QdrantVectorStore.open({ ...common, dim: opts.dim });
    const images = opts.image
      ? await QdrantVectorStore.open({ ...common, dim: opts.image.dim, vector: IMAGE_VECTOR_NAME })
      : undefined;
    const extraVectors = new Map<string, QdrantVectorStore>();
    for (const x of extra)
      extraVectors.set(x.id, await QdrantVectorStore.open({ ...common, dim: x.dim, vector: extraVectorName(x.id) }));
    return { vectors, images, extraVectors };
  }

  /** Incremental: writes land in the served index and collection, searchable by commit(). */
  private async liveWriter(served: { index: string; meta: Meta }, opts: WriteOptions): Promise<IndexWriter> {
    const m = served.meta;
    const describe = (id: string | undefined, dim: number | undefined) =>
      id === undefined ? 'none' : `${id} (${dim}-d)`;
    if (m.dim !== opts.dim || m.embedder_id !== opts.embedderId) {
      throw new Error(
        `${served.index} holds ${describe(m.embedder_id, m.dim)} vectors, not ${describe(opts.embedderId, opts.dim)}: rebuild fresh`,
      );
    }
    if (m.image_embedder_id !== opts.image?.embedderId || m.image_dim !== opts.image?.dim) {
      throw new Error(
        `${served.index} holds image vectors ${describe(m.image_embedder_id, m.image_dim)}, not ${describe(opts.image?.embedderId, opts.image?.dim)}: rebuild fresh`,
      );
    }
    const extraIds = (refs: Array<{ id: string; dim: number }> | undefined) =>
      (refs ?? []).map((r) => `${r.id}/${r.dim}`).join(',');
    if (extraIds(m.extra_models) !== extraIds(opts.extra)) {
      throw new Error(
        `${served.index} holds extra text models ${extraIds(m.extra_models) || 'none'}, not ${extraIds(opts.extra) || 'none'}: rebuild fresh`,
      );
    }
    // Recreates a lost collection (empty: `--verify` then re-embeds it from the cache).
    const { vectors, images, extraVectors } = await this.openVectors(m.collection, opts);
    await this.reconcileQdrantAlias(m.collection);
    return {
      generation: served.index,
      // One refresh at commit rather than a `wait_for` per bulk: each of those waits for the next
      // scheduled refresh (up to the index's refresh interval, 1 s), which a live price or stock
      // change (one small batch from the catalog follower) would otherwise spend idle, and the
      // follower's next batch behind it. Hydration reads by id (realtime) meanwhile; filters,
      // facets and sorts see the batch once commit() returns.
      text: ElasticsearchTextStore.attach(this.es, served.index, 'deferred'),
      vectors,
      images,
      extraVectors,
      commit: async () => {
        await this.es.indices.refresh({ index: served.index });
      },
      // Nothing to undo: what was written is served, and the caller reports what failed.
      abort: async () => {},
    };
  }

  private async freshWriter(
    served: { index: string; meta: Meta } | undefined,
    opts: WriteOptions,
  ): Promise<IndexWriter> {
    if (served) await this.reconcileQdrantAlias(served.meta.collection);
    await this.sweepAbandoned(served);
    const stamp =
      new Date()
        .toISOString()
        .replace(/[^0-9]/g, '')
        .slice(0, 17) + randomBytes(2).toString('hex');
    const name = `${this.alias}-${stamp}`;
    const meta: Meta = {
      shelf_generation: name,
      collection: name,
      embedder_id: opts.embedderId,
      dim: opts.dim,
      ...(opts.embedderDir !== undefined && { embedder_dir: opts.embedderDir }),
      ...(opts.extra &&
        opts.extra.length > 0 && {
          extra_models: opts.extra.map((x) => ({ id: x.id, dim: x.dim, ...(x.dir !== undefined && { dir: x.dir }) })),
        }),
      ...(opts.image && { image_embedder_id: opts.image.embedderId, image_dim: opts.image.dim }),
      ...(opts.analyzer !== undefined && { analyzer: opts.analyzer }),
      created_at: new Date().toISOString(),
    };
    await createIndex(this.es, name, { meta });
    let done = false;
    const abort = async () => {
      if (done) return;
      done = true;
      await deleteIndices(this.es, [name]);
      await dropCollection(this.qdrant, name);
    };
    try {
      const { vectors, images, extraVectors } = await this.openVectors(name, opts);
      return {
        generation: name,
        text: ElasticsearchTextStore.attach(this.es, name, 'deferred'),
        vectors,
        images,
        extraVectors,
        abort,
        commit: async () => {
          if (done) throw new Error('generation already committed or aborted');
          await this.es.indices.refresh({ index: name });
          // Qdrant first, ES last: ES's _meta decides which pair is served (see above).
          await swapQdrantAlias(this.qdrant, this.alias, name);
          await swapEsAlias(this.es, this.alias, name);
          done = true;
          // The previous pair stays until the next rebuild (sweepAbandoned): a searcher that has
          // not switched yet, or cannot load this generation's text model, still reads it.
        },
      };
    } catch (err) {
      await abort();
      throw err;
    }
  }

  /**
   * After a crash between the two alias moves the Qdrant alias may point at the wrong
   * collection (or, after a lost collection was recreated, at none): ES's _meta decides.
   */
  private async reconcileQdrantAlias(collection: string): Promise<void> {
    if (
      (await aliasTarget(this.qdrant, this.alias)) !== collection &&
      (await this.qdrant.collectionExists(collection)).exists
    ) {
      await swapQdrantAlias(this.qdrant, this.alias, collection);
    }
  }

  /** Removes the indices and collections of builds that crashed before their commit, and of generations before the served one. */
  private async sweepAbandoned(served: { index: string; meta: Meta } | undefined): Promise<void> {
    const prefix = `${this.alias}-`;
    const keepIndex = served?.index;
    await deleteIndices(
      this.es,
      (await indicesWithPrefix(this.es, prefix)).filter((i) => i !== keepIndex),
    );
    const keep = new Set([served?.meta.collection, await aliasTarget(this.qdrant, this.alias)]);
    for (const c of await collectionsWithPrefix(this.qdrant, prefix))
      if (!keep.has(c)) await dropCollection(this.qdrant, c);
  }

  dependencies(): Dependency[] {
    return [
      {
        name: 'elasticsearch',
        check: async () => {
          const info = await this.es.info();
          return `Elasticsearch ${info.version.number} at ${this.opts.elasticsearchUrl} (cluster ${info.cluster_name})`;
        },
      },
      {
        name: 'qdrant',
        check: async () => `Qdrant ${(await this.qdrant.versionInfo()).version} at ${this.opts.qdrantUrl}`,
      },
    ];
  }

  async close(): Promise<void> {
    await this.es.close();
  }
}
