import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../core/rng.ts';
import {
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SPEC_VERSION,
  expandSpecNames,
  featurize,
  loadFeatureSpec,
  type RawFeatures,
} from './features.ts';

const vectors = JSON.parse(readFileSync(new URL('../models/ranker/feature_vectors.json', import.meta.url), 'utf8')) as {
  feature_spec_version: string;
  names: string[];
  cases: Array<{ raw: RawFeatures; features: number[] }>;
};
const PY = '/usr/bin/python3';
const FEATURES_PY = new URL('../models/ranker/features.py', import.meta.url).pathname;

describe('ranking feature spec', () => {
  it('the TS featurizer implements exactly the spec file, in order', () => {
    const spec = loadFeatureSpec();
    expect(spec.version).toBe(FEATURE_SPEC_VERSION);
    expect(expandSpecNames(spec)).toEqual([...FEATURE_NAMES]);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_COUNT);
  });

  it('the shared vectors were written for this spec version and names', () => {
    expect(vectors.feature_spec_version).toBe(FEATURE_SPEC_VERSION);
    expect(vectors.names).toEqual([...FEATURE_NAMES]);
    expect(vectors.cases.length).toBeGreaterThanOrEqual(50);
  });

  it('the shared vectors cover term coverage none, partial, full and unknown, with and without a BM25 hit', () => {
    const bm25 = vectors.cases.map((c) => c.raw.routes.bm25).filter((h) => h !== undefined);
    const seen = new Set(bm25.map((h) => (typeof h.coverage === 'number' ? h.coverage : 'unknown')));
    for (const v of [0, 0.5, 1, 'unknown']) expect(seen, String(v)).toContain(v);
    expect(bm25.some((h) => !('coverage' in h))).toBe(true);
    expect(bm25.some((h) => h.coverage === null)).toBe(true);
    expect(bm25.some((h) => (h.coverage ?? 0) > 1)).toBe(true);
    expect(vectors.cases.some((c) => c.raw.surface === 'search' && c.raw.routes.bm25 === undefined)).toBe(true);
  });

  it('reproduces every Python test vector', () => {
    for (const [i, c] of vectors.cases.entries()) {
      const got = featurize(c.raw);
      expect(got.length, `case ${i}`).toBe(FEATURE_COUNT);
      for (let j = 0; j < FEATURE_COUNT; j++) {
        expect(Math.abs(got[j]! - c.features[j]!), `case ${i} feature ${FEATURE_NAMES[j]}`).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it('features respond to their inputs (a broken transform would not)', () => {
    const base: RawFeatures = {
      surface: 'search',
      position: 0,
      hour: 6,
      routes: { bm25: { rank: 1, score: 10 } },
      fused_score: 1 / 61,
      item: { category_key: 'sports/shoes', brand_key: 'nike', price: 100, popularity: 10, age_days: 3 },
      user: {
        cat_affinity: 1,
        cat_top_affinity: 2,
        cat_total: 4,
        brand_affinity: 1,
        brand_total: 2,
        price_band: 100,
        counts: { view: 1, click: 1, add_to_cart: 0, purchase: 0, impression: 5 },
        recent: false,
        purchased: false,
      },
    };
    const f = featurize(base);
    const at = (name: string, v: number[] = f) => v[FEATURE_NAMES.indexOf(name)]!;
    expect(at('bm25_rank')).toBe(1);
    expect(at('user_cat_share')).toBe(0.25);
    expect(at('user_cat_top_share')).toBe(0.5);
    expect(at('price_gap')).toBe(0);
    expect(at('hour_sin')).toBe(1);
    expect(at('surface_search')).toBe(1);
    const pricier = featurize({ ...base, item: { ...base.item, price: 100 * Math.E ** 2 } });
    expect(at('price_gap', pricier)).toBeCloseTo(1, 6);
    const anon = featurize({ ...base, user: null });
    expect(at('user_known', anon)).toBe(0);
    expect(at('user_cat_share', anon)).toBe(0);
    const feed = featurize({ ...base, surface: 'feed', position: 2 });
    expect(at('surface_feed', feed)).toBe(1);
    expect(at('position', feed)).toBe(0.5);
  });

  it('term coverage: more of the query words, higher bm25_coverage, all else equal; unknown counts as full', () => {
    const raw = (bm25: RawFeatures['routes'][string] | undefined): RawFeatures => ({
      surface: 'search',
      position: 3,
      hour: 10,
      routes: { vector: { rank: 2, score: 0.5 }, ...(bm25 && { bm25 }) },
      fused_score: 0.03,
      item: { category_key: 'audio', brand_key: 'sony', price: 50, popularity: 3, age_days: 1 },
      user: null,
    });
    const at = (name: string, f: number[]) => f[FEATURE_NAMES.indexOf(name)]!;
    const hit = (coverage?: number) => ({ rank: 1, score: 6, ...(coverage !== undefined && { coverage }) });
    const levels = [0, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1].map((c) => featurize(raw(hit(c))));
    for (let i = 1; i < levels.length; i++)
      expect(at('bm25_coverage', levels[i]!)).toBeGreaterThan(at('bm25_coverage', levels[i - 1]!));
    expect(levels.map((f) => at('bm25_all_terms', f))).toEqual([0, 0, 0, 0, 0, 0, 1]);
    expect(at('bm25_coverage', levels[2]!)).toBe(0.333333);
    // Only the coverage features move with coverage.
    const moved = FEATURE_NAMES.filter((_, j) => levels[0]![j] !== levels[6]![j]);
    expect(moved).toEqual(['bm25_coverage', 'bm25_all_terms']);
    // A store that does not report coverage: a full match (as fusion counts it), never a weak one.
    expect(featurize(raw(hit()))).toEqual(levels[6]);
    // Out of range is clipped; no BM25 hit is 0 on both.
    expect(at('bm25_coverage', featurize(raw(hit(1.5))))).toBe(1);
    expect(at('bm25_coverage', featurize(raw(hit(-0.5))))).toBe(0);
    const none = featurize(raw(undefined));
    expect([at('bm25_coverage', none), at('bm25_all_terms', none)]).toEqual([0, 0]);
  });

  it.skipIf(!existsSync(PY))('Python recomputes what TypeScript computes for random inputs', () => {
    const rnd = mulberry32(123);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const cases = Array.from({ length: 200 }, () => {
      const surface = pick(['search', 'feed'] as const);
      const names =
        surface === 'search'
          ? ['bm25', 'vector', 'image']
          : ['uservector', 'itemcf', 'similar', 'trending', 'category'];
      const routes: RawFeatures['routes'] = {};
      for (const n of names) if (rnd() < 0.6) routes[n] = { rank: 1 + Math.floor(rnd() * 500), score: rnd() * 20 - 1 };
      // Term coverage as stores report it (k of n terms), unknown, or out of range.
      const coverage = pick([undefined, 0, 1 / 3, 0.5, 2 / 3, 1, 1, rnd(), 1.25]);
      if (routes.bm25 && coverage !== undefined) routes.bm25.coverage = coverage;
      const total = rnd() * 30;
      const raw: RawFeatures = {
        surface,
        position: Math.floor(rnd() * 500),
        hour: Math.floor(rnd() * 24),
        routes,
        fused_score: rnd() * 0.05,
        item: {
          category_key: pick(['家居/厨具', 'sports/running', 'électronique', null]),
          brand_key: pick(['lego', 'sony', '小米', null]),
          price: pick([null, 0, rnd() * 5000]),
          popularity: Math.floor(rnd() * 1000),
          age_days: pick([null, rnd() * 900]),
        },
        user:
          rnd() < 0.3
            ? null
            : {
                cat_affinity: rnd() * total,
                cat_top_affinity: rnd() * total,
                cat_total: total,
                brand_affinity: rnd() * 3,
                brand_total: pick([0, 3]),
                price_band: pick([null, rnd() * 800]),
                counts: {
                  view: Math.floor(rnd() * 50),
                  click: Math.floor(rnd() * 9),
                  add_to_cart: 1,
                  purchase: 0,
                  impression: Math.floor(rnd() * 300),
                },
                recent: rnd() < 0.5,
                purchased: rnd() < 0.5,
              },
      };
      return { raw, features: featurize(raw) };
    });
    const dir = mkdtempSync(join(tmpdir(), 'rank-features-'));
    try {
      const file = join(dir, 'cases.json');
      writeFileSync(file, JSON.stringify({ cases }));
      const out = execFileSync(PY, [FEATURES_PY, '--check', file], { encoding: 'utf8' });
      const verdict = JSON.parse(out) as { cases: number; mismatches: unknown[]; version: string };
      expect(verdict.version).toBe(FEATURE_SPEC_VERSION);
      expect(verdict.cases).toBe(200);
      expect(verdict.mismatches).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('raw inputs', () => {
  it('the hour is the UTC hour of the request time', async () => {
    const { rawInputs } = await import('./inputs.ts');
    for (const iso of ['2026-11-22T00:00:00Z', '2026-11-22T13:59:59.999Z', '1969-12-31T23:30:00Z']) {
      const now = Date.parse(iso);
      const raw = rawInputs(
        { surface: 'feed', now },
        { id: 'x', fusion_position: 0, fused_score: 0, routes: {} },
        undefined,
        0,
      );
      expect(raw.hour).toBe(new Date(now).getUTCHours());
    }
  });
});
