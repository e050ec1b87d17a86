import { describe, expect, it } from 'vitest';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import type { TextEmbedder } from './embedder.ts';
import { modelRef, TextModels } from './text-models.ts';

/** A model in a "folder": the folder's name is its id unless `swapped` says the folder now holds another. */
class FolderModel extends HashEmbedder {
  closed = false;
  constructor(
    readonly modelDir: string,
    id = modelDir,
  ) {
    super(16, id);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('TextModels', () => {
  const loader = (swapped: Record<string, string> = {}, failing = new Set<string>()) => {
    const loaded: FolderModel[] = [];
    const load = async (dir: string): Promise<TextEmbedder> => {
      if (failing.has(dir)) throw new Error(`no model in ${dir}`);
      const m = new FolderModel(dir, swapped[dir] ?? dir);
      loaded.push(m);
      return m;
    };
    return { load, loaded };
  };

  it('serves the models it started with by id, and loads others from the folder a generation records', async () => {
    const own = new HashEmbedder(16, 'start');
    const l = loader();
    const models = new TextModels([own], { load: l.load });
    expect(await models.get({ id: 'start' })).toBe(own);
    const b = await models.get({ id: '/m/b', dir: '/m/b' });
    expect(b.id).toBe('/m/b');
    // Loaded once, then held.
    expect(await models.get({ id: '/m/b', dir: '/m/b' })).toBe(b);
    expect(l.loaded).toHaveLength(1);
    expect(modelRef(b)).toEqual({ id: '/m/b', dim: 16, dir: '/m/b' });
  });

  it('refuses a model with no folder, a folder that fails, and a folder that now holds another model', async () => {
    const l = loader({ '/m/retrained': 'other-id' }, new Set(['/m/broken']));
    const models = new TextModels([], { load: l.load });
    await expect(models.get({ id: 'x' })).rejects.toThrow(/x is not loaded here and the index records no folder/);
    await expect(models.get({ id: 'b', dir: '/m/broken' })).rejects.toThrow(
      /cannot load text model b from \/m\/broken/,
    );
    await expect(models.get({ id: 'want', dir: '/m/retrained' })).rejects.toThrow(
      /\/m\/retrained now holds text model other-id, not want/,
    );
    // The mismatched model it loaded is closed, and failures are not remembered: a fixed folder loads.
    expect(l.loaded[0]!.closed).toBe(true);
    const fixed = new TextModels([], { load: loader().load });
    expect((await fixed.get({ id: '/m/broken', dir: '/m/broken' })).id).toBe('/m/broken');
  });

  it('prune closes the models it loaded that no generation needs, never the ones it was given', async () => {
    const own = new FolderModel('/m/start');
    const l = loader();
    const models = new TextModels([own], { load: l.load });
    await models.get({ id: '/m/b', dir: '/m/b' });
    await models.get({ id: '/m/c', dir: '/m/c' });
    await models.prune(['/m/c']);
    expect(l.loaded.map((m) => m.closed)).toEqual([true, false]);
    expect(own.closed).toBe(false);
    await models.close();
    expect(l.loaded.map((m) => m.closed)).toEqual([true, true]);
    expect(own.closed).toBe(false);
    // A pruned model is loaded again when asked for.
    await models.get({ id: '/m/b', dir: '/m/b' });
    expect(l.loaded).toHaveLength(3);
  });
});
