/**
 * `backdev plop [generator] [answers…]`: the interactive front (backdev's plopfile) run against the
 * current folder, from wherever backdev is installed. A generated project's `npm run plop` calls it, so the
 * project needs neither plop nor a path into node_modules: plop is backdev's dependency, resolved from here.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(import.meta.url);
/**
 * The plopfile beside this code: plopfile.ts at the root of a clone (run through tsx), or the compiled
 * dist/plopfile.js of the package (run by plain node).
 */
const FROM_SOURCES = HERE.endsWith('.ts');
const PLOPFILE = path.resolve(path.dirname(HERE), '../..', FROM_SOURCES ? 'plopfile.ts' : 'plopfile.js');

/** Runs plop with backdev's plopfile in a child process; resolves with its exit code. */
export function runPlop(args: readonly string[], cwd = process.cwd()): Promise<number> {
  const require = createRequire(import.meta.url);
  const plopBin = path.join(path.dirname(require.resolve('plop/package.json')), 'bin/plop.js');
  const loader = FROM_SOURCES ? ['--import', import.meta.resolve('tsx')] : [];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...loader, plopBin, '--plopfile', PLOPFILE, ...args], {
      cwd,
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
