import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Tests run on an in-memory PGlite database (each test file gets its own), never on DATABASE_URL.
    env: { DATA_DIR: 'memory://', DATABASE_URL: '' },
    hookTimeout: 60_000,
  },
});
