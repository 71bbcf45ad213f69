/**
 * `npm run demo`: the main job on the embedded example spec, end to end. Generates a project into
 * .cache/demo/petstore, installs it, type-checks it, runs its generated tests, starts it and sends a few
 * real requests (a valid one reaches the handler stub, invalid ones get 400), then stops. The server
 * listens on PORT when set (the demo stops with a message when another program holds it), else on a free
 * port.
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { consoleOutput } from '../generators/core/report.js';
import { runInit } from '../generators/index.js';
import { childEnv, choosePort } from './lib/demo.js';

const repo = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const dir = path.join(repo, '.cache/demo/petstore');
// Colours only on a terminal: piped or logged output gets no escape codes.
const env = childEnv(process.env, process.stdout.isTTY === true);

function fail(message: string): never {
  console.error(`demo: ${message}`);
  process.exit(1);
}

// PORT when set (refused when taken, so the requests below reach this demo's server), else a free port.
const port = await choosePort(process.env.PORT).catch((err: Error) => fail(err.message));

function step(title: string, cmd: string, args: string[]): void {
  console.log(`\n▶ ${title}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: dir, stdio: 'inherit', env });
  if (r.status !== 0) fail(`"${title}" failed (exit ${r.status})`);
}

rmSync(path.dirname(dir), { recursive: true, force: true });
console.log(`▶ backdev init ${path.relative(repo, dir)}  (the example pet store spec)`);
// The project depends on this checkout (installed as a copy), not on the registry's backdev.
await runInit({ dir, backdevVersion: repo }, consoleOutput);
step('install', 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']);
step('type-check (TypeScript 7)', 'npm', ['run', '--silent', 'typecheck']);
step('generated tests', 'npm', ['test', '--silent']);
step('build (tsc to dist/)', 'npm', ['run', '--silent', 'build']);

console.log(`\n▶ npm start  (node dist/src/server.js, PORT=${port})`);
const server = spawn(process.execPath, ['dist/src/server.js', '--migrate'], {
  cwd: dir,
  env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    if (server.exitCode !== null) fail(`the server exited (code ${server.exitCode}) before answering on ${base}`);
    try {
      await fetch(`${base}/docs/json`);
      break;
    } catch {
      if (i > 100) {
        server.kill('SIGTERM');
        fail(`the server did not answer on ${base} within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const show = async (label: string, url: string, init?: RequestInit) => {
    const res = await fetch(base + url, init);
    console.log(`  ${label.padEnd(44)} → ${res.status} ${await res.text()}`);
  };
  const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await show('POST /pets {"name":"Rex"} (valid)', '/pets', json({ name: 'Rex' }));
  await show('POST /pets {"tag":"dog"} (name missing)', '/pets', json({ tag: 'dog' }));
  await show('GET /pets/abc (petId must be an integer)', '/pets/abc');
  await show('GET /pets?limit=500 (limit ≤ 100)', '/pets?limit=500');
  const docs = await fetch(`${base}/docs/`);
  console.log(`  ${'GET /docs/ (Swagger UI)'.padEnd(44)} → ${docs.status}`);
  // Two error shapes side by side puzzle a first reader: say where each comes from.
  console.log(
    '\nErrors are RFC 9457 problems (the 501 above), except where the spec declares another body for the status:\n' +
      "the 400s here take the spec's Error schema ({ code, message }), made by the functions in src/errors.ts.",
  );
  console.log(`\nThe project is in ${path.relative(process.cwd(), dir)}: implement src/handlers/*.ts, then \`npm run dev\` there.`);
} finally {
  server.kill('SIGTERM');
}
