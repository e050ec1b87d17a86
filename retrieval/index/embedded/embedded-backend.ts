import fs from 'node:fs';
import type { Dependency } from '../../../core/dependencies.ts';
import type {
  BackendSnapshot,
  IndexBackend,
  IndexWriter,
  OpenSnapshotOptions,
  ReleaseLock,
  WriteOptions,
} from '../index-backend.ts';
import { EmbeddedSnapshot, GenerationWriter, currentGeneration, lockIndexFolder } from './generation.ts';

/**
 * The embedded index as an IndexBackend: a thin adapter over generation.ts, whose behaviour
 * (generations, atomic CURRENT switch, writer lock) is unchanged.
 */
export class EmbeddedBackend implements IndexBackend {
  readonly kind = 'embedded';

  constructor(readonly dataDir: string) {}

  async currentGeneration(): Promise<string | undefined> {
    return currentGeneration(this.dataDir);
  }

  async openSnapshot(opts: OpenSnapshotOptions = {}): Promise<BackendSnapshot | undefined> {
    const r = opts.retrieval;
    return EmbeddedSnapshot.open(this.dataDir, {
      ...(opts.vectors !== undefined && { vectors: opts.vectors }),
      ...(r && { hnsw: r.hnsw, bm25Match: r.bm25_match }),
    });
  }

  async beginWrite(opts: WriteOptions): Promise<IndexWriter> {
    const w = GenerationWriter.begin(this.dataDir, {
      embedderId: opts.embedderId,
      dim: opts.dim,
      fresh: opts.fresh,
      ...(opts.image && { image: opts.image }),
    });
    return {
      generation: w.generation,
      text: w.text,
      vectors: w.vectors,
      images: w.images,
      commit: async () => w.commit(),
      abort: async () => w.abort(),
    };
  }

  async lockWrites(): Promise<ReleaseLock> {
    const release = lockIndexFolder(this.dataDir);
    return async () => release();
  }

  dependencies(): Dependency[] {
    return [
      {
        name: 'embedded-index',
        check: async () => {
          // Unreadable folder = not ready; an empty one is fine (nothing indexed yet).
          if (fs.existsSync(this.dataDir)) fs.accessSync(this.dataDir, fs.constants.R_OK);
          return `${this.dataDir}: ${currentGeneration(this.dataDir) ?? 'nothing indexed yet'}`;
        },
      },
    ];
  }

  async close(): Promise<void> {}
}
