/**
 * The behaviour back ends' conformance suites: every StateStore and EventLog (embedded SQLite
 * in the unit tests, Redis and Kafka in test/integration) must pass the same assertions.
 */
export { stateStoreConformance } from './state-store-conformance.ts';
export { eventLogConformance } from './event-log-conformance.ts';
export type { StoreHarness } from './stores.ts';
