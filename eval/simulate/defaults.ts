/**
 * How big a simulated shop each simulator command runs by default: one place for the CLI's
 * `--help` and the library calls, so `npm run eval -- ranking` and `runRankingLoop({})` agree.
 * Kept apart from run.ts so the CLI can show them without loading the service.
 */
export interface ShopSize {
  users: number;
  /** Visits per shopper (from their Taobao shape); warm-up visits for the diversity sweep. */
  maxVisits: number;
  /** Requests per visit at most. */
  perVisit: number;
  /** Fresh requests per shopper in the evaluation phase. */
  evalRequests: number;
  seed: number;
}

export const RANKING_SHOP: ShopSize = { users: 150, maxVisits: 4, perVisit: 5, evalRequests: 4, seed: 7 };
export const DIVERSITY_SHOP: ShopSize = { users: 60, maxVisits: 3, perVisit: 4, evalRequests: 4, seed: 7 };
