import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelRegistry, type ModelKind } from './model-registry.ts';

/**
 * A stand-in kind: a folder holds model.json `{version, bad?, partial?}`. `bad` is refused,
 * `partial` is a deploy in progress (retried). Closing is recorded, so releases can be checked.
 */
interface Fake {
  version: string;
  dir: string;
  closed: boolean;
  close(): Promise<void>;
}
class Refused extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}
const loads: string[] = [];
const KIND: ModelKind<Fake> = {
  name: 'fake',
  signature: (dir) => readFile(path.join(dir, 'model.json'), 'utf8'),
  async load(dir) {
    loads.push(dir);
    const m = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as {
      version: string;
      bad?: boolean;
      partial?: boolean;
    };
    if (m.partial) throw new Refused(`${dir}: deploy in progress`, true);
    if (m.bad) throw new Refused(`model ${m.version} in ${dir}: refused`, false);
    const f: Fake = {
      version: m.version,
      dir,
      closed: false,
      async close() {
        f.closed = true;
      },
    };
    return f;
  },
  refusal: (err) =>
    err instanceof Refused
      ? { reason: err.retry ? 'incomplete' : 'bad', retry: err.retry }
      : { reason: 'invalid', retry: false },
  describe: (m) => `fake at ${path.basename(m.dir)}`,
  fallback: 'nothing serves',
  unconfigured: 'no fake model configured',
  missing: (dir) => `no fake model in ${dir}`,
};

const dirs: string[] = [];
const registries: Array<ModelRegistry<Fake>> = [];
afterEach(async () => {
  while (registries.length > 0) await registries.pop()!.close();
  while (dirs.length > 0) rmSync(dirs.pop()!, { recursive: true, force: true });
  loads.length = 0;
});

function folder(model?: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shelf-registry-'));
  dirs.push(dir);
  if (model) deploy(dir, model);
  return dir;
}
const deploy = (dir: string, model: Record<string, unknown>) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(model));
};

async function open(dir: string | undefined, extraDirs: string[] = [], refreshMs = 0) {
  const log: string[] = [];
  const events: string[] = [];
  const r = await ModelRegistry.open(KIND, {
    dir,
    extraDirs,
    refreshMs,
    log: (l) => log.push(l),
    onLoaded: (m) => events.push(`loaded ${m.version}`),
    onRefused: (reason) => events.push(`refused ${reason}`),
    onChange: () => events.push('change'),
  });
  registries.push(r);
  return { r, log, events };
}

describe('ModelRegistry', () => {
  it('serves the followed folder and, by version, the extra folders', async () => {
    const a = folder({ version: 'a' });
    const b = folder({ version: 'b' });
    const again = folder({ version: 'b' });
    const bad = folder({ version: 'x', bad: true });
    const { r, log, events } = await open(a, [b, again, bad]);
    expect(r.current?.version).toBe('a');
    expect(r.versions).toEqual(['a', 'b']);
    expect(r.status).toEqual({ version: 'a', versions: ['a', 'b'] });
    expect(r.pick(undefined).model?.version).toBe('a');
    expect(r.pick('a').model?.version).toBe('a');
    expect(r.pick('b').model?.dir).toBe(b);
    // Not deployed: the followed one, and what was asked for.
    expect(r.pick('gone')).toEqual({ model: r.current, missing: 'gone' });
    expect(log).toContain(`fake: ${again} holds version b again; the first folder serves it`);
    expect(log).toContain(`fake: version b from ${b} available to requests that name it`);
    expect(log).toContain(`fake: extra model folder ${bad}: model x in ${bad}: refused; not available`);
    expect(log).toContain(`fake: serving model a (fake at ${path.basename(a)}) from ${a}`);
    expect(events).toEqual(['refused bad', 'loaded a', 'change']);
  });

  it('says why nothing serves: none configured, an empty folder, a refused model', async () => {
    expect((await open(undefined)).r.status).toEqual({ reason: 'no fake model configured', versions: [] });
    const empty = folder();
    expect((await open(empty)).r.status).toEqual({ reason: `no fake model in ${empty}`, versions: [] });
    const bad = folder({ version: 'x', bad: true });
    const { r, log } = await open(bad);
    expect(r.current).toBeUndefined();
    expect(r.reason).toBe(`model x in ${bad}: refused`);
    expect(log).toContain(`fake: model x in ${bad}: refused; nothing serves`);
    expect(r.pick('x')).toEqual({ model: undefined, missing: 'x' });
  });

  it('swaps a new version in, keeps serving on a refused one, and does not retry it until the folder changes', async () => {
    const dir = folder({ version: 'v1' });
    const { r, log, events } = await open(dir);
    const v1 = r.current!;
    deploy(dir, { version: 'v2' });
    await r.reload();
    expect(r.current?.version).toBe('v2');
    expect(log.at(-1)).toMatch(/serving model v2 .* replacing v1$/);
    // The replaced model stays open for the requests that picked it.
    expect(v1.closed).toBe(false);

    deploy(dir, { version: 'v3', bad: true });
    await r.reload();
    expect(r.current?.version).toBe('v2');
    expect(r.reason).toBeUndefined();
    expect(log.at(-1)).toBe(`fake: model v3 in ${dir}: refused; keeping model v2`);
    const tried = loads.length;
    await r.reload();
    expect(loads.length).toBe(tried);
    expect(events).toEqual(['loaded v1', 'change', 'loaded v2', 'change', 'refused bad', 'change']);
  });

  it('retries a deploy in progress at the next poll, without counting it as refused', async () => {
    const dir = folder({ version: 'v1', partial: true });
    const { r, events } = await open(dir);
    expect(r.current).toBeUndefined();
    await r.reload();
    expect(loads).toEqual([dir, dir]);
    expect(events).toEqual([]);
    deploy(dir, { version: 'v1' });
    await r.reload();
    expect(r.current?.version).toBe('v1');
  });

  it('follows the folder on its own when polling, and concurrent reloads load once', async () => {
    const dir = folder({ version: 'v1' });
    const { r } = await open(dir, [], 20);
    deploy(dir, { version: 'v2' });
    await Promise.all([r.reload(), r.reload(), r.reload()]);
    expect(loads.length).toBe(2);
    deploy(dir, { version: 'v3' });
    for (let i = 0; i < 100 && r.current?.version !== 'v3'; i++) await new Promise((res) => setTimeout(res, 10));
    expect(r.current?.version).toBe('v3');
  });

  it('closes every model it holds', async () => {
    const { r } = await open(folder({ version: 'a' }), [folder({ version: 'b' })]);
    const held = [r.current!, r.pick('b').model!];
    await r.close();
    registries.pop();
    expect(held.map((m) => m.closed)).toEqual([true, true]);
    expect(r.versions).toEqual([]);
  });
});
