import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.ts';
import { applyOverrides, SettingsOverrideError } from './overrides.ts';
import { isRequestScoped, requestScoped, type SettingsOverrides } from './schema.ts';

const base = loadConfig({ SHELF_CATALOG: '' });

const failure = (o: Record<string, unknown>) => {
  try {
    applyOverrides(base, o);
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsOverrideError);
    return err as SettingsOverrideError;
  }
  throw new Error('expected a SettingsOverrideError');
};

describe('per-request overrides', () => {
  it('apply onto a copy, leaving the base settings alone', () => {
    const before = structuredClone(base);
    const o: SettingsOverrides = {
      'diversity.feed.lambda': 0.5,
      'ranking.mode': 'off',
      'retrieval.weights.vector': 2,
      'coupons.targeting.min_value': 1.5,
      'feed.weights': { trending: 0 },
    };
    const s = applyOverrides(base, o);
    expect(s).not.toBe(base);
    expect(s.diversity.feed.lambda).toBe(0.5);
    expect(s.diversity.feed.top_n).toBe(50);
    expect(s.ranking.mode).toBe('off');
    expect(s.retrieval.weights).toEqual({ bm25: 1, vector: 2, image: 0.5 });
    expect(s.coupons.targeting.min_value).toBe(1.5);
    expect(s.feed.weights).toMatchObject({ trending: 0, category: 0.6 });
    expect(base).toEqual(before);
    expect(s.diversity.search).not.toBe(base.diversity.search);
    expect(applyOverrides(base, {})).toEqual(base);
  });

  it('coerce text like environment variables', () => {
    const s = applyOverrides(base, { 'ranking.a': '2', 'diversity.search.enabled': 'false' });
    expect(s.ranking.a).toBe(2);
    expect(s.diversity.search.enabled).toBe(false);
  });

  it('refuse unknown and start-up-only paths, naming them', () => {
    expect(failure({ 'diversity.feed.lamda': 0.5 })).toMatchObject({
      path: 'diversity.feed.lamda',
      reason: 'unknown setting',
    });
    expect(failure({ 'feed.weights': { trendy: 1 } }).path).toBe('feed.weights.trendy');
    expect(failure({ 'service.port': 1 })).toMatchObject({
      path: 'service.port',
      reason: 'not a request-scoped setting',
    });
    expect(failure({ 'ranking.model_dir': '/tmp' }).reason).toBe('not a request-scoped setting');
    expect(failure({ 'coupons.targeting.enabled': false }).reason).toBe('not a request-scoped setting');
    expect(failure({ '': 1 }).reason).toBe('unknown setting');
  });

  it('refuse bad values by the same schema as start-up, cross-field rules included', () => {
    const e = failure({ 'diversity.feed.lambda': 1.5 });
    expect(e).toMatchObject({ path: 'diversity.feed.lambda', reason: 'must be at most 1' });
    expect(e.message).toBe('invalid setting override: diversity.feed.lambda: must be at most 1');
    expect(failure({ 'ranking.mode': 'sometimes' }).reason).toBe('must be one of model, off');
    expect(failure({ 'ranking.window': 2.5 }).reason).toBe('must be a whole number');
    expect(failure({ 'ranking.a': 'lots' }).reason).toMatch(/expected a number/);
    expect(failure({ 'ranking.a': true }).reason).toBe('expected number');
    expect(failure({ 'diversity.search.category_weight': 0.7, 'diversity.search.brand_weight': 0.6 })).toMatchObject({
      path: 'diversity.search.brand_weight',
      reason: expect.stringMatching(/category_weight \+ brand_weight/),
    });
  });

  it('mark which settings are request-scoped', () => {
    expect(isRequestScoped('diversity.similar.top_n')).toBe(true);
    expect(isRequestScoped('retrieval.rrf_k')).toBe(true);
    expect(isRequestScoped('retrieval.recall_k')).toBe(false);
    expect(isRequestScoped('retrieval.rrf_kk')).toBe(false);
    expect(isRequestScoped('retrieval.fusion.mode')).toBe(true);
    expect(
      applyOverrides(base, { 'retrieval.fusion.mode': 'rrf', 'retrieval.fusion.all_terms': '0.5' }).retrieval.fusion,
    ).toEqual({ ...base.retrieval.fusion, mode: 'rrf', all_terms: 0.5 });
    expect(isRequestScoped('backends.namespace')).toBe(false);
    const r = requestScoped(base);
    expect(Object.keys(r).sort()).toEqual([
      'coupons',
      'diversity',
      'embedder',
      'feed',
      'ranking',
      'retrieval',
      'sequence',
    ]);
    expect(r.sequence).toEqual({ model_version: '' });
    expect(r.embedder).toEqual({ model_version: '' });
    expect(isRequestScoped('sequence.model_version')).toBe(true);
    expect(isRequestScoped('sequence.extra_model_dirs')).toBe(false);
    expect(isRequestScoped('sequence.model_dir')).toBe(false);
    expect(r.coupons.targeting).toEqual({ min_value: 0, boost: 0 });
    expect(r.ranking).toEqual({ mode: 'model', model_version: '', a: 1, b: 1, c: 0, window: 100 });
    expect(isRequestScoped('ranking.model_version')).toBe(true);
    expect(isRequestScoped('ranking.extra_model_dirs')).toBe(false);
    // Which text model a request searches with; which models are indexed is fixed at start-up.
    expect(isRequestScoped('embedder.model_version')).toBe(true);
    expect(isRequestScoped('embedder.extra_models')).toBe(false);
    expect(isRequestScoped('embedder.model')).toBe(false);
    expect(applyOverrides(base, { 'embedder.model_version': 'ngram-v2:abc' }).embedder.model_version).toBe(
      'ngram-v2:abc',
    );
  });
});
