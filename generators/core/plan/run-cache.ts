/**
 * The run cache (`.backdev/cache/<generator>.json`): lets a run whose inputs did not change since the last
 * write skip planning altogether, and go straight to `apply` with the files that run left on disk.
 *
 * A run is keyed by a hash of everything it is derived from apart from the project's own files: the spec's
 * bytes, the templates (bundled and the user's overrides), the options, and backdev's code and the versions
 * of the packages that shape output. The entry also lists every project file the run depended on or
 * produced (read by the planner, planned, the manifest, stale files apply looked at) with the hash of its
 * content when the run ended, or `null` for a file that was absent. A later run reuses the entry only when
 * its key is the same and every one of those files is exactly as recorded; anything else (a changed spec,
 * template, option or version, a file edited or deleted by hand) plans in full as before. `apply` still
 * runs on the reused plan, so the manifest's checks (a generated file edited by hand stops the run) hold.
 *
 * Entries are written by `apply` after a successful write (never by --dry-run or --check), outside the
 * manifest: they are a cache, not output (the folder carries a `.gitignore` of its own).
 */
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Warning } from '../errors.js';
import { hashContent } from './manifest.js';
import type { FilePlan, Ownership, ProjectFiles } from './types.js';

export const RUN_CACHE_DIR = '.backdev/cache';
/** Keeps the cache out of version control: it describes one checkout, not the project. */
export const RUN_CACHE_GITIGNORE = `${RUN_CACHE_DIR}/.gitignore`;

export const runCachePath = (generator: string) => `${RUN_CACHE_DIR}/${generator}.json`;

/** What the planner hands `apply` so that it can record the run (see Plan.cache). */
export interface RunCacheSeed {
  /** `.backdev/cache/<generator>.json` */
  readonly path: string;
  readonly key: string;
  /** Project files the planner read: path → content hash, `null` when absent. */
  readonly reads: Readonly<Record<string, string | null>>;
  /** What the generator needs to tell the user again on a reused run (its own shape; stored as is). */
  readonly replay: unknown;
}

interface PlannedRecord {
  path: string;
  ownership: Ownership;
  inputHash?: string;
}

interface RunCacheEntry {
  version: 1;
  key: string;
  /** Every file the run depended on or produced → content hash when it ended (`null`: absent). */
  files: Record<string, string | null>;
  /** The plan's files, in order (their content is what `files` records). */
  planned: PlannedRecord[];
  warnings: Warning[];
  replay: unknown;
}

/** A reused run: the plan's files (content as on disk, which the entry vouches for), warnings, replay. */
export interface CachedRun {
  files: FilePlan[];
  /** The files the reused run depends on, as verified (the seed's reads when it is recorded again). */
  depends: Record<string, string | null>;
  warnings: Warning[];
  replay: unknown;
}

/** The hash of a run's inputs, from labelled parts (each part's label keeps parts from running into each other). */
export function runCacheKey(parts: Record<string, string>): string {
  return hashContent(
    Object.keys(parts)
      .sort()
      .map((k) => `${k}\n${parts[k]!.length}\n${parts[k]}`)
      .join('\n'),
  );
}

/** Calls `visit` for every file under `dir`, in sorted path order; nothing when the folder does not exist. */
function eachFile(dir: string, visit: (full: string, rel: string, stats: Stats) => void): void {
  const walk = (at: string) => {
    let entries: string[];
    try {
      entries = readdirSync(at).sort();
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(at, e);
      const stats = statSync(full);
      if (stats.isDirectory()) walk(full);
      else visit(full, path.relative(dir, full), stats);
    }
  };
  walk(dir);
}

/**
 * The files of a folder tree (relative path and content, sorted), for keying templates; empty when the
 * folder does not exist.
 */
export function treeText(dir: string): string {
  const out: string[] = [];
  eachFile(dir, (full, rel) => out.push(`${rel}\n${hashContent(readFileSync(full, 'utf8'))}`));
  return out.join('\n');
}

/**
 * backdev's own code as it is installed (every module's path, size and modification time) and the versions of
 * the packages whose output ends up in generated files: a new release, a rebuilt clone or an edited source
 * file is a different key.
 */
export function codeFingerprint(): string {
  const codeRoot = fileURLToPath(new URL('../../', import.meta.url)); // generators/ (or dist/generators/)
  const lines: string[] = [];
  eachFile(codeRoot, (_full, rel, stats) => lines.push(`${rel} ${stats.size} ${stats.mtimeMs}`));
  const require = createRequire(import.meta.url);
  for (const pkg of ['openapi-typescript', 'typescript', 'prettier', 'handlebars', 'ts-morph', 'ajv', 'ajv-formats', 'yaml']) {
    let version = 'unknown';
    try {
      version = (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
    } catch {
      // not resolvable this way: the code fingerprint still changes with an install
    }
    lines.push(`${pkg}@${version}`);
  }
  lines.push(`node ${process.versions.node}`);
  return lines.join('\n');
}

/** Wraps `files` so that every read is remembered with the hash of what it returned. */
export function recordReads(files: ProjectFiles): { files: ProjectFiles; reads: Record<string, string | null> } {
  const reads: Record<string, string | null> = {};
  return {
    reads,
    files: {
      read(rel) {
        const text = files.read(rel);
        reads[rel] = text === undefined ? null : files.hash(text);
        return text;
      },
      hash: (content) => files.hash(content),
      recorded: (rel) => files.recorded(rel), // the manifest: recorded by apply as it leaves it
      list: (rel) => files.list(rel),
    },
  };
}

/**
 * The run recorded under `key` at `cachePath`, when every file it depended on is as it left it; else
 * undefined (and the run plans in full).
 */
export function reuseRun(files: ProjectFiles, cachePath: string, key: string): CachedRun | undefined {
  const text = files.read(cachePath);
  if (text === undefined) return undefined;
  let entry: RunCacheEntry;
  try {
    entry = JSON.parse(text) as RunCacheEntry;
  } catch {
    return undefined;
  }
  if (entry?.version !== 1 || entry.key !== key || typeof entry.files !== 'object' || !Array.isArray(entry.planned)) return undefined;
  const contents = new Map<string, string>();
  for (const [rel, hash] of Object.entries(entry.files)) {
    const now = files.read(rel);
    if (now === undefined ? hash !== null : hash === null || files.hash(now) !== hash) return undefined;
    if (now !== undefined) contents.set(rel, now);
  }
  const planned: FilePlan[] = [];
  for (const p of entry.planned) {
    const content = contents.get(p.path);
    if (content === undefined) return undefined;
    planned.push({ path: p.path, ownership: p.ownership, content, ...(p.inputHash ? { inputHash: p.inputHash } : {}) });
  }
  return { files: planned, depends: entry.files, warnings: entry.warnings ?? [], replay: entry.replay };
}

/**
 * The entry `apply` writes after a run: the seed's reads, then the final state of every file it planned or
 * looked at (`final`: path → content, undefined when absent), which wins over what the planner read.
 */
export function runCacheEntry(
  seed: RunCacheSeed,
  planned: readonly FilePlan[],
  warnings: readonly Warning[],
  final: ReadonlyMap<string, string | undefined>,
  hash: (content: string) => string,
): string {
  const files: Record<string, string | null> = { ...seed.reads };
  for (const [rel, content] of final) files[rel] = content === undefined ? null : hash(content);
  const sorted: Record<string, string | null> = {};
  for (const rel of Object.keys(files).sort()) sorted[rel] = files[rel]!;
  const entry: RunCacheEntry = {
    version: 1,
    key: seed.key,
    files: sorted,
    planned: planned.map((f) => ({ path: f.path, ownership: f.ownership, ...(f.inputHash ? { inputHash: f.inputHash } : {}) })),
    warnings: [...warnings],
    replay: seed.replay,
  };
  return JSON.stringify(entry) + '\n';
}
