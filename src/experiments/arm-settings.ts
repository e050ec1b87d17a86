import type { Surface } from '../../core/candidate.ts';
import type { RequestOverrides } from '../../pipeline/context.ts';
import { applyOverrides, SettingsOverrideError } from '../settings/overrides.ts';
import type { Settings } from '../settings/schema.ts';

/**
 * An experiment arm's overrides (dotted request-scoped setting paths, as an admin posts them)
 * turned into what the pipeline merges into one request's settings. Validation is the settings
 * tree's own (applyOverrides: unknown, fixed or out-of-range settings throw SettingsOverrideError
 * naming the path), against the service's settings so cross-field rules see the real values.
 */

/** The model versions this instance has loaded, that an arm may pick by `<kind>.model_version`. */
export interface DeployedModels {
  ranking: readonly string[];
  sequence: readonly string[];
  /** Text model versions (ids) the served index generation holds vectors of and this instance has loaded. */
  text?: readonly string[] | undefined;
}

/**
 * Validates `overrides` against `base`; returns the settings the arm serves. With `deployed`, a
 * model version the service has not loaded is refused too (SettingsOverrideError naming the path).
 */
export function armSettings(
  base: Settings,
  overrides: Readonly<Record<string, unknown>>,
  deployed?: DeployedModels,
): Settings {
  const applied = applyOverrides(base, overrides);
  if (deployed)
    for (const kind of ['ranking', 'sequence'] as const) {
      const version = applied[kind].model_version;
      if (version === '' || version === base[kind].model_version || deployed[kind].includes(version)) continue;
      const what = kind === 'ranking' ? 'model' : 'sequence model';
      throw new SettingsOverrideError(
        `${kind}.model_version`,
        `${what} version "${version}" is not deployed (deployed: ${deployed[kind].join(', ') || 'none'}; ${kind}.extra_model_dirs loads more)`,
      );
    }
  const text = applied.embedder.model_version;
  if (deployed?.text && text !== '' && text !== base.embedder.model_version && !deployed.text.includes(text))
    throw new SettingsOverrideError(
      'embedder.model_version',
      `text model version "${text}" is not deployed (deployed: ${deployed.text.join(', ') || 'none'}; embedder.extra_models indexes more)`,
    );
  return applied;
}

const set = (o: Record<string, Record<string, unknown>>, key: string, field: string, value: unknown) => {
  (o[key] ??= {})[field] = value;
};

/**
 * The pipeline's overrides for a request on `surface`: for every path the arm names, the
 * second-level setting it touches, read from the arm's (validated) settings. A diversity override
 * applies on its own surface only; `behavior` is never request-scoped. Pure.
 */
export function requestOverrides(applied: Settings, paths: readonly string[], surface: Surface): RequestOverrides {
  const out: Record<string, Record<string, unknown>> = {};
  for (const dotted of paths) {
    const [top, second, third] = dotted.split('.');
    switch (top) {
      case 'embedder':
        set(out, 'embedder', second!, applied.embedder[second as 'model_version']);
        break;
      case 'retrieval':
        set(out, 'retrieval', second!, applied.retrieval[second as 'rrf_k' | 'weights']);
        break;
      case 'feed':
        if (second === undefined) Object.assign((out.feed ??= {}), applied.feed);
        else set(out, 'feed', second, applied.feed[second as keyof Settings['feed']]);
        break;
      case 'ranking':
        set(out, 'ranking', second!, applied.ranking[second as 'mode' | 'model_version' | 'a' | 'b' | 'c' | 'window']);
        break;
      case 'sequence':
        set(out, 'sequence', second!, applied.sequence[second as 'model_version']);
        break;
      case 'diversity': {
        const mine = applied.diversity[surface];
        if (second !== undefined && second !== surface) break;
        if (third === undefined) Object.assign((out.diversity ??= {}), mine);
        else set(out, 'diversity', third, mine[third as keyof typeof mine]);
        break;
      }
      case 'coupons':
        // coupons.targeting.min_value | coupons.targeting.boost (or the whole targeting pair).
        if (third !== undefined) set(out, 'coupons', third, applied.coupons.targeting[third as 'min_value' | 'boost']);
        break;
    }
  }
  return out as RequestOverrides;
}
