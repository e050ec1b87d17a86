/**
 * Service environment with load shedding and the rate limits off (src/api/limits.ts), for tests
 * whose own concurrent traffic is the thing under test (a claim storm, fault loops): the limits
 * have their tests in src/api/limits.test.ts and test/integration/redis-limits.test.ts.
 */
export const LIMITS_OFF_ENV = {
  SHELF_MAX_IN_FLIGHT: '0',
  SHELF__SERVICE__LIMITS__CLIENT__POINTS: '0',
  SHELF__SERVICE__LIMITS__SHOPPER__POINTS: '0',
} as const;
