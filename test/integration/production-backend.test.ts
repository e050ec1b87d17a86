import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexCatalog } from '../../indexer/index-catalog.ts';
import { inspect } from '../../indexer/verify.ts';
import { acquireLock } from '../../retrieval/index/elasticsearch/es-lock.ts';
import { aliasTarget, collectionsWithPrefix, dropCollection } from '../../retrieval/index/qdrant/qdrant-aliases.ts';
import { TextModels } from '../../core/embedding/text-models.ts';
import { pointId, qdrantClient, QdrantVectorStore } from '../../retrieval/index/qdrant/qdrant-vector-store.ts';
import { ProductionBackend } from '../../retrieval/index/production/production-backend.ts';
import { openSearcher } from '../../retrieval/recall/searcher.ts';
import { ROOT } from '../../src/config.ts';
import { backendConformance } from '../conformance/backends.ts';
import { tempDir } from '../helpers/catalog.ts';
import { HashEmbedder } from '../helpers/embedders.ts';

/**
 * The production back end end to end on REAL servers: Elasticsearch (scripts/servers/elasticsearch.sh)
 * and Qdrant (scripts/servers/qdrant.sh, or the one QDRANT_URL names). The requests themselves are
 * checked against Qdrant's OpenAPI description in the unit tests (retrieval/index/qdrant/qdrant-contract.test.ts).
 */
const node = process.env.ELASTICSEARCH_URL;
const qdrant = process.env.QDRANT_URL;
if (!node || !qdrant)
  throw new Error('ELASTICSEARCH_URL and QDRANT_URL must be set (scripts/test-integration.sh starts both)');
const qdrantUrl = () => qdrant;
const admin = new Client({ node });
const q = qdrantClient({ url: qdrant });

afterAll(async () => {
  await admin.close();
});

const freshNamespace = () => `it${process.pid}${Math.random().toString(36).slice(2, 8)}`;
const openBackend = (namespace: string) =>
  new ProductionBackend({ elasticsearchUrl: node, qdrantUrl: qdrantUrl(), namespace });

async function dropNamespace(namespace: string): Promise<void> {
  await admin.indices.delete({
    index: [`${namespace}-products*`, `${namespace}-locks`],
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  const client = qdrantClient({ url: qdrantUrl() });
  for (const c of await collectionsWithPrefix(client, `${namespace}-products`)) await dropCollection(client, c);
}

backendConformance(`Elasticsearch at ${node} + Qdrant`, () => {
  const namespace = freshNamespace();
  return {
    open: async () => openBackend(namespace),
    reopen: async (b) => {
      await b.close();
      return openBackend(namespace);
    },
    cleanup: () => dropNamespace(namespace),
  };
});

describe('production back end: aliases, drift and the CLI', () => {
  const namespace = freshNamespace();
  const alias = `${namespace}-products`;
  const catalog = path.join(ROOT, 'data/demo/catalog.jsonl');
  const cacheDir = path.join(tempDir(), 'cache');
  const embedder = new HashEmbedder();
  let backend: ProductionBackend;

  beforeAll(() => {
    backend = openBackend(namespace);
  });
  afterAll(async () => {
    await backend.close();
    await dropNamespace(namespace);
  });

  const esIndicesBehindAlias = async () => Object.keys(await admin.indices.getAlias({ name: alias }));
  const namespaceIndices = async () =>
    (await admin.cat.indices({ index: `${alias}*`, format: 'json', h: 'index' })).map((r) => r.index).sort();

  it('a fresh rebuild builds a new index and collection, swaps both aliases, keeps the old pair for the searchers still on it, and the next build deletes it', async () => {
    const first = await indexCatalog({ catalogPath: catalog, dataDir: cacheDir, backend, embedder });
    expect(first.generation).toMatch(new RegExp(`^${alias}-\\d{17}[0-9a-f]{4}$`));
    expect(await esIndicesBehindAlias()).toEqual([first.generation]);
    expect(await namespaceIndices()).toEqual([first.generation]);
    expect(await aliasTarget(q, alias)).toBe(first.generation);
    expect(await collectionsWithPrefix(q, alias)).toEqual([first.generation]);
    const meta = (await admin.indices.getMapping({ index: first.generation! }))[first.generation!]!.mappings._meta;
    expect(meta).toMatchObject({ collection: first.generation, embedder_id: embedder.id, dim: 64 });
    // The alias resolves to the collection: the count through it is the catalog's.
    expect((await q.count(alias, { exact: true })).count).toBe(first.indexed);
    const other = new HashEmbedder(48);
    const searcher = await openSearcher({ backend, embedder, models: new TextModels([embedder, other]) });
    const before = (await searcher.search({ q: 'airpods', size: 3, routes: ['bm25'] })).items[0]!.id;

    // An abandoned half-build (a crash before commit) is swept by the next build.
    await admin.indices.create({ index: `${alias}-00000000000000000dead` });

    const second = await indexCatalog({ catalogPath: catalog, dataDir: cacheDir, backend, embedder: other });
    expect(second.generation).not.toBe(first.generation);
    expect(await esIndicesBehindAlias()).toEqual([second.generation]);
    // The half-build is gone; the previous pair stays for the searchers still reading it.
    expect(await namespaceIndices()).toEqual([first.generation, second.generation].sort());
    // The alias moved (one atomic request: retrieval/index/qdrant/qdrant-contract.test.ts).
    expect(await aliasTarget(q, alias)).toBe(second.generation);
    expect((await collectionsWithPrefix(q, alias)).sort()).toEqual([first.generation, second.generation].sort());
    const info = await q.getCollection(alias);
    expect(info.config.params.vectors).toMatchObject({ text: { size: 48, distance: 'Cosine' } });
    // The old searcher reads its own generation, both routes, until it switches with the new model.
    const old = await searcher.search({ q: 'airpods', size: 3 });
    expect(old.degraded).toBeUndefined();
    expect(old.items[0]!.id).toBe(before);
    expect(old.text_model).toBe(embedder.id);
    expect(await searcher.refresh()).toBe(true);
    expect(searcher.generation).toBe(second.generation);
    expect((await searcher.search({ q: 'airpods', size: 3 })).text_model).toBe(other.id);
    await searcher.close();
    // The next rebuild deletes the pair before the served one.
    const third = await indexCatalog({ catalogPath: catalog, dataDir: cacheDir, backend, embedder });
    expect(await namespaceIndices()).toEqual([second.generation, third.generation].sort());
    expect((await collectionsWithPrefix(q, alias)).sort()).toEqual([second.generation, third.generation].sort());
  });

  it('npm run index -- --verify repairs drift made directly in Elasticsearch and in Qdrant', async () => {
    // Back to the default embedder, which the CLI runs.
    const { loadTextEmbedder, parseEmbedderSpec } = await import('../../core/embedding/load.ts');
    const { loadConfig } = await import('../../src/config.ts');
    const cfg = loadConfig({ SHELF_EMBEDDER: 'default' });
    const defaultEmbedder = await loadTextEmbedder(parseEmbedderSpec(cfg.embedder.model, cfg.embedder));
    await indexCatalog({ catalogPath: catalog, dataDir: cacheDir, backend, embedder: defaultEmbedder });
    expect((await inspect(backend)).consistent).toBe(true);

    // Drift: one product gone from ES only, one point gone from Qdrant only.
    await admin.delete({ index: alias, id: 'P0001', refresh: true });
    await q.delete(alias, { wait: true, points: [pointId('P0002')] });
    const drift = await inspect(backend);
    expect(drift.vectors).toMatchObject({ missing: ['P0002'], extra: ['P0001'], mismatched: [] });

    const env = {
      ELASTICSEARCH_URL: node,
      QDRANT_URL: qdrantUrl(),
      SHELF_NAMESPACE: namespace,
      SHELF_DATA_DIR: cacheDir,
      SHELF_EMBEDDER: 'default',
    };
    const check = await runIndexCli(['--verify', '--check-only'], env);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/vectors \d+ \(missing 1, extra 1, mismatched 0\)/);

    const fix = await runIndexCli(['--verify'], env);
    expect(fix.code, fix.stderr).toBe(0);
    expect(fix.stdout).toMatch(/repaired 2; now .*\(missing 0, extra 0, mismatched 0\): consistent/);
    expect((await inspect(backend)).consistent).toBe(true);

    // The product deleted from ES is gone from both now; the next catalog run restores it.
    const again = await indexCatalog({ catalogPath: catalog, dataDir: cacheDir, backend, embedder: defaultEmbedder });
    expect(again).toMatchObject({ indexed: 1, writeFailures: [] });
    expect((await inspect(backend)).consistent).toBe(true);
    await defaultEmbedder.close?.();
  });

  it('refuses to write vectors of another dimension into the served collection, naming both', async () => {
    const generation = (await backend.currentGeneration())!;
    const meta = (await admin.indices.getMapping({ index: generation }))[generation]!.mappings._meta as {
      dim: number;
      embedder_id: string;
      collection: string;
    };
    await expect(backend.beginWrite({ embedderId: meta.embedder_id, dim: meta.dim + 1, fresh: false })).rejects.toThrow(
      /rebuild fresh/,
    );
    await expect(
      QdrantVectorStore.open({ url: qdrantUrl(), collection: meta.collection, dim: meta.dim + 1 }),
    ).rejects.toThrow(new RegExp(`dimension ${meta.dim}, but the embedder produces dimension ${meta.dim + 1}`));
  });
});

describe('production back end: one writer per namespace', () => {
  const namespace = freshNamespace();
  afterAll(() => dropNamespace(namespace));

  it('refuses a second writer while the first holds the lease, and takes over an expired one', async () => {
    const a = new ProductionBackend({
      elasticsearchUrl: node,
      qdrantUrl: qdrantUrl(),
      namespace,
      lock: { leaseMs: 60_000 },
    });
    const b = new ProductionBackend({
      elasticsearchUrl: node,
      qdrantUrl: qdrantUrl(),
      namespace,
      lock: { leaseMs: 60_000 },
    });
    const w = await a.beginWrite({ embedderId: 'e', dim: 4, fresh: true });
    await expect(b.beginWrite({ embedderId: 'e', dim: 4, fresh: true })).rejects.toThrow(
      /another indexer \(.+:\d+\) is writing/,
    );
    await w.abort();
    // Released: the next writer gets in, and its abort leaves nothing behind.
    const w2 = await b.beginWrite({ embedderId: 'e', dim: 4, fresh: true });
    await w2.abort();
    expect(await admin.cat.indices({ index: `${namespace}-products*`, format: 'json' })).toEqual([]);

    // A writer that died keeps the lock only until its lease runs out.
    const short = new ProductionBackend({
      elasticsearchUrl: node,
      qdrantUrl: qdrantUrl(),
      namespace,
      lock: { leaseMs: 300, renewMs: 3_600_000 },
    });
    await short.beginWrite({ embedderId: 'e', dim: 4, fresh: true }); // never committed nor aborted
    await new Promise((r) => setTimeout(r, 400));
    const w3 = await a.beginWrite({ embedderId: 'e', dim: 4, fresh: true });
    await w3.commit();
    expect(await a.currentGeneration()).toBe(w3.generation);
    expect(await admin.exists({ index: `${namespace}-locks`, id: 'indexer' })).toBe(false);
    for (const x of [a, b, short]) await x.close();
  });

  it('a holder whose lease was taken over can neither renew nor release the new one', async () => {
    const locks = `${namespace}-locks`;
    const stale = await acquireLock(admin, locks, 'x', { leaseMs: 200, renewMs: 3_600_000 });
    await new Promise((r) => setTimeout(r, 300));
    const fresh = await acquireLock(admin, locks, 'x', { leaseMs: 60_000 });
    expect(await stale.renew()).toBe(false);
    await stale.release();
    expect(await admin.exists({ index: locks, id: 'x' })).toBe(true);
    expect(await fresh.renew()).toBe(true);
    await fresh.release();
    expect(await admin.exists({ index: locks, id: 'x' })).toBe(false);
  });
});

/** The index CLI as a child process, asynchronously (the test keeps serving its own requests meanwhile). */
function runIndexCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'cli/indexer.ts'), ...args],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
