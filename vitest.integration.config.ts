import { defineConfig } from 'vitest/config';

/** Tests against real servers (started by scripts/servers/); run with `npm run test:integration`. */
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
