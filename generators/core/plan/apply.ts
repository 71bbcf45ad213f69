/**
 * Plan → disk. The only module that writes project files.
 *
 * 1. Decide, for every planned file, what the ownership rules allow (create / update / unchanged /
 *    skipped), find stale generated files, and refuse to overwrite a generated file edited by hand.
 * 2. `dryRun`: return a unified diff; `check`: return whether anything would change. Nothing is written.
 * 3. Otherwise commit all-or-nothing: every new content is staged next to its target first; only when all
 *    are staged are they renamed into place (old versions kept aside until the end, restored on failure).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, rmdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BackdevError, type Warning } from '../errors.js';
import { unifiedDiff } from './diff.js';
import { insideRoot, type ResolveInside } from './inside-root.js';
import { hashContent, MANIFEST_PATH, parseManifest, serializeManifest, type Manifest, type ManifestEntry } from './manifest.js';
import { RUN_CACHE_GITIGNORE, runCacheEntry } from './run-cache.js';
import type { FilePlan, Plan, ProjectFiles } from './types.js';

export interface ApplyOptions {
  /** Output root: every path in the plan is relative to it and must stay inside it. */
  root: string;
  /** Overwrite generated files edited by hand (and files backdev did not write). */
  force?: boolean;
  /** Compute the diff, write nothing. */
  dryRun?: boolean;
  /** Write nothing; report whether anything would change. */
  check?: boolean;
  /** The run's view of the project that planned `plans` (`projectFiles(root)`): files it read are not read again. */
  files?: ProjectFiles;
}

export interface ApplyReport {
  created: string[];
  updated: string[];
  unchanged: string[];
  /** User-owned files that exist and were left as they are. */
  skipped: string[];
  /** Stale generated files deleted. */
  removed: string[];
  warnings: Warning[];
  /** True when the disk differs (or would differ) from the plan. */
  changed: boolean;
  /** Unified diff of every change (dry run only). */
  diff: string;
  /** Files whose entry in .backdev/manifest.json changes (or would change). */
  records: string[];
}

type Action = { kind: 'write'; path: string; content: string; old: string | undefined } | { kind: 'remove'; path: string; old: string };

/**
 * Reads files under `root`; paths are checked the same way as writes (`resolve`: a resolver for `root` to
 * share). Each file is read once per instance, which lives for one run: the planner and `apply` (given it as
 * `files`) see the same text, and a no-change rerun does not read a large generated file twice.
 */
export function projectFiles(root: string, resolve: ResolveInside = insideRoot(root)): ProjectFiles {
  const texts = new Map<string, string | undefined>();
  const hashes = new Map<string, string>();
  const read = (rel: string) => {
    const abs = resolve(rel);
    if (texts.has(rel)) return texts.get(rel);
    let text: string | undefined;
    // Most files a fresh run plans do not exist yet: a stat is far cheaper than the error a failed read makes.
    if (existsSync(abs)) {
      try {
        const bytes = readFileSync(abs);
        text = bytes.toString('utf8');
        // Hashed from the bytes read, not from the text encoded again: the same hash for the UTF-8 backdev
        // writes; bytes that are not valid UTF-8 hash differently, and so read as changed, which they are.
        if (!hashes.has(text)) hashes.set(text, `sha256-${createHash('sha256').update(bytes).digest('hex')}`);
      } catch {
        text = undefined;
      }
    }
    texts.set(rel, text);
    return text;
  };
  let manifest: Manifest | undefined;
  return {
    read,
    hash(content) {
      let hash = hashes.get(content);
      if (hash === undefined) hashes.set(content, (hash = hashContent(content)));
      return hash;
    },
    list(rel) {
      try {
        return readdirSync(resolve(rel)).sort();
      } catch {
        return [];
      }
    },
    recorded(rel) {
      manifest ??= parseManifest(read(MANIFEST_PATH), path.join(root, MANIFEST_PATH));
      return manifest.files[rel];
    },
  };
}

/** Applies one or more plans (e.g. init + create-api) as a single all-or-nothing change. */
export function applyPlan(plans: Plan | readonly Plan[], options: ApplyOptions): ApplyReport {
  const list = Array.isArray(plans) ? (plans as readonly Plan[]) : [plans as Plan];
  // The generators whose whole file set is planned: their recorded files missing from it are stale.
  const generators = new Set(list.filter((p) => !p.partial).map((p) => p.generator));
  const fileGenerator = new Map<FilePlan, string>();
  for (const p of list) for (const f of p.files) fileGenerator.set(f, p.generator);
  const root = path.resolve(options.root);
  const resolve = insideRoot(root);
  const files = options.files ?? projectFiles(root, resolve);
  const manifestText = files.read(MANIFEST_PATH);
  const manifest = parseManifest(manifestText, path.join(root, MANIFEST_PATH));
  const report: ApplyReport = {
    created: [],
    updated: [],
    unchanged: [],
    skipped: [],
    removed: [],
    warnings: list.flatMap((p) => p.warnings),
    changed: false,
    diff: '',
    records: [],
  };
  const actions: Action[] = [];
  const edited: string[] = [];
  const next: Manifest = { version: 1, files: { ...manifest.files } };
  const planned = new Set<string>();
  // Every file looked at, as it is on disk now (for the run cache: with the actions applied, the state a run leaves).
  const looked = new Map<string, string | undefined>([[MANIFEST_PATH, manifestText]]);

  for (const file of [...fileGenerator.keys()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const generator = fileGenerator.get(file)!;
    if (planned.has(file.path)) throw new Error(`bug: ${file.path} is planned twice`);
    planned.add(file.path);
    resolve(file.path);
    const disk = files.read(file.path);
    looked.set(file.path, disk);
    const entry = manifest.files[file.path];
    decide(file, disk, entry?.hash, entry !== undefined);
    if (file.ownership === 'user-edit') continue;
    // The file stays its creator's; another generator writing into it is added to `sharedWith`.
    const owner = entry?.generator ?? generator;
    const shared = new Set(entry?.sharedWith ?? []);
    if (generator !== owner) shared.add(generator);
    const recorded: ManifestEntry = { generator: owner, ...(shared.size > 0 ? { sharedWith: [...shared].sort() } : {}), ownership: file.ownership };
    if (file.ownership === 'generated') recorded.hash = files.hash(file.content);
    if (file.inputHash) recorded.inputHash = file.inputHash;
    next.files[file.path] = recorded;
  }

  function decide(file: FilePlan, disk: string | undefined, hash: string | undefined, known: boolean) {
    if (disk === undefined) {
      actions.push({ kind: 'write', path: file.path, content: file.content, old: undefined });
      report.created.push(file.path);
      return;
    }
    if (file.ownership === 'generated') {
      const editedByHand = known ? hash !== undefined && files.hash(disk) !== hash : disk !== file.content;
      if (editedByHand && !options.force) {
        edited.push(known ? file.path : `${file.path} (not written by backdev)`);
        return;
      }
      if (disk === file.content) report.unchanged.push(file.path);
      else {
        actions.push({ kind: 'write', path: file.path, content: file.content, old: disk });
        report.updated.push(file.path);
      }
      return;
    }
    if ((file.ownership === 'scaffold' || file.ownership === 'user-edit') && disk !== file.content) {
      actions.push({ kind: 'write', path: file.path, content: file.content, old: disk });
      report.updated.push(file.path);
      return;
    }
    (disk === file.content && file.ownership !== 'append-only' ? report.unchanged : report.skipped).push(file.path);
  }

  // Stale files: recorded for this run's generators, no longer planned.
  for (const [rel, entry] of Object.entries(manifest.files)) {
    // Append-only files (migrations) are written once and stay recorded: a run that adds nothing to them
    // does not make them stale.
    if (planned.has(rel) || entry.ownership === 'append-only') continue;
    const writers = [entry.generator, ...(entry.sharedWith ?? [])];
    if (!writers.some((g) => generators.has(g))) continue;
    // Still written by another generator: only this run's generators leave the record.
    const others = writers.filter((g) => !generators.has(g));
    if (others.length > 0) {
      next.files[rel] = { ...entry, generator: others[0]!, sharedWith: others.slice(1) };
      continue;
    }
    delete next.files[rel];
    const disk = files.read(rel);
    looked.set(rel, disk);
    if (disk === undefined) continue;
    if (entry.ownership !== 'generated') {
      report.warnings.push({ code: 'STALE_USER_FILE', subject: rel, message: 'no longer generated; it is yours and was left in place' });
      continue;
    }
    if (entry.hash === files.hash(disk) || options.force) {
      actions.push({ kind: 'remove', path: rel, old: disk });
      report.removed.push(rel);
    } else {
      report.warnings.push({ code: 'STALE_EDITED_FILE', subject: rel, message: 'no longer generated but edited by hand; left in place' });
    }
  }

  if (edited.length > 0) {
    throw new BackdevError(
      'GENERATED_FILE_EDITED',
      `${edited.length} generated file(s) changed since backdev wrote them; nothing was written. Move your changes to a user-owned file (handlers, app.ts) or run again with --force to overwrite them`,
      { details: edited.sort() },
    );
  }

  const manifestOut = serializeManifest(next);
  // Paths whose record changes (shown by --check / --dry-run even when no file does).
  const before = JSON.parse(serializeManifest(manifest)) as Manifest;
  const after = JSON.parse(manifestOut) as Manifest;
  report.records = [...new Set([...Object.keys(before.files), ...Object.keys(after.files)])]
    .filter((rel) => JSON.stringify(before.files[rel]) !== JSON.stringify(after.files[rel]))
    .sort();
  // A folder gets a manifest once there is something to record (not for user-edit files alone).
  if (manifestOut !== manifestText && (manifestText !== undefined || Object.keys(next.files).length > 0)) {
    actions.push({ kind: 'write', path: MANIFEST_PATH, content: manifestOut, old: manifestText });
  }
  report.changed = actions.some((a) => a.path !== MANIFEST_PATH) || (manifestText !== undefined && manifestOut !== manifestText);
  if (options.dryRun) {
    report.diff = actions
      .map((a) => unifiedDiff(a.path, a.old, a.kind === 'write' ? a.content : undefined))
      .join('');
    return report;
  }
  if (options.check) return report;
  commit(root, resolve, [...actions, ...cacheActions(list, actions, looked, files)]);
  return report;
}

/**
 * Writes of the run cache entries of plans that ask for one (and of the cache folder's .gitignore): not part
 * of the report, and left out when unchanged.
 */
function cacheActions(plans: readonly Plan[], actions: readonly Action[], looked: ReadonlyMap<string, string | undefined>, files: ProjectFiles): Action[] {
  const seeded = plans.filter((p) => p.cache !== undefined);
  if (seeded.length === 0) return [];
  const final = new Map(looked);
  for (const a of actions) final.set(a.path, a.kind === 'write' ? a.content : undefined);
  const out: Action[] = [];
  const write = (rel: string, content: string) => {
    const old = files.read(rel);
    if (old !== content) out.push({ kind: 'write', path: rel, content, old });
  };
  write(RUN_CACHE_GITIGNORE, '*\n');
  for (const p of seeded) write(p.cache!.path, runCacheEntry(p.cache!, p.files, p.warnings, final, files.hash));
  return out;
}

function commit(root: string, resolve: ResolveInside, actions: readonly Action[]): void {
  const tag = `.backdev-${process.pid}-${Date.now().toString(36)}`;
  const staged: { target: string; temp: string }[] = [];
  const createdDirs: string[] = [];
  // Folders made or found by this commit: many files share one.
  const ensured = new Set<string>();
  resolve.beforeWrite();
  const ensureDir = (dir: string) => {
    if (ensured.has(dir)) return;
    ensured.add(dir);
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = path.dirname(d)) missing.push(d);
    mkdirSync(dir, { recursive: true });
    createdDirs.push(...missing);
  };
  try {
    // Stage: nothing visible changes yet.
    for (const a of actions) {
      if (a.kind !== 'write') continue;
      const target = resolve(a.path);
      ensureDir(path.dirname(target));
      if (existsSync(target) && lstatSync(target).isDirectory()) {
        throw new BackdevError('OUTPUT_CONFLICT', `cannot write ${a.path}: a directory is in the way`);
      }
      const temp = `${target}${tag}.new`;
      writeFileSync(temp, a.content, 'utf8');
      staged.push({ target, temp });
    }
  } catch (err) {
    for (const s of staged) rmSync(s.temp, { force: true });
    removeEmptyDirs(createdDirs);
    throw err;
  }
  // Swap in: keep the old versions aside so that a failure half-way can be undone.
  const done: { target: string; backup: string | undefined }[] = [];
  try {
    for (const a of actions) {
      const target = resolve(a.path);
      const backup = existsSync(target) ? `${target}${tag}.old` : undefined;
      if (backup) renameSync(target, backup);
      done.push({ target, backup });
      if (a.kind === 'write') renameSync(`${target}${tag}.new`, target);
    }
  } catch (err) {
    for (const d of done.reverse()) {
      rmSync(d.target, { force: true });
      if (d.backup) renameSync(d.backup, d.target);
    }
    for (const s of staged) rmSync(s.temp, { force: true });
    removeEmptyDirs(createdDirs);
    throw err;
  }
  for (const d of done) if (d.backup) rmSync(d.backup, { force: true });
  // Directories emptied by removals go too (never the root).
  const emptied = actions.filter((a) => a.kind === 'remove').map((a) => path.dirname(resolve(a.path)));
  removeEmptyDirs(emptied, path.resolve(root));
}

function removeEmptyDirs(dirs: readonly string[], stopAt?: string): void {
  for (const start of [...dirs].sort((a, b) => b.length - a.length)) {
    for (let d = start; d !== stopAt && d !== path.dirname(d); d = path.dirname(d)) {
      try {
        if (readdirSync(d).length > 0) break;
        rmdirSync(d);
      } catch {
        break;
      }
    }
  }
}
