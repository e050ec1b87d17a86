import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      '{core,src,cli,indexer,retrieval,behavior,ranking,diversity,coupons,pipeline,models,eval,bench,test}/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', 'test/integration/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
