/** Shared test helpers: temporary projects, tree snapshots, running tsc and commands. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
export const FIXTURES = path.join(REPO, 'test/fixtures');
export const SPECS = path.join(FIXTURES, 'specs');
export const TSC = path.join(REPO, 'node_modules/typescript-7/bin/tsc');
export const BACKDEV = path.join(REPO, 'bin/backdev.js');

const run = promisify(execFile);

/**
 * A fresh folder under the repo's .tmp/ (so that generated code resolves fastify, vitest and @types/node
 * from the repo's node_modules without an install). Removed by `cleanup`.
 */
export function tempDir(prefix: string): string {
  const base = path.join(REPO, '.tmp', 'tests');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, `${prefix}-`));
}

/**
 * Makes `backdev` (and so `backdev/runtime/…`) resolvable from a project made under .tmp/ without an
 * install, as `npm install` would through the project's `file:` dependency.
 */
export function linkBackdev(dir: string): void {
  mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  symlinkSync(REPO, path.join(dir, 'node_modules', 'backdev'), 'dir');
}

export function cleanup(dir: string): void {
  // Retried: a server just stopped may still be writing its last lines (logs, traces) into the folder.
  rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}

/** Every file under `dir` (relative path → sha256), skipping node_modules. */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const e of entries) {
      if (e === 'node_modules') continue;
      const full = path.join(d, e);
      if (statSync(full).isDirectory()) walk(full);
      else out[path.relative(dir, full).split(path.sep).join('/')] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCommand(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run(cmd, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      timeout: options.timeout ?? 180_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: (e.stderr ?? '') + (typeof e.code === 'number' ? '' : e.message) };
  }
}

/**
 * `node bin/backdev.js …` as a user would run it. A project made by `init` depends on this checkout
 * (`--backdev <repo>`, unless the test gives its own), not on the registry's backdev.
 */
export function backdev(args: string[], cwd = REPO, env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  return runCommand(process.execPath, [BACKDEV, ...fromCheckout(args)], { cwd, ...(env ? { env } : {}) });
}

/** `init` makes a project that depends on this checkout unless the arguments name another backdev. */
function fromCheckout(args: string[]): string[] {
  const init = args[0] === 'init' && !args.includes('--help') && !args.some((a) => a === '--backdev' || a.startsWith('--backdev='));
  return init ? [...args, '--backdev', REPO] : args;
}

/**
 * `backdev …` run in this process: the same command line code as the binary (parsing, usage errors, exit
 * codes), without starting node and tsx again. For tests that are not about processes; the working folder and
 * environment are set for the run and restored after (test files run their tests one at a time).
 */
export async function backdevInProcess(args: string[], cwd = REPO, env: Record<string, string> = {}): Promise<CommandResult> {
  const { main } = await import('../generators/cli.js');
  const { memoryOutput } = await import('../generators/core/report.js');
  const folder = process.cwd();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  process.chdir(cwd);
  Object.assign(process.env, env);
  try {
    const out = memoryOutput();
    const code = await main(fromCheckout(args), out);
    const text = (lines: string[]) => (lines.length > 0 ? `${lines.join('\n')}\n` : '');
    return { code, stdout: text(out.stdout), stderr: text(out.stderr) };
  } finally {
    process.chdir(folder);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** TypeScript 7 `tsc --noEmit -p <dir>`; resolves with the diagnostics text ('' when clean). */
export async function typecheck(dir: string): Promise<string> {
  const r = await runCommand(process.execPath, [TSC, '--noEmit', '-p', dir], { cwd: dir });
  return r.code === 0 ? '' : r.stdout + r.stderr;
}

/** The tsconfig a generated project gets from `init`, for folders made by create-api alone. */
export const PROJECT_TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noUncheckedIndexedAccess: true,
    esModuleInterop: true,
    skipLibCheck: true,
    verbatimModuleSyntax: true,
    noEmit: true,
    types: ['node'],
  },
  include: ['src'],
});

export interface Server {
  url: string;
  child: ChildProcess;
  output: () => string;
}

/**
 * Starts the project's `src/server.ts` (through tsx, as `npm run dev` does; `args` such as `--migrate` are
 * passed on) on a free port and waits until it answers. tsx is a loader in the server's own process, not
 * its CLI, which would start a second process.
 */
export async function startServer(dir: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<Server> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', ...args], {
    cwd: dir,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  // Up to 90 s: with --migrate on the embedded database, a loaded machine takes a while before it listens.
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
    try {
      await fetch(`${url}/docs/json`);
      return { url, child, output: () => output };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill();
  throw new Error(`server did not start: ${output}`);
}

export async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  await exited;
}


/** One id per `vitest run` (set in vitest.config.ts, inherited by the test processes). */
const RUN_ID = process.env.BACKDEV_TEST_RUN ?? `pid${process.pid}`;

/** backdev's peer dependencies, at the ranges it declares: what a generator may add to a project. */
const OPTIONAL_PROJECT_DEPS: Record<string, string> = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> }).peerDependencies;

const sortedKeys = (o: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const DEPS_ROOT = path.join(REPO, '.tmp', 'deps');

/**
 * `npm install` for a generated project, once per test run for each set of dependencies: the first project
 * with a given package.json installs into .tmp/deps/<run>/<hash>/ (backdev as a copy of this checkout, as
 * the project's .npmrc asks), and every project with the same dependencies links its node_modules there.
 * Test processes run in parallel, so the first one takes a lock and the others wait for it.
 * test/e2e/fresh-install.test.ts is the one real install per run, with no lockfile.
 */
export async function installProject(dir: string, timeout = 400_000): Promise<void> {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  // One install serves every project of the run: the project's dependencies plus the libraries backdev's
  // generators may add (its peer dependencies: @fastify/websocket for add-realtime, ioredis, …), which a
  // project that does not use them never imports. Keys sorted, so the same set hashes the same.
  const deps = sortedKeys({ ...OPTIONAL_PROJECT_DEPS, ...pkg.dependencies });
  // The file: path is relative to the project; the shared folder needs it absolute.
  if (deps.backdev?.startsWith('file:')) deps.backdev = `file:${path.resolve(dir, deps.backdev.slice(5))}`;
  const npmrc = existsSync(path.join(dir, '.npmrc')) ? readFileSync(path.join(dir, '.npmrc'), 'utf8') : '';
  const manifest = {
    name: 'backdev-test-deps',
    version: '0.0.0',
    private: true,
    type: 'module',
    dependencies: deps,
    devDependencies: sortedKeys(pkg.devDependencies ?? {}),
    ...(pkg.overrides ? { overrides: pkg.overrides } : {}),
  };
  const hash = createHash('sha256').update(JSON.stringify(manifest) + npmrc).digest('hex').slice(0, 16);
  const runDir = path.join(DEPS_ROOT, RUN_ID);
  if (!existsSync(runDir)) removeOldRuns();
  const shared = path.join(runDir, hash);
  const done = path.join(shared, '.installed');
  const failed = path.join(shared, '.failed');
  mkdirSync(runDir, { recursive: true });
  const ownerFile = path.join(shared, '.owner');
  const until = Date.now() + timeout;
  for (;;) {
    let owner = false;
    try {
      mkdirSync(shared);
      owner = true;
    } catch {
      // Another test process installs these dependencies: wait for it below.
    }
    if (owner) {
      writeFileSync(ownerFile, String(process.pid));
      writeFileSync(path.join(shared, 'package.json'), JSON.stringify(manifest, null, 2));
      if (npmrc) writeFileSync(path.join(shared, '.npmrc'), npmrc);
      // --ignore-scripts: backdev's `prepare` would build dist/ again in its copy; the global setup built it
      // (test/global-setup.ts) and the copy takes it as it is. No other dependency needs a script (esbuild's
      // postinstall only checks its binary). test/e2e/pack.test.ts installs with scripts, as users do.
      const install = await runCommand('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: shared, timeout });
      writeFileSync(install.code === 0 ? done : failed, install.stdout + install.stderr);
      break;
    }
    while (!existsSync(done) && !existsSync(failed) && ownerAlive(ownerFile)) {
      if (Date.now() > until) throw new Error(`timed out waiting for the shared install in ${shared}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    if (existsSync(done) || existsSync(failed)) break;
    // The installing process ended without finishing (its test file timed out and vitest ended it): the
    // waiter that moves its folder away (a rename: one of them wins) clears it, and all try again.
    const stale = `${shared}.stale-${process.pid}`;
    try {
      renameSync(shared, stale);
      rmSync(stale, { recursive: true, force: true });
    } catch {
      // another waiter moved it first
    }
  }
  if (existsSync(failed)) throw new Error(`npm install failed in ${shared}:\n${readFileSync(failed, 'utf8')}`);
  rmSync(path.join(dir, 'node_modules'), { recursive: true, force: true });
  symlinkSync(path.join(shared, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

/** False once the process named in the owner file has ended; true while the file is not written yet. */
function ownerAlive(ownerFile: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(ownerFile, 'utf8'));
  } catch {
    return true; // the owner has just made the folder
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Shared installs of earlier runs (older than an hour, so that a run going on beside this one keeps its own). */
function removeOldRuns(): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(DEPS_ROOT);
  } catch {
    return;
  }
  for (const e of entries) {
    const full = path.join(DEPS_ROOT, e);
    if (e !== RUN_ID && Date.now() - statSync(full).mtimeMs > 3_600_000) rmSync(full, { recursive: true, force: true });
  }
}
