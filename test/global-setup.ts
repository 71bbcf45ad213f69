/**
 * Before any test file: compile backdev (`npm run build`, a second or two), because projects made by the
 * tests import `backdev/runtime/*` through the package's exports, which point at dist/. A type error
 * does not stop the tests (`npm run typecheck` reports it).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const repo = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
  execFileSync(process.execPath, [path.join(repo, 'scripts/build.mjs'), '--allow-type-errors'], { cwd: repo, stdio: 'inherit' });
}
