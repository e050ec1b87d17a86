import type { z } from 'zod';
import { isRequestScoped, type Settings, type SettingsOverrides } from './schema.ts';
import { CoercionError, coerce, nodeAt, type SettingNode } from './sources.ts';
import { issueMessage, setAt } from './load.ts';

/** A per-request override that names no request-scoped setting or carries a bad value. */
export class SettingsOverrideError extends Error {
  constructor(
    /** The dotted path the override named (for a bad value inside an object: the leaf's path). */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`invalid setting override: ${path}: ${reason}`);
    this.name = 'SettingsOverrideError';
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const hasChecks = (s: z.ZodType) =>
  ((s as unknown as { _zod: { def: { checks?: unknown[] } } })._zod.def.checks?.length ?? 0) > 0;

/** An override's value flattened to leaves: `{ "diversity.feed": { lambda: 0.5 } }` → diversity.feed.lambda. */
function flatten(node: SettingNode, value: unknown, out: Array<[SettingNode, unknown]>): void {
  if (node.kind !== 'object') {
    out.push([node, value]);
    return;
  }
  if (!isPlainObject(value)) throw new SettingsOverrideError(node.dotted, 'expected an object of settings');
  for (const [k, v] of Object.entries(value)) {
    const child = node.children!.get(k);
    if (!child) throw new SettingsOverrideError(`${node.dotted}.${k}`, 'unknown setting');
    flatten(child, v, out);
  }
}

/**
 * The effective settings with a per-request override map applied: `{ "<dotted.path>": value }`,
 * where each path is request-scoped (REQUEST_SCOPED_PATHS: a leaf, or an object whose fields are
 * merged). Values are validated by the same schema as at start-up (text is coerced as for
 * environment variables, so `"0.5"` works for a number), including cross-field rules such as
 * MMR's category_weight + brand_weight ≤ 1. Returns a new object; `base` is not changed. Throws
 * SettingsOverrideError naming the path for an unknown or fixed setting or a bad value.
 */
export function applyOverrides(
  base: Settings,
  overrides: SettingsOverrides | Readonly<Record<string, unknown>>,
): Settings {
  const entries = Object.entries(overrides).filter(([, v]) => v !== undefined);
  const out = structuredClone(base) as unknown as Record<string, unknown>;
  const touched = new Set<string>();
  for (const [dotted, value] of entries) {
    const node = nodeAt(dotted.split('.'));
    if (!node || dotted === '') throw new SettingsOverrideError(dotted, 'unknown setting');
    if (!isRequestScoped(dotted)) throw new SettingsOverrideError(dotted, 'not a request-scoped setting');
    const leaves: Array<[SettingNode, unknown]> = [];
    flatten(node, value, leaves);
    for (const [leaf, raw] of leaves) {
      let v = raw;
      if (typeof raw === 'string' && leaf.kind !== 'string' && leaf.kind !== 'enum') {
        try {
          v = coerce(leaf, raw);
        } catch (err) {
          if (err instanceof CoercionError) throw new SettingsOverrideError(leaf.dotted, err.message);
          throw err;
        }
      }
      const r = leaf.schema.safeParse(v);
      if (!r.success) throw new SettingsOverrideError(leaf.dotted, issueMessage(r.error.issues[0]!));
      setAt(out, leaf.path, r.data);
      touched.add(leaf.path.slice(0, -1).join('.'));
    }
  }
  // Rules across fields (refinements on an object) see the object with every override in place.
  for (const dotted of touched) {
    const p = dotted.split('.');
    for (let n = p.length; n > 0; n--) {
      const node = nodeAt(p.slice(0, n))!;
      if (!hasChecks(node.schema)) continue;
      const value = p.slice(0, n).reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], out);
      const r = node.schema.safeParse(value);
      if (!r.success) {
        const i = r.error.issues[0]!;
        throw new SettingsOverrideError([...node.path, ...i.path.map(String)].join('.'), issueMessage(i));
      }
    }
  }
  return out as unknown as Settings;
}
