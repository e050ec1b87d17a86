import type { EventLog } from '../../behavior/event-log.ts';
import type { StateStore } from '../../behavior/state-store.ts';
import { eventLogConformance, stateStoreConformance } from '../conformance/behavior.ts';
import {
  dropRedisNamespace,
  dropTopics,
  KAFKA_BROKERS,
  openLog,
  openState,
  REDIS_URL,
  testNamespace,
} from './helpers/behavior-servers.ts';

/** The behaviour conformance suites against real Redis and Kafka (scripts/servers/). */
stateStoreConformance(`Redis at ${REDIS_URL}`, () => {
  const ns = testNamespace('state');
  return {
    open: (): Promise<StateStore> => openState(ns),
    reopen: async (store) => {
      await store.close();
      return openState(ns);
    },
    cleanup: () => dropRedisNamespace(ns),
  };
});

eventLogConformance(`Kafka at ${KAFKA_BROKERS.join(',')}`, () => {
  const ns = testNamespace('log');
  return {
    open: (): Promise<EventLog> => openLog(ns),
    reopen: async (log) => {
      await log.close();
      return openLog(ns);
    },
    cleanup: () => dropTopics(ns),
  };
});
