/**
 * Starts the server: PORT (default 3000), HOST (default 127.0.0.1; use 0.0.0.0 in a container) and
 * LOG_LEVEL (default info), from the environment or from .env (the environment wins). `--migrate` (npm run
 * dev, npm start) applies pending migrations first; `--pretty` (npm run dev) prints logs for people. A
 * configuration mistake, a database in use or a taken port is printed as one block, with exit status 1.
 * See backdev/runtime/server. This file is yours: backdev created it and never rewrites it.
 */
import { startServer } from 'backdev/runtime/server';

await startServer({
  // The app is imported once .env is loaded: modules that read the environment when they load see it.
  buildApp: async (options) => (await import('./app.js')).buildApp(options),
});
