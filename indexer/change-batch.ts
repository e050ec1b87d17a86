import type { ImageEmbedder, TextEmbedder } from '../core/embedding/embedder.ts';
import type { RowError } from '../core/catalog/read.ts';
import type { IndexBackend } from '../retrieval/index/index-backend.ts';
import { ChangeCollector, checkChange } from './changes.ts';
import { applyChanges, type IndexPhases } from './index-catalog.ts';
import type { RetryPolicy } from './retry.ts';

/**
 * A batch of change lines sent to the service (`POST /v1/admin/catalog/changes`), each line the
 * same `{"op", "product"}` object a change file holds. Every line is validated on its own and
 * answered by its position in the batch; where the valid ones go depends on the deployment:
 * straight into a new index generation (embedded), or onto the catalog topic the indexer follows
 * (Kafka configured).
 */

export interface ChangeRejection {
  /** The line's position in the batch, from 0. */
  index: number;
  /** The product id the line names, when it names one. */
  id?: string;
  /** invalid_json, invalid_change, unknown_product (an update of an id the index does not hold), write_failed. */
  code: string;
  /** The first field at fault (`product.price`). */
  field?: string;
  /** Every problem of the line, each with the value sent. */
  reason: string;
}

export interface ChangeBatchResult {
  mode: 'applied' | 'published';
  /** Lines applied (or published), by position. */
  accepted: number[];
  /** The products they touch, once each, in batch order. */
  acceptedIds: string[];
  rejected: ChangeRejection[];
  /** `applied`: what the write did, and where its time went (`serve`: the service switching to it). */
  applied?: {
    generation: string | null;
    indexed: number;
    unchanged: number;
    deleted: number;
    embedded: number;
    phases_ms?: IndexPhases & { serve: number };
  };
  /** `published`: the topic the lines went to. */
  topic?: string;
}

export interface CatalogChangeSink {
  readonly mode: 'applied' | 'published';
  /** `lines`: parsed JSON values, or an Error for a line that was not JSON. */
  submit(lines: readonly unknown[]): Promise<ChangeBatchResult>;
  close?(): Promise<void>;
}

/** Turns per-line errors (line = position + 1) into rejections. */
function rejection(e: RowError): ChangeRejection {
  return {
    index: e.line - 1,
    ...(e.id !== undefined && { id: e.id }),
    code: e.code ?? 'invalid_change',
    ...(e.field !== undefined && { field: e.field }),
    reason: e.reason,
  };
}

function idOf(raw: unknown): string | undefined {
  const id = (raw as { product?: { id?: unknown } } | null)?.product?.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id).trim() : undefined;
}

function opOf(raw: unknown): unknown {
  return (raw as { op?: unknown } | null)?.op;
}

/** Accepted = every line not rejected; ids once each, in batch order. */
function outcome(lines: readonly unknown[], rejected: ChangeRejection[]) {
  const bad = new Set(rejected.map((r) => r.index));
  const accepted = lines.map((_, i) => i).filter((i) => !bad.has(i));
  const acceptedIds = [...new Set(accepted.map((i) => idOf(lines[i])!))];
  return { accepted, acceptedIds, rejected: rejected.sort((a, b) => a.index - b.index) };
}

export interface DirectChangesOptions {
  /** The embedding cache's folder (and the embedded index, when `backend` is the embedded one). */
  dataDir: string;
  backend: IndexBackend;
  embedder: TextEmbedder;
  imageEmbedder?: ImageEmbedder | undefined;
  /** Relative image paths resolve against this folder (the catalog's). */
  imageBase: string;
  retry?: RetryPolicy | undefined;
  /** After each committed batch: the service switches to the new generation at once. */
  afterCommit?: () => Promise<unknown>;
  /** When the sink closes (a back end opened for it). */
  onClose?: () => Promise<void>;
}

/**
 * Applies each batch through the indexer, into a new index generation switched to atomically,
 * under the indexer's writer lock (IndexBackend.lockWriter, held from the read of the stored
 * products to the commit): another run holding it (a CLI run, a follower, another instance)
 * makes the batch fail fast with IndexBusyError rather than wait or interleave. Batches of this
 * sink run one after the other, so they never refuse each other.
 */
export class DirectCatalogChanges implements CatalogChangeSink {
  readonly mode = 'applied' as const;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: DirectChangesOptions) {}

  submit(lines: readonly unknown[]): Promise<ChangeBatchResult> {
    const run = this.tail.then(() => this.apply(lines));
    this.tail = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    await this.tail;
    await this.opts.onClose?.();
  }

  private async apply(lines: readonly unknown[]): Promise<ChangeBatchResult> {
    const collector = new ChangeCollector();
    lines.forEach((raw, i) => collector.add(i + 1, raw));
    const changes = collector.result();
    const rejected = changes.errors.map(rejection);
    if (rejected.length === lines.length) return { mode: this.mode, ...outcome(lines, rejected) };
    const { dataDir, backend, embedder, imageEmbedder, imageBase, retry, afterCommit } = this.opts;
    const summary = await applyChanges({ dataDir, backend, embedder, imageEmbedder, imageBase, retry, changes });
    const seen = new Set(changes.errors);
    for (const e of summary.errors.filter((x) => !seen.has(x))) {
      // An unknown id folds every update line of that id into one: refuse each of them.
      if (e.code === 'unknown_product' && e.id !== undefined) {
        lines.forEach((raw, i) => {
          if (i !== e.line - 1 && opOf(raw) === 'update' && idOf(raw) === e.id && checkChange(raw).ok)
            rejected.push({ ...rejection(e), index: i });
        });
      }
      rejected.push(rejection(e));
    }
    const failed = new Map<string, string>();
    for (const f of summary.writeFailures)
      for (const id of f.ids) failed.set(id, `${f.store} store ${f.op} failed: ${f.reason}`);
    if (failed.size > 0) {
      const refused = new Set(rejected.map((r) => r.index));
      lines.forEach((raw, i) => {
        const id = idOf(raw);
        if (!refused.has(i) && id !== undefined && failed.has(id))
          rejected.push({ index: i, id, code: 'write_failed', reason: failed.get(id)! });
      });
    }
    // Committed either way: a failed switch is caught up by the service's periodic refresh.
    const t0 = performance.now();
    if (summary.generation !== undefined) await afterCommit?.().catch(() => {});
    const serve = Math.round((performance.now() - t0) * 10) / 10;
    return {
      mode: this.mode,
      ...outcome(lines, rejected),
      applied: {
        generation: summary.generation ?? null,
        indexed: summary.indexed,
        unchanged: summary.unchanged,
        deleted: summary.deleted,
        embedded: summary.embedded,
        ...(summary.phases_ms && { phases_ms: { ...summary.phases_ms, serve } }),
      },
    };
  }
}

/** Where the published lines go: the catalog topic (behavior/kafka/catalog-changes.ts). */
export interface ChangeTopic {
  readonly topic: string;
  publish(
    changes: ReadonlyArray<{ op: 'upsert' | 'update' | 'delete'; product: { id: string | number } }>,
  ): Promise<void>;
}

/**
 * Validates each line and publishes the valid ones, in batch order, onto the catalog topic; the
 * indexer's follower (`npm run index -- --follow`) applies them. An update of an id neither the
 * served index nor an earlier line of the batch holds is refused here, as the indexer would.
 */
export class PublishedCatalogChanges implements CatalogChangeSink {
  readonly mode = 'published' as const;

  constructor(
    private readonly topic: ChangeTopic,
    /** Which of these ids the served index holds. */
    private readonly known: (ids: string[]) => Promise<Set<string>>,
    private readonly onClose?: () => Promise<void>,
  ) {}

  async submit(lines: readonly unknown[]): Promise<ChangeBatchResult> {
    const rejected: ChangeRejection[] = [];
    const checked = lines.map(checkChange);
    // What the batch itself does to each id before a line: created (upsert) or gone (delete).
    const state = new Map<string, 'upsert' | 'delete'>();
    const ask: Array<{ index: number; id: string }> = [];
    checked.forEach((c, index) => {
      if (!c.ok) {
        rejected.push({
          index,
          ...(c.id !== undefined && { id: c.id }),
          code: c.code,
          field: c.field,
          reason: c.reason,
        });
        return;
      }
      if (c.op !== 'update') state.set(c.id, c.op);
      else if (state.get(c.id) === 'delete')
        rejected.push({
          index,
          id: c.id,
          code: 'unknown_product',
          field: 'product.id',
          reason: `product.id: "${c.id}" is deleted earlier in this batch; an update never creates`,
        });
      else if (state.get(c.id) === undefined) ask.push({ index, id: c.id });
    });
    if (ask.length > 0) {
      const held = await this.known([...new Set(ask.map((a) => a.id))]);
      for (const a of ask)
        if (!held.has(a.id))
          rejected.push({
            index: a.index,
            id: a.id,
            code: 'unknown_product',
            field: 'product.id',
            reason: `product.id: no product "${a.id}" in the index; an update never creates one`,
          });
    }
    const result = outcome(lines, rejected);
    if (result.accepted.length > 0) {
      await this.topic.publish(
        result.accepted.map((i) => {
          const raw = lines[i] as { op: 'upsert' | 'update' | 'delete'; product: { id: string | number } };
          return { op: raw.op, product: raw.product };
        }),
      );
    }
    return { mode: this.mode, ...result, topic: this.topic.topic };
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}
