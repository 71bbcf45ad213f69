import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'examples/**', '.cache/**'],
    testTimeout: 30_000,
    hookTimeout: 240_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
