import type { TextEmbedder } from './embedder.ts';
import { loadTextEmbedder, parseEmbedderSpec } from './load.ts';

/** What an index generation records about a text model its vectors were embedded with. */
export interface TextModelRef {
  /** The embedder's id: its name and version plus a hash of its weights (e.g. "ngram-v1:94e001663551"). */
  id: string;
  dim: number;
  /** The folder it was loaded from; absent for a model that came from none (a test's stand-in). */
  dir?: string | undefined;
}

/** The reference an index records for an embedder. */
export function modelRef(e: TextEmbedder): TextModelRef {
  return { id: e.id, dim: e.dim, ...(e.modelDir !== undefined && { dir: e.modelDir }) };
}

/** How a folder becomes a model (the service's embedder settings: prefixes, remote loading). */
export interface TextModelLoadOptions {
  queryPrefix?: string | undefined;
  documentPrefix?: string | undefined;
  allowRemote?: boolean | undefined;
  cacheDir?: string | undefined;
  /** Replaces the loader (tests). */
  load?: ((dir: string) => Promise<TextEmbedder>) | undefined;
}

/**
 * The text models a service holds, by id: the ones it started with, and those that later index
 * generations were built with, loaded from the folder each generation records. The searcher asks
 * for a generation's models before it serves that generation, so the query encoder and the
 * vectors it searches always change together (retrieval/recall/searcher.ts).
 *
 * A folder whose model is no longer the one the generation recorded (retrained in place) is
 * refused: its queries would land in another space than the stored vectors.
 */
export class TextModels {
  private readonly byId = new Map<string, Promise<TextEmbedder>>();
  /** Ids loaded here (closed by prune and close); the ones given at start-up belong to the caller. */
  private readonly own = new Set<string>();
  private readonly load: (dir: string) => Promise<TextEmbedder>;

  constructor(initial: Iterable<TextEmbedder | undefined> = [], opts: TextModelLoadOptions = {}) {
    for (const e of initial) if (e) this.byId.set(e.id, Promise.resolve(e));
    const { load, ...spec } = opts;
    this.load =
      load ??
      ((dir) =>
        loadTextEmbedder(
          parseEmbedderSpec(dir, {
            ...(spec.queryPrefix !== undefined && { queryPrefix: spec.queryPrefix }),
            ...(spec.documentPrefix !== undefined && { documentPrefix: spec.documentPrefix }),
            ...(spec.allowRemote !== undefined && { allowRemote: spec.allowRemote }),
            ...(spec.cacheDir !== undefined && { cacheDir: spec.cacheDir }),
          }),
        ));
  }

  /** A model the caller loaded (it stays the caller's to close). */
  add(e: TextEmbedder): void {
    if (!this.byId.has(e.id)) this.byId.set(e.id, Promise.resolve(e));
  }

  /** The model `ref` names: already held, or loaded from its folder. Rejects with the reason it cannot be had. */
  get(ref: Pick<TextModelRef, 'id' | 'dir'>): Promise<TextEmbedder> {
    const held = this.byId.get(ref.id);
    if (held) return held;
    if (ref.dir === undefined) {
      return Promise.reject(
        new Error(`text model ${ref.id} is not loaded here and the index records no folder for it`),
      );
    }
    const dir = ref.dir;
    const loading = this.load(dir).then(
      async (e) => {
        if (e.id === ref.id) return e;
        await e.close?.();
        throw new Error(`${dir} now holds text model ${e.id}, not ${ref.id} the index was embedded with`);
      },
      (err: unknown) => {
        throw new Error(`cannot load text model ${ref.id} from ${dir}: ${(err as Error).message}`);
      },
    );
    this.byId.set(ref.id, loading);
    this.own.add(ref.id);
    // A failed load is not remembered: the next refresh tries again (the folder may be fixed).
    loading.catch(() => {
      if (this.byId.get(ref.id) === loading) {
        this.byId.delete(ref.id);
        this.own.delete(ref.id);
      }
    });
    return loading;
  }

  /** Closes the models loaded here that none of `keep` names any more (an old generation's, once retired). */
  async prune(keep: Iterable<string>): Promise<void> {
    const kept = new Set(keep);
    for (const id of [...this.own]) {
      if (kept.has(id)) continue;
      const p = this.byId.get(id);
      this.byId.delete(id);
      this.own.delete(id);
      await p?.then((e) => e.close?.()).catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.prune([]);
  }
}
