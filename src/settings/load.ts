import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { SettingsSchema, type Settings, type SettingsTree } from './schema.ts';
import {
  ALIASES,
  CoercionError,
  CONFIG_FILE_VAR,
  EMPTY_IS_A_VALUE,
  ENV_INDEX,
  ENV_PREFIX,
  FEED_FILE_VAR,
  SETTINGS_TREE,
  coerce,
  nodeAt,
  type SettingNode,
} from './sources.ts';

/** One problem with the settings: the path it is about, where the value came from, and why it is wrong. */
export interface SettingIssue {
  path: string;
  source: string;
  message: string;
}

/** Start-up refuses bad settings with this, naming each path, its source and the reason. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: SettingIssue[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The settings file (SHELF_CONFIG or SHELF_FEED_CONFIG) is missing, unreadable or not an object. */
export class ConfigFileError extends ConfigError {
  override name = 'ConfigFileError';
}

/** Where a value came from: a file (and where in the tree it is mounted) or an environment variable. */
export interface Origin {
  kind: 'file' | 'env';
  /** The file's path, or the variable's name. */
  label: string;
  /** Files merged below the root (SHELF_FEED_CONFIG at `feed`): the mount path. */
  mount?: string[];
}

export interface LoadedSettings {
  settings: Settings;
  /** Dotted leaf path → where its value came from; a path not here has its default. */
  origins: ReadonlyMap<string, Origin>;
  /** The files read, in order of precedence (lowest first). */
  files: string[];
}

/** How a source is named in messages and by `npm run config -- print`. */
export function describeOrigin(o: Origin | undefined, dotted?: string): string {
  if (!o) return 'default';
  if (o.kind === 'env') return o.label;
  if (!o.mount?.length) return o.label;
  const rel = dotted?.split('.').slice(o.mount.length).join('.');
  return rel ? `${o.label} (key ${rel})` : o.label;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Human wording of a zod issue ("must be at most 1"), keeping custom messages. */
export function issueMessage(i: z.core.$ZodIssue): string {
  switch (i.code) {
    case 'too_big': {
      const unit = i.origin === 'string' ? ' characters' : i.origin === 'array' ? ' items' : '';
      return `must be ${i.inclusive ? 'at most' : 'less than'} ${String(i.maximum)}${unit}`;
    }
    case 'too_small': {
      if (i.message && !i.message.startsWith('Too small')) return i.message;
      const unit = i.origin === 'string' ? ' characters' : i.origin === 'array' ? ' items' : '';
      return `must be ${i.inclusive ? 'at least' : 'more than'} ${String(i.minimum)}${unit}`;
    }
    case 'invalid_type':
      return i.expected === 'int' ? 'must be a whole number' : `expected ${i.expected}`;
    case 'invalid_value':
      return `must be one of ${i.values.map(String).join(', ')}`;
    case 'invalid_format':
      return i.format === 'url' ? 'must be a URL' : i.message;
    case 'unrecognized_keys':
      return 'unknown setting';
    default:
      return i.message;
  }
}

const formatIssues = (issues: SettingIssue[]) =>
  'invalid configuration: ' +
  issues.map((i) => `${i.path || '(root)'}${i.source ? ` from ${i.source}` : ''}: ${i.message}`).join('; ');

/** Reads the settings file: YAML, or JSON for `.json` files. */
function readSettingsFile(file: string, variable: string, json: boolean): Record<string, unknown> {
  let data: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    data = json ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigFileError(
      `invalid configuration: ${variable}: cannot read ${file} as ${json ? 'JSON' : 'YAML'} (${(err as Error).message.split('\n')[0]})`,
    );
  }
  if (data === null || data === undefined) return {};
  if (!isPlainObject(data)) {
    throw new ConfigFileError(
      `invalid configuration: ${variable}: ${file} must hold a ${json ? 'JSON' : 'YAML'} object`,
    );
  }
  return data;
}

/**
 * Walks a file's values against the tree: unknown keys become issues, `null` means unset (as an
 * empty variable does), and each leaf's origin is recorded.
 */
function collect(
  value: Record<string, unknown>,
  node: SettingNode,
  origin: Origin,
  origins: Map<string, Origin>,
  issues: SettingIssue[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const child = node.children?.get(k);
    const dotted = [...node.path, k].join('.');
    if (!child) {
      issues.push({ path: dotted, source: describeOrigin(origin, dotted), message: 'unknown setting' });
      continue;
    }
    if (v === null || v === undefined) continue;
    if (child.kind === 'object' && isPlainObject(v)) {
      out[k] = collect(v, child, origin, origins, issues);
    } else {
      out[k] = v;
      origins.set(dotted, origin);
    }
  }
  return out;
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(source)) {
    const t = target[k];
    if (isPlainObject(t) && isPlainObject(v)) mergeInto(t, v);
    else target[k] = v;
  }
}

/** Sets `value` at `p`, creating the objects above it. */
export function setAt(target: Record<string, unknown>, p: readonly string[], value: unknown): void {
  let o = target;
  for (const k of p.slice(0, -1)) {
    if (!isPlainObject(o[k])) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[p.at(-1)!] = value;
}

/** `source` wrapped in objects down to `mount`. */
const mounted = (mount: string[], value: Record<string, unknown>): Record<string, unknown> =>
  mount.reduceRight<Record<string, unknown>>((acc, k) => ({ [k]: acc }), value);

/** The environment's settings: aliases first, then the paths' own `SHELF__…` variables over them. */
function fromEnv(env: NodeJS.ProcessEnv, origins: Map<string, Origin>, issues: SettingIssue[]) {
  const out: Record<string, unknown> = {};
  const set = (node: SettingNode, name: string, text: string) => {
    if (text === '' && !EMPTY_IS_A_VALUE.has(node.dotted)) return;
    let value: unknown;
    try {
      value = coerce(node, text);
    } catch (err) {
      if (!(err instanceof CoercionError)) throw err;
      issues.push({ path: node.dotted, source: name, message: err.message });
      return;
    }
    const origin: Origin = { kind: 'env', label: name };
    if (node.kind === 'object') {
      if (!isPlainObject(value)) {
        issues.push({ path: node.dotted, source: name, message: 'expected a JSON object' });
        return;
      }
      mergeInto(out, mounted(node.path, collect(value, node, origin, origins, issues)));
    } else {
      setAt(out, node.path, value);
      origins.set(node.dotted, origin);
    }
  };
  for (const alias of ALIASES) {
    const text = env[alias.name];
    if (text === undefined || alias.name === FEED_FILE_VAR) continue;
    set(nodeAt(alias.path.split('.'))!, alias.name, text);
  }
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || text === undefined) continue;
    const node = ENV_INDEX.get(name);
    if (!node) {
      const guess = name.slice(ENV_PREFIX.length).toLowerCase().split('__').join('.');
      issues.push({ path: guess, source: name, message: 'unknown setting' });
      continue;
    }
    set(node, name, text);
  }
  return out;
}

/** The origin that explains an issue at `p`: the value there, above it, or (for cross-field rules) beside it. */
function originFor(p: string[], origins: ReadonlyMap<string, Origin>): Origin | undefined {
  for (let n = p.length; n > 0; n--) {
    const o = origins.get(p.slice(0, n).join('.'));
    if (o) return o;
  }
  const parent = p.slice(0, -1).join('.');
  for (const [k, o] of origins) if (parent && k.startsWith(`${parent}.`)) return o;
  return undefined;
}

/** Relative paths resolved, and the "empty means none" settings as `undefined`. */
function finalize(t: SettingsTree): Settings {
  const { model_dir, ...ranking } = t.ranking;
  const { imageModel, ...embedder } = t.embedder;
  return {
    ...t,
    service: {
      ...t.service,
      dataDir: path.resolve(t.service.dataDir),
      catalog: t.service.catalog === '' ? undefined : path.resolve(t.service.catalog),
    },
    embedder: {
      ...embedder,
      cacheDir: path.resolve(embedder.cacheDir),
      ...(imageModel && { imageModel: path.resolve(imageModel) }),
    },
    ranking: {
      ...ranking,
      extra_model_dirs: ranking.extra_model_dirs.map((d) => path.resolve(d)),
      ...(model_dir !== '' && { model_dir: path.resolve(model_dir) }),
    },
    sequence: {
      ...t.sequence,
      model_dir: t.sequence.model_dir === '' ? '' : path.resolve(t.sequence.model_dir),
      extra_model_dirs: t.sequence.extra_model_dirs.map((d) => path.resolve(d)),
    },
    console: { ...t.console, reports_dir: path.resolve(t.console.reports_dir) },
  };
}

/**
 * The effective settings: built-in defaults < the SHELF_CONFIG file (YAML or JSON) < the
 * SHELF_FEED_CONFIG file (at `feed`) < environment variables (aliases < `SHELF__<PATH>`).
 * Throws ConfigError naming each bad or unknown setting's path, source and reason.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): LoadedSettings {
  const origins = new Map<string, Origin>();
  const issues: SettingIssue[] = [];
  const files: string[] = [];
  const merged: Record<string, unknown> = {};

  const configFile = env[CONFIG_FILE_VAR];
  if (configFile) {
    const file = path.resolve(configFile);
    const json = path.extname(file).toLowerCase() === '.json';
    const data = readSettingsFile(file, CONFIG_FILE_VAR, json);
    mergeInto(merged, collect(data, SETTINGS_TREE, { kind: 'file', label: file }, origins, issues));
    files.push(file);
  }
  const feedFile = env[FEED_FILE_VAR];
  if (feedFile) {
    const file = path.resolve(feedFile);
    const data = readSettingsFile(file, FEED_FILE_VAR, true);
    const mount = ['feed'];
    const origin: Origin = { kind: 'file', label: `${FEED_FILE_VAR}=${file}`, mount };
    mergeInto(merged, mounted(mount, collect(data, nodeAt(mount)!, origin, origins, issues)));
    files.push(file);
  }
  mergeInto(merged, fromEnv(env, origins, issues));

  // Unknown keys and uncoercible values are left out of `merged`, so one run reports every problem.
  const parsed = SettingsSchema.safeParse(merged);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const p = i.path.map(String);
      if (i.code === 'unrecognized_keys') p.push(i.keys[0] ?? '');
      const dotted = p.join('.');
      issues.push({ path: dotted, source: describeOrigin(originFor(p, origins), dotted), message: issueMessage(i) });
    }
  }
  if (issues.length || !parsed.success) throw new ConfigError(formatIssues(issues), issues);
  const t = parsed.data;

  // The indexer keeps BM25 and vectors consistent by writing both and swapping both at once; half
  // of an index in a local folder and half on a server could not be swapped together (nor shared
  // by a second service replica).
  const es = t.backends.elasticsearchUrl !== undefined;
  if (es !== (t.backends.qdrantUrl !== undefined)) {
    const [set, unset] = es
      ? ['backends.elasticsearchUrl', 'backends.qdrantUrl']
      : ['backends.qdrantUrl', 'backends.elasticsearchUrl'];
    const name = (p: string) => {
      const o = origins.get(p);
      if (o?.kind === 'env') return o.label;
      const alias = ALIASES.find((a) => a.path === p)?.name;
      return o ? `${p} (from ${describeOrigin(o, p)})` : (alias ?? p);
    };
    const message =
      `${name(set)} is set but ${name(unset)} is not. Elasticsearch and Qdrant are used together ` +
      `(BM25 and vectors are written and switched as one index): set both, or neither for the embedded index`;
    throw new ConfigError(`invalid configuration: ${message}`, [{ path: unset, source: '', message }]);
  }
  return { settings: finalize(t), origins, files };
}

/** The effective settings (see loadSettings). */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Settings => loadSettings(env).settings;
