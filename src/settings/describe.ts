import { ALIASES, envNameOf, leaves, SECRET_PATHS } from './sources.ts';
import { describeOrigin, type LoadedSettings } from './load.ts';

/** One effective setting, as `npm run config -- print` shows it. */
export interface SettingEntry {
  path: string;
  /** The value (secrets masked); undefined when unset. */
  value: unknown;
  /** `default`, the file it came from, or the environment variable that set it. */
  source: string;
  /** The variable derived from the path, and the alias when there is one. */
  env: string;
  alias?: string;
}

export const MASK = '****';

/** Secrets hidden: the admin and Qdrant keys entirely, the password inside a URL. */
export function mask(dotted: string, value: unknown): unknown {
  if (value === undefined) return value;
  if (SECRET_PATHS.has(dotted)) return MASK;
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const u = new URL(value);
      if (u.password) {
        u.password = MASK;
        return u.toString();
      }
    } catch {
      // not a URL after all
    }
  }
  if (Array.isArray(value)) return value.map((v) => mask(dotted, v));
  return value;
}

const get = (o: unknown, p: string[]) => p.reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], o);

/** Every leaf of the effective settings with its value (masked) and where it came from. */
export function describeSettings(loaded: LoadedSettings): SettingEntry[] {
  return leaves().map((n) => {
    const alias = ALIASES.find((a) => a.path === n.dotted)?.name;
    return {
      path: n.dotted,
      value: mask(n.dotted, get(loaded.settings, n.path)),
      source: describeOrigin(loaded.origins.get(n.dotted), n.dotted),
      env: envNameOf(n.path),
      ...(alias && { alias }),
    };
  });
}

/** The effective settings as one object, secrets masked. */
export function maskedSettings(loaded: LoadedSettings): Record<string, unknown> {
  const out = structuredClone(loaded.settings) as unknown as Record<string, unknown>;
  for (const n of leaves()) {
    const parent = get(out, n.path.slice(0, -1)) as Record<string, unknown> | undefined;
    const k = n.path.at(-1)!;
    if (parent && parent[k] !== undefined) parent[k] = mask(n.dotted, parent[k]);
  }
  return out;
}
