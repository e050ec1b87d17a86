import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Product } from '../../src/catalog/product.ts';
import { compileFilter, filterPayload } from '../stores.ts';
import type { Filters } from '../types.ts';
import {
  PAYLOAD_INDEXES,
  QdrantVectorStore,
  UPSERT_BATCH,
  categoryPrefixes,
  pointId,
  qdrantFilter,
  uuidV5,
} from './qdrant-vector-store.ts';

/**
 * Contract tests for the Qdrant adapter, runnable without a Qdrant server.
 *
 * A small HTTP server stands in for Qdrant. For every request it finds the operation in the
 * published OpenAPI description (/work/shared/contracts/qdrant-openapi.json), validates the JSON
 * body against that operation's requestBody schema, and answers with a canned response that is
 * itself validated against the operation's 200 response schema before it is sent. Any mismatch
 * is recorded and fails the test.
 *
 * The canned responses are computed from a tiny in-memory map (brute-force cosine, a naive
 * evaluator for the few filter shapes the adapter emits) only so that they look plausible. This
 * is NOT a Qdrant reimplementation and says nothing about Qdrant's own semantics: those are
 * covered by qdrant-conformance.test.ts against a real server (QDRANT_URL).
 */

const OPENAPI_PATH = process.env.QDRANT_OPENAPI ?? fileURLToPath(new URL('../../../shared/contracts/qdrant-openapi.json', import.meta.url));
const DOC_ID = 'qdrant-openapi.json';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/**
 * OpenAPI 3.0 writes "T or null" as `anyOf: [T, {nullable: true}]`; ajv refuses `nullable`
 * without `type`, so such a schema becomes `{type: 'null'}` (or `anyOf: [rest, null]`).
 */
function fixNullable(s: Json): Json {
  if (Array.isArray(s)) return s.map(fixNullable);
  if (s === null || typeof s !== 'object') return s;
  const o: JsonObject = {};
  for (const [k, v] of Object.entries(s)) o[k] = fixNullable(v);
  if (o['nullable'] === true && o['type'] === undefined) {
    delete o['nullable'];
    const meaningful = Object.keys(o).filter((k) => !['description', 'default', 'example', 'title'].includes(k));
    return meaningful.length === 0 ? { ...o, type: 'null' } : { anyOf: [o, { type: 'null' }] };
  }
  return o;
}

/** Rewrites document-local refs (`#/components/...`) so a schema cut out of the document still resolves. */
function rebaseRefs(s: Json): Json {
  if (Array.isArray(s)) return s.map(rebaseRefs);
  if (s === null || typeof s !== 'object') return s;
  const o: JsonObject = {};
  for (const [k, v] of Object.entries(s)) o[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${DOC_ID}${v}` : rebaseRefs(v);
  return o;
}

interface Operation {
  method: string;
  template: string;
  operationId: string;
  regex: RegExp;
  params: string[];
  request?: ValidateFunction;
  response?: ValidateFunction;
}

class OpenApiContract {
  readonly doc: JsonObject;
  readonly ops: Operation[] = [];
  private readonly ajv: Ajv;

  constructor(file: string) {
    this.doc = JSON.parse(fs.readFileSync(file, 'utf8')) as JsonObject;
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    const isInt = (unsigned: boolean) => (n: number) => Number.isInteger(n) && (!unsigned || n >= 0);
    for (const f of ['uint', 'uint8', 'uint32', 'uint64']) this.ajv.addFormat(f, { type: 'number', validate: isInt(true) });
    this.ajv.addFormat('int64', { type: 'number', validate: isInt(false) });
    for (const f of ['float', 'double']) this.ajv.addFormat(f, { type: 'number', validate: (n: number) => Number.isFinite(n) });
    this.ajv.addFormat('partial-date-time', true);
    this.ajv.addSchema({ ...(fixNullable(this.doc) as JsonObject), $id: DOC_ID });

    const paths = (this.doc['paths'] ?? {}) as Record<string, Record<string, JsonObject>>;
    for (const [template, methods] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (typeof op !== 'object' || op === null || typeof op['operationId'] !== 'string') continue;
        const params: string[] = [];
        const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+)\\?\}/g, (_m, name: string) => {
          params.push(name);
          return '([^/]+)';
        });
        this.ops.push({ method: method.toUpperCase(), template, operationId: op['operationId'], regex: new RegExp(`^${pattern}$`), params });
      }
    }
    // Literal segments win over templates (`/collections/aliases` before `/collections/{name}`).
    this.ops.sort((a, b) => a.params.length - b.params.length);
  }

  find(method: string, path: string): { op: Operation; params: Record<string, string> } | undefined {
    for (const op of this.ops) {
      if (op.method !== method) continue;
      const m = op.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      op.params.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
      return { op, params };
    }
    return undefined;
  }

  byId(operationId: string): Operation | undefined {
    return this.ops.find((o) => o.operationId === operationId);
  }

  private rawOp(op: Operation): JsonObject {
    const paths = this.doc['paths'] as Record<string, Record<string, JsonObject>>;
    return paths[op.template]![op.method.toLowerCase()]!;
  }

  private readonly compiled = new Map<string, ValidateFunction>();

  private compile(schema: Json): ValidateFunction {
    const key = JSON.stringify(schema);
    let v = this.compiled.get(key);
    if (!v) {
      v = this.ajv.compile(rebaseRefs(fixNullable(schema)) as JsonObject);
      this.compiled.set(key, v);
    }
    return v;
  }

  /** Validator of the JSON request body, or undefined when the operation takes none. */
  requestValidator(op: Operation): ValidateFunction | undefined {
    if (!op.request) {
      const schema = (this.rawOp(op)['requestBody'] as JsonObject | undefined)?.['content'] as JsonObject | undefined;
      const json = (schema?.['application/json'] as JsonObject | undefined)?.['schema'];
      if (json === undefined) return undefined;
      op.request = this.compile(json);
    }
    return op.request;
  }

  /**
   * Checks query parameters against the operation's declared `in: query` parameters: unknown
   * names are errors, values are coerced from their string form and validated by schema.
   */
  queryErrors(op: Operation, query: URLSearchParams): string[] {
    const declared = ((this.rawOp(op)['parameters'] ?? []) as JsonObject[]).filter((p) => p['in'] === 'query');
    const errors: string[] = [];
    for (const [name, raw] of query.entries()) {
      const param = declared.find((p) => p['name'] === name);
      if (!param) {
        errors.push(`${op.operationId}: undeclared query parameter ${name}`);
        continue;
      }
      const validate = this.compile(param['schema'] ?? {});
      const candidates: unknown[] = [raw];
      if (raw === 'true' || raw === 'false') candidates.unshift(raw === 'true');
      if (raw.trim() !== '' && Number.isFinite(Number(raw))) candidates.unshift(Number(raw));
      if (!candidates.some((v) => validate(v))) errors.push(`${op.operationId}: query ${name}=${raw}: ${JSON.stringify(validate.errors)}`);
    }
    return errors;
  }

  responseValidator(op: Operation): ValidateFunction {
    if (!op.response) {
      const ok = ((this.rawOp(op)['responses'] as JsonObject)['200'] as JsonObject | undefined)?.['content'] as JsonObject | undefined;
      const json = (ok?.['application/json'] as JsonObject | undefined)?.['schema'];
      if (json === undefined) throw new Error(`${op.operationId} has no 200 application/json response schema`);
      op.response = this.compile(json);
    }
    return op.response;
  }
}

interface Recorded {
  operationId: string;
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
  response: any;
}

interface FakePoint {
  id: string;
  vector: number[];
  payload: Record<string, Json>;
}

interface FakeCollection {
  dim: number;
  vectorName: string;
  indexes: Map<string, string>;
  points: Map<string, FakePoint>;
}

/** Naive evaluation of the filter shapes the adapter emits, only to make canned responses plausible. */
function naiveMatch(filter: any, payload: Record<string, Json>): boolean {
  if (!filter) return true;
  const must: any[] = Array.isArray(filter.must) ? filter.must : filter.must ? [filter.must] : [];
  return must.every((c) => {
    const v = payload[c.key];
    if (c.match) return Array.isArray(v) ? v.includes(c.match.value) : v === c.match.value;
    if (c.range) {
      if (typeof v !== 'number') return false;
      const r = c.range;
      return (r.gte === undefined || v >= r.gte) && (r.lte === undefined || v <= r.lte) && (r.gt === undefined || v > r.gt) && (r.lt === undefined || v < r.lt);
    }
    return false;
  });
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * (b[i] ?? 0);
    na += a[i]! * a[i]!;
    nb += (b[i] ?? 0) * (b[i] ?? 0);
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function selectPayload(payload: Record<string, Json>, withPayload: unknown): Record<string, Json> | null {
  if (withPayload === undefined || withPayload === false) return null;
  if (Array.isArray(withPayload)) return Object.fromEntries(Object.entries(payload).filter(([k]) => withPayload.includes(k)));
  return payload;
}

class FakeQdrant {
  readonly requests: Recorded[] = [];
  readonly errors: string[] = [];
  readonly collections = new Map<string, FakeCollection>();
  private server!: http.Server;
  private opCounter = 0;
  url = '';

  constructor(readonly contract: OpenApiContract) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.requests.length = 0;
    this.errors.length = 0;
    this.collections.clear();
  }

  ops(): string[] {
    return this.requests.map((r) => r.operationId);
  }

  private reply(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const found = this.contract.find(method, url.pathname);
    if (!found) {
      this.errors.push(`${method} ${url.pathname}: no such operation in the OpenAPI description`);
      return this.reply(res, 404, { status: { error: 'not found' }, time: 0 });
    }
    const { op, params } = found;
    let body: any;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        this.errors.push(`${op.operationId}: request body is not JSON`);
        return this.reply(res, 400, { status: { error: 'bad json' }, time: 0 });
      }
    }
    const validate = this.contract.requestValidator(op);
    if (validate) {
      if (body === undefined) this.errors.push(`${op.operationId}: request body missing`);
      else if (!validate(body)) this.errors.push(`${op.operationId} request: ${JSON.stringify(validate.errors)}`);
    } else if (body !== undefined) {
      this.errors.push(`${op.operationId}: operation takes no request body`);
    }
    this.errors.push(...this.contract.queryErrors(op, url.searchParams));
    const query = Object.fromEntries(url.searchParams.entries());
    let result: unknown;
    try {
      result = this.result(op.operationId, params['collection_name'] ?? '', body ?? {}, query);
    } catch (e) {
      const message = (e as Error).message;
      this.requests.push({ operationId: op.operationId, method, path: url.pathname, query, body, response: undefined });
      return this.reply(res, 404, { status: { error: message }, time: 0.0001 });
    }
    const response = op.operationId === 'root' ? result : { usage: null, time: 0.000123, status: 'ok', result };
    const check = this.contract.responseValidator(op);
    if (!check(response)) this.errors.push(`${op.operationId} canned response: ${JSON.stringify(check.errors)}`);
    this.requests.push({ operationId: op.operationId, method, path: url.pathname, query, body, response });
    this.reply(res, 200, response);
  }

  private collection(name: string): FakeCollection {
    const c = this.collections.get(name);
    if (!c) throw new Error(`Not found: Collection \`${name}\` doesn't exist!`);
    return c;
  }

  private updateResult() {
    return { operation_id: ++this.opCounter, status: 'completed' };
  }

  collectionInfo(c: FakeCollection) {
    return {
      status: 'green',
      optimizer_status: 'ok',
      indexed_vectors_count: 0,
      points_count: c.points.size,
      segments_count: 2,
      config: {
        params: {
          vectors: { [c.vectorName]: { size: c.dim, distance: 'Cosine' } },
          shard_number: 1,
          replication_factor: 1,
          write_consistency_factor: 1,
          on_disk_payload: true,
        },
        hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
        optimizer_config: {
          deleted_threshold: 0.2,
          vacuum_min_vector_number: 1000,
          default_segment_number: 0,
          max_segment_size: null,
          memmap_threshold: null,
          indexing_threshold: 10000,
          flush_interval_sec: 5,
          max_optimization_threads: null,
        },
        wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
        quantization_config: null,
      },
      payload_schema: Object.fromEntries([...c.indexes].map(([field, type]) => [field, { data_type: type, points: c.points.size }])),
    };
  }

  private result(operationId: string, name: string, body: any, query: Record<string, string>): unknown {
    switch (operationId) {
      case 'root':
        return { title: 'qdrant - vector search engine', version: '1.19.0', commit: '0000000000000000000000000000000000000000' };
      case 'collection_exists':
        return { exists: this.collections.has(name) };
      case 'get_collection':
        return this.collectionInfo(this.collection(name));
      case 'create_collection': {
        const [vectorName, params] = Object.entries(body.vectors as Record<string, { size: number }>)[0]!;
        this.collections.set(name, { dim: params.size, vectorName, indexes: new Map(), points: new Map() });
        return true;
      }
      case 'delete_collection':
        return this.collections.delete(name);
      case 'create_field_index':
        this.collection(name).indexes.set(body.field_name, body.field_schema);
        return this.updateResult();
      case 'upsert_points': {
        const c = this.collection(name);
        for (const p of body.points as Array<{ id: string; vector: Record<string, number[]>; payload: Record<string, Json> }>) {
          c.points.set(String(p.id), { id: String(p.id), vector: p.vector[c.vectorName] ?? [], payload: p.payload });
        }
        return this.updateResult();
      }
      case 'delete_points': {
        const c = this.collection(name);
        for (const id of body.points as string[]) c.points.delete(String(id));
        return this.updateResult();
      }
      case 'query_points': {
        const c = this.collection(name);
        const scored = [...c.points.values()]
          .filter((p) => naiveMatch(body.filter, p.payload))
          .map((p) => ({ id: p.id, version: 1, score: cosine(body.query as number[], p.vector), payload: selectPayload(p.payload, body.with_payload) }))
          .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
        return { points: scored.slice(0, body.limit ?? 10) };
      }
      case 'scroll_points': {
        const c = this.collection(name);
        const sorted = [...c.points.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
        const start = body.offset === undefined ? 0 : sorted.findIndex((p) => p.id >= String(body.offset));
        const limit = body.limit ?? 10;
        const page = start < 0 ? [] : sorted.slice(start, start + limit);
        const next = start < 0 ? undefined : sorted[start + limit];
        return {
          points: page.map((p) => ({ id: p.id, payload: selectPayload(p.payload, body.with_payload) })),
          next_page_offset: next ? next.id : null,
        };
      }
      case 'count_points':
        return { count: [...this.collection(name).points.values()].filter((p) => naiveMatch(body.filter, p.payload)).length };
      default:
        throw new Error(`the contract server has no canned response for ${operationId} (${JSON.stringify(query)})`);
    }
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function product(id: string, extra: Partial<Product> = {}): Product {
  return { id, title: `Product ${id}`, in_stock: true, ...extra } as Product;
}

function unit(values: number[]): Float32Array {
  const n = Math.hypot(...values);
  return Float32Array.from(values.map((v) => v / n));
}

/** Every operation the adapter calls, as [operationId, method, path template]. */
const USED_OPERATIONS: Array<[string, string, string]> = [
  ['collection_exists', 'GET', '/collections/{collection_name}/exists'],
  ['get_collection', 'GET', '/collections/{collection_name}'],
  ['create_collection', 'PUT', '/collections/{collection_name}'],
  ['create_field_index', 'PUT', '/collections/{collection_name}/index'],
  ['upsert_points', 'PUT', '/collections/{collection_name}/points'],
  ['delete_points', 'POST', '/collections/{collection_name}/points/delete'],
  ['query_points', 'POST', '/collections/{collection_name}/points/query'],
  ['scroll_points', 'POST', '/collections/{collection_name}/points/scroll'],
  ['count_points', 'POST', '/collections/{collection_name}/points/count'],
];

describe('Qdrant OpenAPI description', () => {
  it('loads, and every operation the adapter uses exists with compilable request and response schemas', () => {
    const contract = new OpenApiContract(OPENAPI_PATH);
    expect(contract.doc['openapi']).toMatch(/^3\./);
    expect((contract.doc['info'] as JsonObject)['version']).toMatch(/^v?1\.19\./);
    expect(contract.ops.length).toBeGreaterThan(50);
    for (const [operationId, method, template] of USED_OPERATIONS) {
      const op = contract.byId(operationId);
      expect(op, operationId).toBeDefined();
      expect([op!.method, op!.template]).toEqual([method, template]);
      expect(contract.find(method, template.replace('{collection_name}', 'shelf_products'))?.op.operationId).toBe(operationId);
      expect(typeof contract.responseValidator(op!)).toBe('function');
      const hasBody = !['collection_exists', 'get_collection'].includes(operationId);
      expect(contract.requestValidator(op!) !== undefined, operationId).toBe(hasBody);
    }
  });
});

describe('QdrantVectorStore against the OpenAPI contract', () => {
  const contract = new OpenApiContract(OPENAPI_PATH);
  const fake = new FakeQdrant(contract);
  const DIM = 4;
  const open = (dim = DIM, collection = 'shelf_test') => QdrantVectorStore.open({ url: fake.url, collection, dim });

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());
  afterEach(() => {
    // Every request body and every canned response matched its OpenAPI schema.
    expect(fake.errors).toEqual([]);
  });

  it('the validating server rejects bodies that break the schema (it is not vacuous)', async () => {
    const res = await fetch(`${fake.url}/collections/shelf_test/points/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: [1, 0], limit: 'ten', filter: { must: [{ key: 'brand_key', match: { value: { nested: true } } }] } }),
    });
    await res.text();
    expect(fake.errors.length).toBe(1);
    expect(fake.errors[0]).toMatch(/query_points request/);
    fake.errors.length = 0;
    await (await fetch(`${fake.url}/collections/shelf_test/points?wait=maybe&fast=1`, { method: 'PUT', body: '{"points":[]}' })).text();
    expect(fake.errors).toEqual([expect.stringMatching(/query wait=maybe/), expect.stringMatching(/undeclared query parameter fast/)]);
    fake.errors.length = 0;
    const bad = contract.responseValidator(contract.byId('query_points')!);
    expect(bad({ status: 'ok', time: 0, result: { points: [{ id: 'x', score: 1 }] } })).toBe(false); // version missing
  });

  it('creates the collection with the named cosine vector and every payload index', async () => {
    await open();
    expect(fake.ops()).toEqual(['collection_exists', 'create_collection', ...PAYLOAD_INDEXES.map(() => 'create_field_index')]);
    const create = fake.requests[1]!;
    expect(create.path).toBe('/collections/shelf_test');
    expect(create.body).toEqual({ vectors: { text: { size: DIM, distance: 'Cosine' } } });
    expect(fake.requests.slice(2).map((r) => [r.body, r.query['wait']])).toEqual([
      [{ field_name: 'product_id', field_schema: 'keyword' }, 'true'],
      [{ field_name: 'category_prefixes', field_schema: 'keyword' }, 'true'],
      [{ field_name: 'brand_key', field_schema: 'keyword' }, 'true'],
      [{ field_name: 'price', field_schema: 'float' }, 'true'],
      [{ field_name: 'in_stock', field_schema: 'bool' }, 'true'],
    ]);
  });

  it('reuses an existing collection of the same dimension without recreating it or its indexes', async () => {
    await open();
    fake.requests.length = 0;
    await open();
    expect(fake.ops()).toEqual(['collection_exists', 'get_collection']);
    // A collection missing one index gets only that one.
    fake.collections.get('shelf_test')!.indexes.delete('price');
    fake.requests.length = 0;
    await open();
    expect(fake.ops()).toEqual(['collection_exists', 'get_collection', 'create_field_index']);
    expect(fake.requests[2]!.body).toEqual({ field_name: 'price', field_schema: 'float' });
  });

  it('refuses an existing collection of another dimension, naming both', async () => {
    await open(8);
    await expect(open(4)).rejects.toThrow(/dimension 8.*dimension 4/);
    expect(fake.ops().filter((o) => o === 'create_collection')).toHaveLength(1);
  });

  it('refuses an existing collection without the named vector', async () => {
    await open();
    fake.collections.get('shelf_test')!.vectorName = 'image';
    await expect(open()).rejects.toThrow(/no named vector "text"/);
  });

  it('upserts in batches of 256 with wait=true, deterministic UUID ids and the filter payload', async () => {
    const store = await open();
    fake.requests.length = 0;
    const points = Array.from({ length: 600 }, (_, i) => ({
      product: product(`p${i}`, { category: 'Sports/Footwear/Running Shoes', brand: ' Nike ', price: i, in_stock: i % 2 === 0 }),
      hash: `h${i}`,
      vector: unit([1, i, 0, 1]),
    }));
    await store.upsert(points);
    expect(fake.ops()).toEqual(['upsert_points', 'upsert_points', 'upsert_points']);
    expect(fake.requests.map((r) => r.body.points.length)).toEqual([UPSERT_BATCH, UPSERT_BATCH, 600 - 2 * UPSERT_BATCH]);
    expect(fake.requests.every((r) => r.query['wait'] === 'true' && r.method === 'PUT')).toBe(true);
    const first = fake.requests[0]!.body.points[0];
    expect(first.id).toBe(pointId('p0'));
    expect(first.id).toMatch(UUID_RE);
    expect(first.vector.text).toHaveLength(DIM);
    expect(first.payload).toEqual({
      product_id: 'p0',
      hash: 'h0',
      category_key: 'sports/footwear/running shoes',
      category_prefixes: ['sports', 'sports/footwear', 'sports/footwear/running shoes'],
      brand_key: 'nike',
      price: 0,
      in_stock: true,
    });
    // Optional fields are left out rather than sent as null.
    fake.requests.length = 0;
    await store.upsert([{ product: product('bare'), hash: 'hb', vector: unit([0, 0, 1, 0]) }]);
    expect(fake.requests[0]!.body.points[0].payload).toEqual({ product_id: 'bare', hash: 'hb', in_stock: true });
    expect(await store.count()).toBe(601);
  });

  it('rejects vectors of the wrong dimension before sending anything', async () => {
    const store = await open();
    fake.requests.length = 0;
    await expect(store.upsert([{ product: product('x'), hash: 'h', vector: new Float32Array(DIM + 1) }])).rejects.toThrow(/dimension/);
    await expect(store.search(new Float32Array(DIM + 1), 3)).rejects.toThrow(/dimension/);
    expect(fake.requests).toEqual([]);
  });

  describe('search', () => {
    const catalog: Product[] = [
      product('a', { category: 'Sports/Footwear', brand: 'Nike', price: 120, in_stock: true }),
      product('b', { category: 'Sports/Outdoor', brand: 'Adidas', price: 80, in_stock: false }),
      product('c', { category: 'Electronics/Audio', brand: 'Sony', price: 300, in_stock: true }),
      product('d', { category: 'Sportswear', brand: 'NIKE', in_stock: true }),
    ];
    const vectors: Record<string, number[]> = { a: [1, 0, 0, 0], b: [0.9, 0.1, 0, 0], c: [0, 1, 0, 0], d: [0.5, 0.5, 0, 0] };
    let store: QdrantVectorStore;
    beforeEach(async () => {
      store = await open();
      await store.upsert(catalog.map((p) => ({ product: p, hash: `h-${p.id}`, vector: unit(vectors[p.id]!) })));
      fake.requests.length = 0;
    });

    it('queries the named vector with limit k, product ids only in the payload, and parses the points', async () => {
      const hits = await store.search(unit([1, 0, 0, 0]), 2);
      expect(fake.ops()).toEqual(['query_points']);
      expect(fake.requests[0]!.body).toEqual({ query: [1, 0, 0, 0], using: 'text', limit: 2, with_payload: ['product_id'], with_vector: false });
      expect(hits.map((h) => h.id)).toEqual(['a', 'b']);
      expect(hits[0]!.score).toBeCloseTo(1, 6);
      expect(await store.search(unit([1, 0, 0, 0]), 0)).toEqual([]);
    });

    const cases: Array<[string, Filters, unknown]> = [
      ['category prefix', { category: ' sports/ ' }, { must: [{ key: 'category_prefixes', match: { value: 'sports' } }] }],
      ['brand', { brand: 'NIKE' }, { must: [{ key: 'brand_key', match: { value: 'nike' } }] }],
      ['price_min', { price_min: 100 }, { must: [{ key: 'price', range: { gte: 100 } }] }],
      ['price_max', { price_max: 100 }, { must: [{ key: 'price', range: { lte: 100 } }] }],
      ['in_stock', { in_stock: false }, { must: [{ key: 'in_stock', match: { value: false } }] }],
    ];
    for (const [name, filters, expected] of cases) {
      it(`sends a schema-valid filter for ${name}`, async () => {
        const hits = await store.search(unit([1, 0, 0, 0]), 10, filters);
        expect(fake.requests[0]!.body.filter).toEqual(expected);
        // The naive canned answer agrees with the reference semantics on this tiny catalog.
        const pass = compileFilter(filters);
        expect(hits.map((h) => h.id).sort()).toEqual(catalog.filter((p) => pass(filterPayload(p))).map((p) => p.id).sort());
      });
    }

    it('combines category prefix, brand, price range and in_stock into one must filter', async () => {
      await store.search(unit([1, 0, 0, 0]), 5, { category: 'Sports/Footwear', brand: ' Nike', price_min: 100, price_max: 150, in_stock: true });
      expect(fake.requests[0]!.body.filter).toEqual({
        must: [
          { key: 'category_prefixes', match: { value: 'sports/footwear' } },
          { key: 'brand_key', match: { value: 'nike' } },
          { key: 'price', range: { gte: 100, lte: 150 } },
          { key: 'in_stock', match: { value: true } },
        ],
      });
    });

    it('sends no filter when every filter field is undefined', async () => {
      await store.search(unit([1, 0, 0, 0]), 5, { brand: undefined });
      expect(fake.requests[0]!.body).not.toHaveProperty('filter');
    });

    it('deletes by point UUID with wait=true', async () => {
      await store.delete(['a', 'a', 'missing']);
      expect(fake.ops()).toEqual(['delete_points']);
      expect(fake.requests[0]!.query['wait']).toBe('true');
      expect(fake.requests[0]!.body).toEqual({ points: [pointId('a'), pointId('missing')] });
      expect(await store.count()).toBe(3);
      fake.requests.length = 0;
      await store.delete([]);
      expect(fake.requests).toEqual([]);
    });

    it('counts exactly', async () => {
      expect(await store.count()).toBe(4);
      expect(fake.requests[0]!.body).toEqual({ exact: true });
    });
  });

  it('reads every hash through paginated scroll', async () => {
    const store = await open();
    const n = 2100;
    const points = Array.from({ length: n }, (_, i) => ({ product: product(`p${i}`), hash: `h${i}`, vector: unit([1, 1, i, 0]) }));
    await store.upsert(points);
    fake.requests.length = 0;
    const hashes = await store.hashes();
    expect(hashes.size).toBe(n);
    expect(hashes.get('p1234')).toBe('h1234');
    const scrolls = fake.requests.filter((r) => r.operationId === 'scroll_points');
    expect(scrolls.length).toBe(3);
    expect(scrolls[0]!.body).toEqual({ limit: 1024, with_payload: ['product_id', 'hash'], with_vector: false });
    expect(scrolls[1]!.body.offset).toBe(scrolls[0]!.response.result.next_page_offset);
  });
});

describe('point ids and filter translation', () => {
  it('derives RFC 4122 v5 UUIDs', () => {
    // Reference vector: uuid5(NAMESPACE_DNS, 'www.example.com') (Python's uuid module).
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(pointId('p1')).toBe(pointId('p1'));
    expect(pointId('p1')).not.toBe(pointId('p2'));
    expect(pointId('p1')).not.toBe(pointId('P1'));
    for (const id of ['p1', '', '跑步鞋', 'a/b c?d']) expect(pointId(id)).toMatch(UUID_RE);
  });

  it('category prefixes match compileFilter exactly', () => {
    expect(categoryPrefixes('sports/footwear/running shoes')).toEqual(['sports', 'sports/footwear', 'sports/footwear/running shoes']);
    const categories = ['Sports/Footwear/Running Shoes', 'Sportswear', 'sports/', '/Home/Kitchen', 'A//B', 'Electronics'];
    const queries = ['Sports', 'sport', 'SPORTS/FOOTWEAR/', 'sportswear', '/home', 'home', 'a', 'a/', 'a//b', 'electronics/audio', ''];
    for (const category of categories) {
      const payload = filterPayload(product('x', { category }));
      const prefixes = categoryPrefixes(payload.categoryKey!);
      for (const q of queries) {
        const filter = qdrantFilter({ category: q }) as { must: Array<{ match: { value: string } }> };
        const wanted = filter.must[0]!.match.value;
        expect(prefixes.includes(wanted), `${category} vs ${q}`).toBe(compileFilter({ category: q })(payload));
      }
    }
  });

  it('translates no filters to no filter', () => {
    expect(qdrantFilter(undefined)).toBeUndefined();
    expect(qdrantFilter({})).toBeUndefined();
  });
});
