import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One id per run: generated projects of this run share one install of their dependencies (test/helpers.ts).
process.env.BACKDEV_TEST_RUN ??= `${Date.now()}-${process.pid}`;
// `backdev` started by a test runs dist/ (built by the global setup) as the installed package does: a
// second less per command than compiling the sources through tsx. test/cli.test.ts runs the sources once.
process.env.BACKDEV_RUN_DIST ??= '1';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compiles dist/ (the runtime's exports) once per run: test/global-setup.ts.
    globalSetup: ['test/global-setup.ts'],
    exclude: ['**/node_modules/**', 'examples/**', '.cache/**'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    pool: 'forks',
    // Most of the long tests wait on child processes (npm, tsc, generated servers, databases): three files
    // at a time keep two cores busy (vitest's default on two cores is one file at a time).
    maxWorkers: 3,
    reporters: ['default', fileURLToPath(new URL('./test/summary-reporter.ts', import.meta.url))],
  },
});
