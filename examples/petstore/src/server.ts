/**
 * Starts the server: PORT (default 3000), HOST (default 127.0.0.1; use 0.0.0.0 in a container) and
 * LOG_LEVEL (default info), from the environment or from .env (the environment wins). `--migrate` (npm run
 * dev, npm start) applies pending migrations first (npm start runs the compiled ones, from `npm run build`); `--pretty` (npm run dev) prints logs for people. A
 * configuration mistake, a database in use or a taken port is printed as one block, with exit status 1.
 * Requests are traced to .data/traces.jsonl (`backdev trace summary`), or over OTLP when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set; TRACING=off turns tracing off (with NODE_ENV=production it is off
 * unless OTEL_EXPORTER_OTLP_ENDPOINT is set or TRACING=on).
 * See backdev/runtime/server. This file is yours: backdev created it and never rewrites it.
 */
import { fileURLToPath } from 'node:url';
import { startServer } from 'backdev/runtime/server';

await startServer({
  // Beside src/: db/migrations (.ts) under tsx, dist/db/migrations (compiled) under `npm start`.
  migrations: fileURLToPath(new URL('../db/migrations', import.meta.url)),
  // The app is imported once .env is loaded: modules that read the environment when they load see it.
  buildApp: async (options) => (await import('./app.js')).buildApp(options),
  tracing: { serviceName: 'petstore' },
});
