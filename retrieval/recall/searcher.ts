import type { ImageEmbedder, TextEmbedder } from '../../core/embedding/embedder.ts';
import { RetrievalConfigSchema, type RetrievalConfig, type RetrievalConfigInput } from '../index/config.ts';
import { EmbeddedBackend } from '../index/embedded/embedded-backend.ts';
import { hybridSearch, type Embedders } from './hybrid.ts';
import type { BackendSnapshot, IndexBackend, IndexMeta } from '../index/index-backend.ts';
import type { TextModelRef } from '../../core/embedding/text-models.ts';
import type { IndexSnapshot, SnapshotSource } from '../index/stores.ts';
import type { SearchQuery, SearchResult } from '../index/types.ts';

export interface Searcher extends SnapshotSource {
  search(query: SearchQuery): Promise<SearchResult>;
  /** Runs `fn` on the served snapshot, which stays open until `fn` settles (feed, similar items). */
  withSnapshot<T>(fn: (snapshot: IndexSnapshot | undefined) => Promise<T>): Promise<T>;
  /**
   * Switches to a newer index generation if the indexer committed one; true if it did. A generation
   * whose text model cannot be loaded is not switched to (the old one keeps serving; see textModels).
   */
  refresh(): Promise<boolean>;
  readonly generation: string | undefined;
  readonly config: RetrievalConfig;
  /** The query-side models recall embeds queries with. */
  readonly embedders: Embedders;
  /** The text models the served generation was embedded with, and any generation refused for its model. */
  readonly textModels: TextModelStatus;
  close(): Promise<void>;
}

/** Where a generation's text models come from (core/embedding/text-models.ts TextModels). */
export interface TextModelSource {
  get(ref: Pick<TextModelRef, 'id' | 'dir'>): Promise<TextEmbedder>;
  /** Lets go of the models none of `keep` names (optional). */
  prune?(keep: Iterable<string>): Promise<void>;
}

export interface TextModelStatus {
  /** The text model of the served generation's vectors (its id: name, version, weights hash). */
  served: string | undefined;
  /** Every text model version a request may pick (embedder.model_version): the served one, then the extras loaded. */
  deployed: string[];
  /** Models of the served generation this service could not load (only at start-up can that be the served one). */
  unavailable: Array<{ model: string; reason: string }>;
  /** A newer generation left unserved because its text model could not be loaded. */
  refused?: { generation: string; model: string; reason: string } | undefined;
}

export interface SearcherOptions {
  /** Where the index lives; the caller keeps ownership. Default: the embedded index in `dataDir`. */
  backend?: IndexBackend;
  /** The embedded index folder, when no `backend` is given. */
  dataDir?: string;
  embedder: TextEmbedder | undefined;
  /**
   * Where the text models each generation records are found (loaded from the folder it names).
   * Default: only `embedder`, so a generation embedded with another model is not served.
   */
  models?: TextModelSource | undefined;
  /** Told once per generation and reason when a generation is refused for its text model. */
  onModelError?: ((refused: NonNullable<TextModelStatus['refused']>) => void) | undefined;
  /** Queries the image vectors when the index has them. */
  imageEmbedder?: ImageEmbedder | undefined;
  retrieval?: RetrievalConfigInput;
}

/** How long a generation refused for its text model waits before its model is tried again. */
const MODEL_RETRY_MS = 10_000;

/**
 * A searcher over the served index, following the indexer's switches: refresh() looks for a
 * new generation (embedded: the CURRENT file; production: the index behind the alias, whose
 * metadata names the embedder) and opens it beside the old one, with the query encoders of the
 * text models it was embedded with. Encoders and vectors switch together: a request pins one
 * snapshot, and the snapshot carries its encoders (IndexSnapshot.encoders).
 */
export async function openSearcher(opts: SearcherOptions): Promise<Searcher> {
  const config = RetrievalConfigSchema.parse(opts.retrieval ?? {});
  if (!opts.backend && opts.dataDir === undefined) throw new Error('openSearcher needs a backend or a dataDir');
  const backend = opts.backend ?? new EmbeddedBackend(opts.dataDir!);
  // A searcher that encodes no queries (the behaviour consumer reads product vectors only) follows
  // every generation; one that does needs each generation's model first.
  const models: TextModelSource | undefined = opts.models ?? (opts.embedder ? onlyModel(opts.embedder) : undefined);
  let refused: TextModelStatus['refused'];
  let refusedAt = 0;

  /** The generation's text models, loaded: the main one's failure is returned, the extras' recorded. */
  const encodersOf = async (meta: IndexMeta) => {
    const encoders = new Map<string, TextEmbedder>();
    const errors = new Map<string, string>();
    if (!models) return { encoders, errors };
    const refs = [
      ...(meta.embedderId !== undefined ? [{ id: meta.embedderId, dir: meta.embedderDir }] : []),
      ...(meta.extraModels ?? []),
    ];
    await Promise.all(
      refs.map(async (r) => {
        try {
          encoders.set(r.id, await models.get(r));
        } catch (err) {
          errors.set(r.id, (err as Error).message);
        }
      }),
    );
    return { encoders, errors };
  };

  /**
   * Opens the served generation with its encoders. While another generation is served, one whose
   * text model cannot be loaded is refused (undefined): its vectors would be searched by no model
   * or the wrong one. The models are loaded before the vectors, so a refusal costs no graph load.
   */
  const open = async (serving: boolean): Promise<IndexSnapshot | undefined> => {
    if (serving && models) {
      const probe = await backend.openSnapshot({ vectors: false, retrieval: config });
      if (!probe) return undefined;
      const meta = probe.meta;
      const generation = probe.generation;
      await probe.close();
      if (refused?.generation === generation && Date.now() - refusedAt < MODEL_RETRY_MS) return undefined;
      const { errors } = await encodersOf(meta);
      const main = meta.embedderId !== undefined ? errors.get(meta.embedderId) : undefined;
      if (main !== undefined) {
        const isNew = refused?.generation !== generation || refused.reason !== main;
        refused = { generation, model: meta.embedderId!, reason: main };
        refusedAt = Date.now();
        if (isNew) opts.onModelError?.(refused);
        return undefined;
      }
    }
    const snap = await backend.openSnapshot({ retrieval: config });
    if (!snap) return undefined;
    try {
      // Facet columns and sort orders are built before the generation is swapped in, not by its first search.
      await snap.text.warm?.();
      const { encoders, errors } = await encodersOf(snap.meta);
      const main = snap.embedderId !== undefined ? errors.get(snap.embedderId) : undefined;
      if (serving && main !== undefined) {
        // Another generation was committed since the probe, and its model fails: the next refresh says so.
        await snap.close();
        return undefined;
      }
      refused = undefined;
      return models ? servedSnapshot(snap, encoders, errors) : servedSnapshot(snap, undefined, undefined);
    } catch (err) {
      await snap.close();
      throw err;
    }
  };
  let snapshot: IndexSnapshot | undefined = await open(false);
  let inFlight = 0;
  const retired: IndexSnapshot[] = [];
  let refreshing: Promise<boolean> | undefined;

  const closeRetired = async () => {
    // Close old generations only once no search is using them.
    if (inFlight > 0) return;
    while (retired.length > 0) await retired.pop()!.close();
    // Their models too, unless the served generation still uses them.
    await models?.prune?.(snapshot?.encoders?.keys() ?? []);
  };

  const withSnapshot = async <T>(fn: (snap: IndexSnapshot | undefined) => Promise<T>): Promise<T> => {
    const snap = snapshot;
    inFlight++;
    try {
      return await fn(snap);
    } finally {
      inFlight--;
      if (retired.length > 0) await closeRetired();
    }
  };

  const embedders: Embedders = { text: opts.embedder, image: opts.imageEmbedder };
  return {
    config,
    embedders,
    get generation() {
      return snapshot?.generation;
    },
    get textModels(): TextModelStatus {
      const served = snapshot?.embedderId;
      const extras = [...(snapshot?.extraVectors?.keys() ?? [])];
      return {
        served,
        deployed: [...(served !== undefined ? [served] : []), ...extras.filter((id) => snapshot?.encoders?.has(id))],
        unavailable: [...(snapshot?.encoderErrors ?? [])].map(([model, reason]) => ({ model, reason })),
        ...(refused && { refused }),
      };
    },
    withSnapshot,
    search(query) {
      return withSnapshot((snap) => hybridSearch(snap, embedders, query, config));
    },
    refresh() {
      // One at a time: loading a new generation's model can outlast the refresh interval.
      refreshing ??= (async () => {
        try {
          const gen = await backend.currentGeneration();
          if (gen === undefined || gen === snapshot?.generation) return false;
          const next = await open(snapshot !== undefined);
          if (!next) return false;
          if (snapshot) retired.push(snapshot);
          snapshot = next;
          await closeRetired();
          return true;
        } finally {
          refreshing = undefined;
        }
      })();
      return refreshing;
    },
    async close() {
      await snapshot?.close();
      snapshot = undefined;
      while (retired.length > 0) await retired.pop()!.close();
    },
  };
}

/** Without a model source: the service's own embedder, and no other. */
function onlyModel(embedder: TextEmbedder | undefined): TextModelSource {
  return {
    get: async (ref) => {
      if (embedder && embedder.id === ref.id) return embedder;
      throw new Error(
        `the index was embedded with text model ${ref.id}; this service runs ${embedder?.id ?? 'none'} and loads no other`,
      );
    },
  };
}

/** The backend's snapshot as the searcher serves it: with the query encoders of its text models. */
function servedSnapshot(
  snap: BackendSnapshot,
  encoders: ReadonlyMap<string, TextEmbedder> | undefined,
  encoderErrors: ReadonlyMap<string, string> | undefined,
): IndexSnapshot {
  return {
    generation: snap.generation,
    embedderId: snap.embedderId,
    text: snap.text,
    vectors: snap.vectors,
    extraVectors: snap.extraVectors,
    images: snap.images,
    imageEmbedderId: snap.imageEmbedderId,
    encoders,
    encoderErrors,
    close: () => snap.close(),
  };
}
