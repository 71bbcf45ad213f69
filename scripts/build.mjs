// `npm run build`: compiles generators/, commands/, runtime/ and plopfile.ts to dist/ (JS + .d.ts) with
// TypeScript 7. The compiler writes into a fresh folder first; dist/ then gets only the files that changed,
// each replaced by a rename, and loses the ones no source produces any more. So dist/ is always whole:
// tests that import backdev/runtime/* while a build runs (npm pack, a second test run) never read a
// half-written or missing file. Plain JavaScript: it runs before anything is compiled.
// `--allow-type-errors` (the tests' setup; `npm run typecheck` is their gate) keeps what the compiler
// emitted despite type errors, and succeeds.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(repo, 'dist');
mkdirSync(path.join(repo, '.tmp'), { recursive: true });
const fresh = mkdtempSync(path.join(repo, '.tmp', 'build-'));
const allowTypeErrors = process.argv.includes('--allow-type-errors');

function files(root, dir = root, out = []) {
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = path.join(dir, e);
    if (statSync(full).isDirectory()) files(root, full, out);
    else out.push(path.relative(root, full));
  }
  return out;
}

function same(a, b) {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

try {
  const tsc = path.join(repo, 'node_modules', 'typescript-7', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(repo, 'tsconfig.build.json'), '--outDir', fresh], { cwd: repo, stdio: 'inherit' });
  } catch (err) {
    // Exit status 2: type errors, the files emitted all the same.
    if (!allowTypeErrors || err.status !== 2) throw err;
    console.error('build: type errors (above); dist/ updated all the same');
  }
  const built = new Set(files(fresh));
  for (const rel of built) {
    const target = path.join(dist, rel);
    if (same(path.join(fresh, rel), target)) continue;
    mkdirSync(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.tmp`;
    writeFileSync(temp, readFileSync(path.join(fresh, rel)));
    renameSync(temp, target);
  }
  for (const rel of files(dist)) if (!built.has(rel) && !rel.endsWith('.tmp')) rmSync(path.join(dist, rel));
} catch (err) {
  console.error(`build failed: ${err.message}`);
  process.exitCode = 1;
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
