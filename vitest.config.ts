import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

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
