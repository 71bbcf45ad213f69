import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One id per run: generated projects of this run share one install of their dependencies (test/helpers.ts).
process.env.BACKDEV_TEST_RUN ??= `${Date.now()}-${process.pid}`;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'examples/**', '.cache/**'],
    testTimeout: 30_000,
    hookTimeout: 240_000,
    pool: 'forks',
    reporters: ['default', fileURLToPath(new URL('./test/summary-reporter.ts', import.meta.url))],
  },
});
