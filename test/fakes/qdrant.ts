import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * An OpenAPI-validating stand-in for Qdrant, for the adapter's contract tests
 * (retrieval/index/qdrant/qdrant-contract.test.ts) and the production back end's integration test.
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
 * covered by test/integration/qdrant.test.ts and the production back end tests against a real server.
 */

export const OPENAPI_PATH =
  process.env.QDRANT_OPENAPI ??
  fileURLToPath(new URL('../../../shared/contracts/qdrant-openapi.json', import.meta.url));
const DOC_ID = 'qdrant-openapi.json';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

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
  for (const [k, v] of Object.entries(s))
    o[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${DOC_ID}${v}` : rebaseRefs(v);
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

export class OpenApiContract {
  readonly doc: JsonObject;
  readonly ops: Operation[] = [];
  private readonly ajv: Ajv;

  constructor(file: string) {
    this.doc = JSON.parse(fs.readFileSync(file, 'utf8')) as JsonObject;
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    const isInt = (unsigned: boolean) => (n: number) => Number.isInteger(n) && (!unsigned || n >= 0);
    for (const f of ['uint', 'uint8', 'uint32', 'uint64'])
      this.ajv.addFormat(f, { type: 'number', validate: isInt(true) });
    this.ajv.addFormat('int64', { type: 'number', validate: isInt(false) });
    for (const f of ['float', 'double'])
      this.ajv.addFormat(f, { type: 'number', validate: (n: number) => Number.isFinite(n) });
    this.ajv.addFormat('partial-date-time', true);
    this.ajv.addSchema({ ...(fixNullable(this.doc) as JsonObject), $id: DOC_ID });

    const paths = (this.doc['paths'] ?? {}) as Record<string, Record<string, JsonObject>>;
    for (const [template, methods] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (typeof op !== 'object' || op === null || typeof op['operationId'] !== 'string') continue;
        const params: string[] = [];
        const pattern = template
          .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
          .replace(/\\?\{([^}]+)\\?\}/g, (_m, name: string) => {
            params.push(name);
            return '([^/]+)';
          });
        this.ops.push({
          method: method.toUpperCase(),
          template,
          operationId: op['operationId'],
          regex: new RegExp(`^${pattern}$`),
          params,
        });
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
      if (!candidates.some((v) => validate(v)))
        errors.push(`${op.operationId}: query ${name}=${raw}: ${JSON.stringify(validate.errors)}`);
    }
    return errors;
  }

  responseValidator(op: Operation): ValidateFunction {
    if (!op.response) {
      const ok = ((this.rawOp(op)['responses'] as JsonObject)['200'] as JsonObject | undefined)?.['content'] as
        JsonObject | undefined;
      const json = (ok?.['application/json'] as JsonObject | undefined)?.['schema'];
      if (json === undefined) throw new Error(`${op.operationId} has no 200 application/json response schema`);
      op.response = this.compile(json);
    }
    return op.response;
  }
}

export interface Recorded {
  operationId: string;
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
  response: any;
}

interface FakePoint {
  id: string;
  /** Named vectors this point has (a named vector may be absent). */
  vectors: Record<string, number[]>;
  payload: Record<string, Json>;
}

export interface FakeCollection {
  /** Named vector → dimension. */
  vectors: Record<string, number>;
  /** Named vector → distance, when not Cosine (the sequence index's `sequence` vector is Euclid). */
  distances?: Record<string, string>;
  /** The collection's metadata (create_collection's `metadata`). */
  metadata?: Record<string, Json> | null;
  indexes: Map<string, string>;
  points: Map<string, FakePoint>;
}

/** Naive evaluation of the filter shapes the adapter emits, only to make canned responses plausible. */
function naiveMatch(filter: any, point: FakePoint): boolean {
  if (!filter) return true;
  const payload = point.payload;
  const must: any[] = Array.isArray(filter.must) ? filter.must : filter.must ? [filter.must] : [];
  return must.every((c) => {
    if (c.has_id) return (c.has_id as unknown[]).map(String).includes(point.id);
    if (c.has_vector) return point.vectors[c.has_vector] !== undefined;
    // Nested keys (`attribute_keys.color`) read into objects, as Qdrant's do.
    const v = String(c.key)
      .split('.')
      .reduce((o: any, k) => (o === undefined || o === null ? undefined : o[k]), payload);
    if (c.match) {
      const wanted: unknown[] = c.match.any ?? [c.match.value];
      return Array.isArray(v) ? v.some((x) => wanted.includes(x)) : wanted.includes(v);
    }
    if (c.range) {
      if (typeof v !== 'number') return false;
      const r = c.range;
      return (
        (r.gte === undefined || v >= r.gte) &&
        (r.lte === undefined || v <= r.lte) &&
        (r.gt === undefined || v > r.gt) &&
        (r.lt === undefined || v < r.lt)
      );
    }
    return false;
  });
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * (b[i] ?? 0);
  return s;
}

function euclid(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
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
  if (Array.isArray(withPayload))
    return Object.fromEntries(Object.entries(payload).filter(([k]) => withPayload.includes(k)));
  return payload;
}

export class FakeQdrant {
  readonly requests: Recorded[] = [];
  readonly errors: string[] = [];
  readonly collections = new Map<string, FakeCollection>();
  /** alias → collection, as `POST /collections/aliases` left them. */
  readonly aliases = new Map<string, string>();
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
    this.aliases.clear();
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

  /** Point and collection operations accept an alias wherever a collection name goes. */
  private collection(name: string): FakeCollection {
    const c = this.collections.get(this.aliases.get(name) ?? name);
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
          vectors: Object.fromEntries(
            Object.entries(c.vectors).map(([n, size]) => [n, { size, distance: c.distances?.[n] ?? 'Cosine' }]),
          ),
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
        ...(c.metadata && { metadata: c.metadata }),
      },
      payload_schema: Object.fromEntries(
        [...c.indexes].map(([field, type]) => [field, { data_type: type, points: c.points.size }]),
      ),
    };
  }

  private result(operationId: string, name: string, body: any, query: Record<string, string>): unknown {
    switch (operationId) {
      case 'root':
        return {
          title: 'qdrant - vector search engine',
          version: '1.19.0',
          commit: '0000000000000000000000000000000000000000',
        };
      case 'collection_exists':
        return { exists: this.collections.has(name) };
      case 'get_collection':
        return this.collectionInfo(this.collection(name));
      case 'create_collection': {
        const named = Object.entries(body.vectors as Record<string, { size: number; distance: string }>);
        const vectors = Object.fromEntries(named.map(([n, v]) => [n, v.size]));
        const distances = Object.fromEntries(named.map(([n, v]) => [n, v.distance]));
        this.collections.set(name, {
          vectors,
          distances,
          metadata: body.metadata ?? null,
          indexes: new Map(),
          points: new Map(),
        });
        return true;
      }
      case 'delete_collection': {
        // Qdrant drops a collection's aliases with it.
        for (const [alias, target] of this.aliases) if (target === name) this.aliases.delete(alias);
        return this.collections.delete(name);
      }
      case 'get_collections':
        return { collections: [...this.collections.keys()].map((n) => ({ name: n })) };
      case 'get_collections_aliases':
        return { aliases: [...this.aliases].map(([alias_name, collection_name]) => ({ alias_name, collection_name })) };
      case 'update_aliases': {
        // All or nothing, like Qdrant: validate every action against a copy, then apply.
        const next = new Map(this.aliases);
        for (const action of body.actions as any[]) {
          if (action.create_alias) {
            const { alias_name, collection_name } = action.create_alias;
            if (!this.collections.has(collection_name))
              throw new Error(`Not found: Collection \`${collection_name}\` doesn't exist!`);
            if (next.has(alias_name) || this.collections.has(alias_name))
              throw new Error(`Alias ${alias_name} already exists!`);
            next.set(alias_name, collection_name);
          } else if (action.delete_alias) {
            if (!next.delete(action.delete_alias.alias_name))
              throw new Error(`Not found: Alias ${action.delete_alias.alias_name} doesn't exist!`);
          } else if (action.rename_alias) {
            const { old_alias_name, new_alias_name } = action.rename_alias;
            const target = next.get(old_alias_name);
            if (target === undefined) throw new Error(`Not found: Alias ${old_alias_name} doesn't exist!`);
            next.delete(old_alias_name);
            next.set(new_alias_name, target);
          }
        }
        this.aliases.clear();
        for (const [a, c] of next) this.aliases.set(a, c);
        return true;
      }
      case 'create_field_index':
        this.collection(name).indexes.set(body.field_name, body.field_schema);
        return this.updateResult();
      case 'upsert_points': {
        const c = this.collection(name);
        for (const p of body.points as Array<{
          id: string;
          vector: Record<string, number[]>;
          payload: Record<string, Json>;
        }>) {
          // An upsert replaces the whole point, named vectors it does not mention included.
          c.points.set(String(p.id), { id: String(p.id), vectors: { ...p.vector }, payload: p.payload });
        }
        return this.updateResult();
      }
      case 'update_vectors': {
        const c = this.collection(name);
        const missing = (body.points as Array<{ id: string }>).filter((p) => !c.points.has(String(p.id)));
        if (missing.length > 0) throw new Error(`Not found: No point with id ${missing[0]!.id} found`);
        for (const p of body.points as Array<{ id: string; vector: Record<string, number[]> }>)
          Object.assign(c.points.get(String(p.id))!.vectors, p.vector);
        return this.updateResult();
      }
      case 'delete_vectors': {
        const c = this.collection(name);
        const ids = body.points ? new Set((body.points as unknown[]).map(String)) : undefined;
        for (const p of c.points.values()) {
          if ((ids && !ids.has(p.id)) || (body.filter && !naiveMatch(body.filter, p))) continue;
          for (const v of body.vector as string[]) delete p.vectors[v];
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
        const distance = c.distances?.[body.using] ?? 'Cosine';
        // Qdrant scores Euclid by the distance itself, nearest first; the others by similarity.
        const score = distance === 'Euclid' ? euclid : distance === 'Dot' ? dot : cosine;
        const sign = distance === 'Euclid' ? -1 : 1;
        const scored = [...c.points.values()]
          .filter((p) => p.vectors[body.using ?? ''] !== undefined && naiveMatch(body.filter, p))
          .map((p) => ({
            id: p.id,
            version: 1,
            score: score(body.query as number[], p.vectors[body.using]!),
            payload: selectPayload(p.payload, body.with_payload),
          }))
          .sort((a, b) => sign * (b.score - a.score) || (a.id < b.id ? -1 : 1));
        return { points: scored.slice(0, body.limit ?? 10) };
      }
      case 'scroll_points': {
        const c = this.collection(name);
        const sorted = [...c.points.values()]
          .filter((p) => naiveMatch(body.filter, p))
          .sort((a, b) => (a.id < b.id ? -1 : 1));
        const start = body.offset === undefined ? 0 : sorted.findIndex((p) => p.id >= String(body.offset));
        const limit = body.limit ?? 10;
        const page = start < 0 ? [] : sorted.slice(start, start + limit);
        const next = start < 0 ? undefined : sorted[start + limit];
        return {
          points: page.map((p) => ({ id: p.id, payload: selectPayload(p.payload, body.with_payload) })),
          next_page_offset: next ? next.id : null,
        };
      }
      case 'get_points': {
        const c = this.collection(name);
        const wanted = Array.isArray(body.with_vector)
          ? (body.with_vector as string[])
          : body.with_vector === true
            ? Object.keys(c.vectors)
            : [];
        return (body.ids as unknown[]).flatMap((id) => {
          const p = c.points.get(String(id));
          if (!p) return [];
          const vector = Object.fromEntries(
            wanted.filter((n) => p.vectors[n] !== undefined).map((n) => [n, p.vectors[n]!]),
          );
          return [
            { id: p.id, payload: selectPayload(p.payload, body.with_payload), ...(wanted.length > 0 && { vector }) },
          ];
        });
      }
      case 'count_points':
        return { count: [...this.collection(name).points.values()].filter((p) => naiveMatch(body.filter, p)).length };
      default:
        throw new Error(`the contract server has no canned response for ${operationId} (${JSON.stringify(query)})`);
    }
  }
}
