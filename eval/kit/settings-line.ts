import { envNameOf } from '../../src/settings/sources.ts';

/**
 * The exact settings a report's verdict tells the reader to apply, as the service reads them
 * (`SHELF__A__B=value`, src/settings/sources.ts): nested objects become one variable per leaf.
 */
export function settingsLine(values: Readonly<Record<string, unknown>>, prefix: readonly string[] = []): string {
  const out: string[] = [];
  const walk = (path: string[], v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      for (const [k, x] of Object.entries(v)) walk([...path, k], x);
    else if (v !== undefined && v !== null)
      out.push(`${envNameOf(path)}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  };
  for (const [k, v] of Object.entries(values)) walk([...prefix, ...k.split('.')], v);
  return out.join(' ');
}
