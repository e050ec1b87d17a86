import { EmbeddedBackend } from '../../retrieval/index/embedded/embedded-backend.ts';
import type { IndexBackend, IndexWriter, WriteOptions } from '../../retrieval/index/index-backend.ts';
import type { VectorStore } from '../../retrieval/index/stores.ts';

/**
 * The embedded backend with a vector or text store that fails on demand, for the indexer's
 * retry, report and repair paths. `failures` counts down per failing call; Infinity never recovers.
 */
export class FlakyBackend extends EmbeddedBackend {
  calls = 0;
  constructor(
    dataDir: string,
    public fail: { store: 'vectors' | 'text'; op: 'upsert' | 'delete'; failures: number } | undefined,
  ) {
    super(dataDir);
  }

  override async beginWrite(opts: WriteOptions): Promise<IndexWriter> {
    const w = await super.beginWrite(opts);
    const wrap = <S extends object>(store: S, name: 'vectors' | 'text'): S =>
      new Proxy(store, {
        get: (target, prop, receiver) => {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            const f = this.fail;
            if (f && f.store === name && f.op === prop && f.failures > 0) {
              this.calls++;
              f.failures--;
              throw new Error(`${name} store unavailable`);
            }
            return value.apply(target, args);
          };
        },
      });
    return {
      ...w,
      commit: w.commit,
      abort: w.abort,
      generation: w.generation,
      text: wrap(w.text, 'text'),
      vectors: wrap(w.vectors, 'vectors') as VectorStore,
    };
  }
}

/** Opens a writer on the served index and lets `fn` damage one store directly: drift for --verify to find. */
export async function injectDrift(backend: IndexBackend, fn: (w: IndexWriter) => Promise<void>): Promise<void> {
  const snap = await backend.openSnapshot({ vectors: false });
  if (!snap) throw new Error('nothing indexed');
  const meta = snap.meta;
  await snap.close();
  const w = await backend.beginWrite({
    embedderId: meta.embedderId!,
    dim: meta.dim!,
    embedderDir: meta.embedderDir,
    extra: meta.extraModels,
    fresh: false,
  });
  await fn(w);
  await w.commit();
}
