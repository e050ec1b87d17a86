import { describe, expect, it } from 'vitest';
import { loadConfig } from '../settings/load.ts';
import { SettingsOverrideError } from '../settings/overrides.ts';
import { armSettings, requestOverrides } from './arm-settings.ts';

const base = loadConfig({ SHELF_CATALOG: '', SHELF__SEQUENCE__MODEL_VERSION: 'seq-main' });
const deployed = { ranking: ['rank-main', 'rank-alt'], sequence: ['seq-main', 'seq-alt'] };

const refusal = (overrides: Record<string, unknown>) => {
  try {
    armSettings(base, overrides, deployed);
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsOverrideError);
    return err as SettingsOverrideError;
  }
  throw new Error('expected a SettingsOverrideError');
};

describe("an experiment arm's settings", () => {
  it('may pick a deployed ranker or sequence model version, and no other', () => {
    expect(armSettings(base, { 'ranking.model_version': 'rank-alt' }, deployed).ranking.model_version).toBe('rank-alt');
    expect(armSettings(base, { 'sequence.model_version': 'seq-alt' }, deployed).sequence.model_version).toBe('seq-alt');
    // The service's own default is always allowed (it may be loaded later), and so is empty (the followed one).
    expect(armSettings(base, { 'sequence.model_version': 'seq-main' }, { ...deployed, sequence: [] })).toBeDefined();
    expect(armSettings(base, { 'sequence.model_version': '' }, { ...deployed, sequence: [] })).toBeDefined();

    const seq = refusal({ 'sequence.model_version': 'seq-v0' });
    expect(seq.path).toBe('sequence.model_version');
    expect(seq.reason).toBe(
      'sequence model version "seq-v0" is not deployed (deployed: seq-main, seq-alt; sequence.extra_model_dirs loads more)',
    );
    const rank = refusal({ 'ranking.model_version': 'rank-v0', 'sequence.model_version': 'seq-alt' });
    expect(rank.path).toBe('ranking.model_version');
    expect(rank.reason).toMatch(/^model version "rank-v0" is not deployed \(deployed: rank-main, rank-alt;/);
    // Without the deployed list (an instance resolving an arm made elsewhere) only the settings rules apply.
    expect(armSettings(base, { 'sequence.model_version': 'seq-v0' }).sequence.model_version).toBe('seq-v0');
    expect(refusal({ 'sequence.extra_model_dirs': ['/x'] }).reason).toBe('not a request-scoped setting');
  });

  it('become the pipeline overrides of the paths the arm names, per surface', () => {
    const paths = [
      'retrieval.rrf_k',
      'feed.weights.sequence',
      'ranking.model_version',
      'sequence.model_version',
      'diversity.search.lambda',
      'coupons.targeting.min_value',
      'coupons.targeting.boost',
    ];
    const applied = armSettings(base, {
      'retrieval.rrf_k': 10,
      'feed.weights.sequence': 3,
      'ranking.model_version': 'rank-alt',
      'sequence.model_version': 'seq-alt',
      'diversity.search.lambda': 0.5,
      'coupons.targeting.min_value': 2,
      'coupons.targeting.boost': 0.1,
    });
    const search = requestOverrides(applied, paths, 'search');
    expect(search).toEqual({
      retrieval: { rrf_k: 10 },
      feed: { weights: { ...base.feed.weights, sequence: 3 } },
      ranking: { model_version: 'rank-alt' },
      sequence: { model_version: 'seq-alt' },
      diversity: { lambda: 0.5 },
      coupons: { min_value: 2, boost: 0.1 },
    });
    // A diversity override applies on its own surface only.
    const { diversity, ...rest } = search;
    expect(diversity).toBeDefined();
    expect(requestOverrides(applied, paths, 'feed')).toEqual(rest);
  });
});
