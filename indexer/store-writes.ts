import type { Product } from '../core/catalog/product.ts';
import type { IndexWriter } from '../retrieval/index/index-backend.ts';
import { DEFAULT_RETRY, retry, type RetryPolicy } from './retry.ts';

/** `extra`: an extra text model's vector set (embedder.extra_models). */
export type StoreName = 'text' | 'vectors' | 'images' | 'extra';

/** One vector store of a writer: the main text vectors, the images, or an extra text model's set. */
export type VectorStoreName = 'vectors' | 'images' | { extra: string };

/** A write that still failed after its retries: the two stores may now disagree on these ids. */
export interface WriteFailure {
  store: StoreName;
  op: 'upsert' | 'delete';
  ids: string[];
  reason: string;
}

export interface WriteItem {
  product: Product;
  hash: string;
  vector: Float32Array;
  /** The image vector; undefined removes any old one. */
  image?: Float32Array | undefined;
  /** Each extra text model's vector, by model id. */
  extra?: ReadonlyMap<string, Float32Array> | undefined;
}

/**
 * Writes to every store of an index writer, each call retried. On a final failure a fresh
 * build throws (the caller aborts it: nothing half-built is ever served); an incremental write
 * records the failure and carries on, so the run reports it and `--verify` can repair it.
 *
 * Order matters for the incremental case. The indexer diffs against the TEXT store's hashes,
 * so vectors are written before text and text is skipped when the vectors failed: the batch
 * then still looks changed and the next run writes it again. Deletes likewise go to the
 * vectors first and leave the text in place if that fails, so the next run retries them.
 */
export class StoreWrites {
  readonly failures: WriteFailure[] = [];

  constructor(
    private readonly writer: IndexWriter,
    private readonly onFailure: 'throw' | 'report',
    private readonly policy: RetryPolicy = DEFAULT_RETRY,
  ) {}

  private async attempt(
    store: StoreName,
    op: WriteFailure['op'],
    ids: string[],
    fn: () => Promise<void>,
  ): Promise<boolean> {
    if (ids.length === 0) return true;
    try {
      await retry(fn, this.policy);
      return true;
    } catch (err) {
      if (this.onFailure === 'throw') throw err;
      this.failures.push({ store, op, ids, reason: (err as Error).message });
      return false;
    }
  }

  /** Upserts one batch into the vector store(s), then the text store. */
  async upsert(items: WriteItem[]): Promise<void> {
    const ids = items.map((i) => i.product.id);
    const points = items.map(({ product, hash, vector }) => ({ product, hash, vector }));
    if (!(await this.attempt('vectors', 'upsert', ids, () => this.writer.vectors.upsert(points)))) return;
    // Extra models' vectors after the main ones (on Qdrant they are set on the points those wrote).
    for (const [modelId, store] of this.writer.extraVectors) {
      const extraPoints = items.map(({ product, hash, extra }) => {
        const vector = extra?.get(modelId);
        if (!vector) throw new Error(`no ${modelId} vector for product ${product.id}`);
        return { product, hash, vector };
      });
      if (!(await this.attempt('extra', 'upsert', ids, () => store.upsert(extraPoints)))) return;
    }
    const images = this.writer.images;
    if (images) {
      const withImage = items.filter((i) => i.image !== undefined);
      const ok =
        (await this.attempt(
          'images',
          'upsert',
          withImage.map((i) => i.product.id),
          () => images.upsert(withImage.map(({ product, hash, image }) => ({ product, hash, vector: image! }))),
        )) &&
        // A product whose image was removed (or failed) must not keep an old image vector.
        (await this.attempt(
          'images',
          'delete',
          items.filter((i) => i.image === undefined).map((i) => i.product.id),
          () => images.delete(items.filter((i) => i.image === undefined).map((i) => i.product.id)),
        ));
      if (!ok) return;
    }
    await this.attempt('text', 'upsert', ids, () =>
      this.writer.text.upsert(items.map(({ product, hash }) => ({ product, hash }))),
    );
  }

  /** Deletes from the vector store(s), then the text store. */
  async delete(ids: string[]): Promise<void> {
    if (!(await this.attempt('vectors', 'delete', ids, () => this.writer.vectors.delete(ids)))) return;
    for (const store of this.writer.extraVectors.values())
      if (!(await this.attempt('extra', 'delete', ids, () => store.delete(ids)))) return;
    const images = this.writer.images;
    if (images && !(await this.attempt('images', 'delete', ids, () => images.delete(ids)))) return;
    await this.attempt('text', 'delete', ids, () => this.writer.text.delete(ids));
  }

  /**
   * Upserts into one vector store only (a repair: the text store already holds these products).
   * `{extra: id}`: the vector set of that extra text model.
   */
  async upsertVectorsOnly(
    points: Array<{ product: Product; hash: string; vector: Float32Array }>,
    store: VectorStoreName,
  ): Promise<void> {
    const target = this.target(store);
    if (target)
      await this.attempt(
        typeof store === 'string' ? store : 'extra',
        'upsert',
        points.map((p) => p.product.id),
        () => target.upsert(points),
      );
  }

  /** Deletes from one vector store only: points whose product the text store no longer has. */
  async deleteVectorsOnly(ids: string[], store: VectorStoreName): Promise<void> {
    const target = this.target(store);
    if (target)
      await this.attempt(typeof store === 'string' ? store : 'extra', 'delete', ids, () => target.delete(ids));
  }

  private target(store: VectorStoreName) {
    if (store === 'vectors') return this.writer.vectors;
    if (store === 'images') return this.writer.images;
    return this.writer.extraVectors.get(store.extra);
  }
}
