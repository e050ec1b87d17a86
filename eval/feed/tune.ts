/**
 * Choosing the feed settings on the validation items only (the test items are never looked at):
 * first each route's own knobs for that route alone (item-CF: co-occurrence normalisation α and
 * how many recent items seed it; user vector: the short-term share), then the fusion weights and
 * rrf_k on the routes as tuned.
 *
 * Route knobs maximise full nDCG@10 / (best full nDCG@10 in the grid) + sampled nDCG@10 / (best
 * sampled in the grid): sampled values are about ten times the full ones, so a plain sum would
 * tune for the sampled protocol alone. The fusion maximises min(full / best single route's full,
 * sampled / best single route's sampled) on validation: the fused feed exists to beat every
 * single route under both protocols, so its weakest relative margin is what is tuned. The whole
 * fusion grid is scored on the route-tuning users; its best settings again on a larger sample
 * (`fusionCases`), which chooses. Last, on the same larger sample, the item-CF confidence gate
 * (retrieval/recall/feed-config.ts): its thresholds are quantiles of the users' best item-CF score, so
 * the grid means the same on any data set, and "off" is one of its settings.
 */
import type { BehaviorConfig } from '../../behavior/config.ts';
import { FeedConfigSchema, type FeedConfig, type FeedRoute } from '../../retrieval/recall/feed-config.ts';
import type { FeedCandidates } from '../../retrieval/recall/feed.ts';
import type { EvalSources } from './sources.ts';
import { candidatesFor, fusedRanking, routeRanking, scoreRanking, type CaseScore, type UserCase } from './user-eval.ts';

export const ITEMCF_GRID = { cooc_alpha: [0, 0.25], seeds: [3, 5, 10, 20] };
/** Fusion settings re-scored on the larger fusion sample. */
const FUSION_FINALISTS = 12;
export const USERVECTOR_GRID = { short_weight: [0, 0.25, 0.5, 0.75, 1] };
/** Gate thresholds as quantiles of the tuning users' best item-CF score, and the scales tried. */
export const GATE_GRID = { quantile: [0.5, 0.75, 0.9], scale: [0, 0.2, 0.4] };
export const FUSION_GRID = {
  uservector: [0, 0.1, 0.25, 0.5, 0.75, 1],
  trending: [0, 0.05, 0.1, 0.25],
  category: [0, 0.25, 0.5, 1],
  rrf_k: [0, 5, 10, 20, 60, 120],
};
/**
 * The grid when the learned `sequence` route is in: its weight relative to item-CF's (fixed at 1)
 * is the new axis, up to 8 (item-CF then only breaks the model's near-ties); the other axes are
 * thinned to the values earlier runs chose, so the grid keeps the same size (144 settings).
 */
export const SEQUENCE_FUSION_GRID = {
  sequence: [0, 0.5, 1, 2, 4, 8],
  uservector: [0, 0.1, 0.25, 0.5],
  trending: [0, 0.05],
  category: [0, 0.25, 0.5, 1],
  rrf_k: [5, 20, 60],
};

/** Mean full and sampled nDCG@10 of one setting. */
export interface GridMeans {
  full: number;
  sampled: number;
}

/** Adds `objective`: the smaller of the two protocols' ratios to the best single route. */
function marginObjective<T extends GridMeans>(
  rows: readonly T[],
  bestSingle: GridMeans,
): Array<T & { objective: number }> {
  return rows.map((r) => ({ ...r, objective: Math.min(r.full / bestSingle.full, r.sampled / bestSingle.sampled) }));
}

/** Adds `objective` to every row: each protocol relative to the grid's best on it. */
function withObjective<T extends GridMeans>(rows: readonly T[]): Array<T & { objective: number }> {
  const bestFull = Math.max(1e-12, ...rows.map((r) => r.full));
  const bestSampled = Math.max(1e-12, ...rows.map((r) => r.sampled));
  return rows.map((r) => ({ ...r, objective: r.full / bestFull + r.sampled / bestSampled }));
}

/** The feed config of one fusion-grid setting (weights, rrf_k, and the gate when set). */
function fusionConfig(tuned: Partial<FeedConfig>, s: Record<string, number>): FeedConfig {
  return configWith(
    {
      ...tuned,
      rrf_k: s.rrf_k!,
      ...(s.itemcf_confident_score !== undefined && {
        itemcf_confident_score: s.itemcf_confident_score,
        itemcf_confident_scale: s.itemcf_confident_scale!,
      }),
    },
    { itemcf: 1, uservector: s.uservector!, trending: s.trending!, category: s.category!, sequence: s.sequence ?? 0 },
  );
}

/** A feed config where exactly the given routes run (weight 1 unless given). */
export function configWith(base: Partial<FeedConfig>, weights: Partial<Record<FeedRoute, number>>): FeedConfig {
  const all: Record<FeedRoute, number> = {
    uservector: 0,
    itemcf: 0,
    similar: 0,
    trending: 0,
    category: 0,
    sequence: 0,
    ...weights,
  };
  return FeedConfigSchema.parse({ ...base, weights: all, exclude_shown: 0 });
}

export interface GridRow extends GridMeans {
  setting: Record<string, number>;
  objective: number;
}

export interface TuneResult {
  chosen: FeedConfig;
  itemcf: GridRow[];
  uservector: GridRow[];
  /** Best 10 fusion settings, best first, and how many were tried. */
  fusion: { tried: number; best: GridRow[]; users: number };
  /** The confidence gate's settings on the chosen fusion (score 0 = off), best first. */
  gate: GridRow[];
  users: number;
}

function accumulate(): { add(s: CaseScore): void; means(): GridMeans } {
  let full = 0;
  let sampled = 0;
  let n = 0;
  return {
    add(s) {
      full += s.full['ndcg@10'];
      sampled += s.sampled100['ndcg@10'];
      n++;
    },
    means: () => ({ full: n > 0 ? full / n : 0, sampled: n > 0 ? sampled / n : 0 }),
  };
}

async function meanOver(
  cases: readonly UserCase[],
  src: EvalSources,
  score: (c: UserCase) => Promise<CaseScore>,
): Promise<GridMeans> {
  const acc = accumulate();
  for (const c of cases) {
    src.nextUser();
    acc.add(await score(c));
  }
  return acc.means();
}

/** Best setting of a grid; ties keep the earlier one (grids are listed simplest first). */
function best(rows: readonly GridRow[]): GridRow {
  return rows.reduce((a, b) => (b.objective > a.objective + 1e-12 ? b : a));
}

export async function tuneFeed(
  cases: readonly UserCase[],
  src: EvalSources,
  behavior: BehaviorConfig,
  opts: {
    recallK: number;
    hasCategories: boolean;
    hasVectors: boolean;
    /** The learned sequence model is served (eval/feed/sequence-phase.ts): its route joins the fusion. */
    hasSequence?: boolean;
    /**
     * A larger sample the fusion weights are finally chosen on (default: `cases` alone). The fused
     * feed's margin over item-CF in the full protocol is a few thousandths of nDCG@10, about one
     * standard error on 2,000 users: chosen on so few, the best of 144 settings is mostly the
     * luckiest. The grid's best FUSION_FINALISTS are scored again on these users, which decide.
     */
    fusionCases?: readonly UserCase[];
    log?: (s: string) => void;
  },
): Promise<TuneResult> {
  const log = opts.log ?? (() => {});
  const base = { recall_k: opts.recallK };

  const itemcfRaw: Array<GridMeans & { setting: Record<string, number> }> = [];
  for (const seeds of ITEMCF_GRID.seeds) {
    for (const alpha of ITEMCF_GRID.cooc_alpha) {
      const cfg = configWith({ ...base, seeds, cooc_alpha: alpha }, { itemcf: 1 });
      const means = await meanOver(cases, src, async (c) =>
        scoreRanking(routeRanking(await candidatesFor(src, c, cfg, behavior), 'itemcf'), c),
      );
      itemcfRaw.push({ setting: { seeds, cooc_alpha: alpha }, ...means });
    }
  }
  const itemcf: GridRow[] = withObjective(itemcfRaw);
  const cf = best(itemcf).setting;
  log(
    `  itemcf: seeds ${cf.seeds}, cooc_alpha ${cf.cooc_alpha} (validation objective ${best(itemcf).objective.toFixed(4)})`,
  );

  const uservectorRaw: Array<GridMeans & { setting: Record<string, number> }> = [];
  if (opts.hasVectors) {
    for (const short of USERVECTOR_GRID.short_weight) {
      const cfg = configWith({ ...base, short_weight: short }, { uservector: 1 });
      const means = await meanOver(cases, src, async (c) =>
        scoreRanking(routeRanking(await candidatesFor(src, c, cfg, behavior), 'uservector'), c),
      );
      uservectorRaw.push({ setting: { short_weight: short }, ...means });
    }
  }
  const uservector: GridRow[] = withObjective(uservectorRaw);
  const uv = uservector.length > 0 ? best(uservector).setting : { short_weight: 0.7 };
  if (uservector.length > 0)
    log(
      `  uservector: short_weight ${uv.short_weight} (validation objective ${best(uservector).objective.toFixed(4)})`,
    );

  // Every route once per user with the tuned knobs; the fusion grid only re-fuses these lists.
  const tuned = { ...base, seeds: cf.seeds!, cooc_alpha: cf.cooc_alpha!, short_weight: uv.short_weight! };
  const all = configWith(tuned, {
    itemcf: 1,
    trending: 1,
    uservector: opts.hasVectors ? 1 : 0,
    category: opts.hasCategories ? 1 : 0,
    sequence: opts.hasSequence ? 1 : 0,
  });
  /** Lists per user; `known` (user → lists) are reused: the tuning users are part of the larger sample. */
  const listsFor = async (users: readonly UserCase[], known?: ReadonlyMap<string, FeedCandidates>) => {
    const lists: FeedCandidates[] = [];
    for (const c of users) {
      const have = known?.get(c.user);
      if (have) {
        lists.push(have);
        continue;
      }
      src.nextUser();
      const cands = await candidatesFor(src, c, all, behavior);
      // Excluded items removed once here instead of in every one of the grid's fusions.
      const pruned: FeedCandidates = { lists: {}, excluded: new Set(), degraded: cands.degraded };
      for (const route of Object.keys(cands.lists) as FeedRoute[])
        pruned.lists[route] = cands.lists[route]!.filter((h) => !cands.excluded.has(h.id));
      lists.push(pruned);
    }
    return lists;
  };
  const settings: Array<Record<string, number>> = [];
  const grid = opts.hasSequence ? SEQUENCE_FUSION_GRID : { ...FUSION_GRID, sequence: [0] };
  for (const ws of grid.sequence) {
    for (const wv of opts.hasVectors ? grid.uservector : [0]) {
      for (const wt of grid.trending) {
        for (const wc of opts.hasCategories ? grid.category : [0]) {
          for (const k of grid.rrf_k)
            settings.push({
              uservector: wv,
              itemcf: 1,
              trending: wt,
              category: wc,
              ...(opts.hasSequence && { sequence: ws }),
              rrf_k: k,
            });
        }
      }
    }
  }
  /** Each setting's means on these users, with the objective against the best single route on them. */
  const gridOn = (
    users: readonly UserCase[],
    lists: readonly FeedCandidates[],
    grid: ReadonlyArray<Record<string, number>>,
  ): GridRow[] => {
    const rows = grid.map((setting) => {
      const cfg = fusionConfig(tuned, setting);
      const acc = accumulate();
      users.forEach((c, i) => acc.add(scoreRanking(fusedRanking(lists[i]!, cfg), c)));
      return { setting, ...acc.means() };
    });
    return marginObjective(rows, bestSingleOn(users, lists));
  };
  /** The best single route's means on these users; the gate reuses the finalists' users and lists. */
  const bestSingle = new Map<readonly FeedCandidates[], GridMeans>();
  const bestSingleOn = (users: readonly UserCase[], lists: readonly FeedCandidates[]): GridMeans => {
    let b = bestSingle.get(lists);
    if (!b) {
      const singles = (Object.keys(all.weights) as FeedRoute[])
        .filter((r) => all.weights[r] > 0)
        .map((route) => {
          const acc = accumulate();
          users.forEach((c, i) => acc.add(scoreRanking(routeRanking(lists[i]!, route), c)));
          return acc.means();
        });
      b = {
        full: Math.max(1e-12, ...singles.map((m) => m.full)),
        sampled: Math.max(1e-12, ...singles.map((m) => m.sampled)),
      };
      bestSingle.set(lists, b);
    }
    return b;
  };
  // The whole grid on the route-tuning users, then the best FINALISTS again on the larger fusion
  // sample, which picks among them: the grid's cost stays that of the small sample.
  const coarseLists = await listsFor(cases);
  const coarse = gridOn(cases, coarseLists, settings);
  let fusion: GridRow[] = coarse;
  let fusionUsers = cases.length;
  let fusionLists: FeedCandidates[] | undefined;
  if (opts.fusionCases && opts.fusionCases.length > cases.length) {
    const finalists = coarse
      .slice()
      .sort((a, b) => b.objective - a.objective)
      .slice(0, FUSION_FINALISTS)
      .map((r) => r.setting);
    fusionLists = await listsFor(opts.fusionCases, new Map(cases.map((c, i) => [c.user, coarseLists[i]!])));
    fusion = gridOn(opts.fusionCases, fusionLists, finalists);
    fusionUsers = opts.fusionCases.length;
  }
  const top = best(fusion);
  const f = top.setting;
  log(
    `  fusion: ${JSON.stringify(f)} (validation objective ${top.objective.toFixed(4)}: ${coarse.length} settings on ${cases.length} users, the best ${fusion.length} of them on ${fusionUsers})`,
  );

  const gateUsers = fusionLists ? opts.fusionCases! : cases;
  const gateLists = fusionLists ?? coarseLists;
  const tops = gateLists
    .map((l) => l.lists.itemcf?.[0]?.score)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  const gateSettings: Array<Record<string, number>> = [{ ...f, itemcf_confident_score: 0, itemcf_confident_scale: 1 }];
  if (tops.length > 0) {
    for (const q of GATE_GRID.quantile) {
      const score = tops[Math.min(tops.length - 1, Math.floor(q * tops.length))]!;
      for (const scale of GATE_GRID.scale)
        if (score > 0)
          gateSettings.push({ ...f, itemcf_confident_score: score, itemcf_confident_scale: scale, quantile: q });
    }
  }
  const gate = gridOn(gateUsers, gateLists, gateSettings);
  const g = best(gate).setting;
  log(
    `  gate: ${g.itemcf_confident_score! > 0 ? `score ≥ ${g.itemcf_confident_score!.toPrecision(4)} (quantile ${g.quantile}) scales the other routes by ${g.itemcf_confident_scale}` : 'off'} (validation objective ${best(gate).objective.toFixed(4)}, off ${gate[0]!.objective.toFixed(4)}, on ${gateUsers.length} users)`,
  );
  const chosen = fusionConfig(tuned, g);
  return {
    chosen,
    itemcf,
    uservector,
    fusion: {
      tried: coarse.length,
      best: fusion
        .slice()
        .sort((a, b) => b.objective - a.objective)
        .slice(0, 10),
      users: fusionUsers,
    },
    gate: gate.slice().sort((a, b) => b.objective - a.objective),
    users: cases.length,
  };
}
