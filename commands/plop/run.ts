/**
 * `backdev plop [generator] [answers…]`: the interactive front (backdev's plopfile.ts) run against the
 * current folder, from wherever backdev is installed. A generated project's `npm run plop` calls it, so the
 * project needs neither plop nor a path into node_modules: plop is backdev's dependency, resolved from here.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BACKDEV_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs plop with backdev's plopfile in a child process (TypeScript through tsx); resolves with its exit code. */
export function runPlop(args: readonly string[], cwd = process.cwd()): Promise<number> {
  const require = createRequire(import.meta.url);
  const plopBin = path.join(path.dirname(require.resolve('plop/package.json')), 'bin/plop.js');
  const tsx = import.meta.resolve('tsx');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, plopBin, '--plopfile', path.join(BACKDEV_ROOT, 'plopfile.ts'), ...args], {
      cwd,
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
