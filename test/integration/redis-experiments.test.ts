import { RedisExperimentStore } from '../../pipeline/experiments/redis/redis-experiment-store.ts';
import { experimentStoreConformance } from '../conformance/experiment-store-conformance.ts';
import { dropRedisNamespace, REDIS_URL, testNamespace } from './helpers/behavior-servers.ts';

const open = (namespace: string) => RedisExperimentStore.open({ url: REDIS_URL, namespace });

/** The experiment store conformance suite against real Redis. */
experimentStoreConformance(`Redis at ${REDIS_URL}`, () => {
  const ns = testNamespace('experiments');
  return {
    open: () => open(ns),
    connect: () => open(ns),
    reopen: async (store) => {
      await store.close();
      return open(ns);
    },
    cleanup: () => dropRedisNamespace(ns),
  };
});
