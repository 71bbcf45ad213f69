/**
 * Compares two generated trees file by file (sha256 of each file's bytes), for checking that a change to
 * the generators keeps their output byte-identical:
 *
 *   tsx scripts/compare-output.ts <before-dir> <after-dir> [--list] [--ignore <prefix>]… [--separate <name>]…
 *
 * Prints one line per tree (file count and a hash over all its files' paths and hashes), then every file that
 * is only in one tree or differs. Files whose name is given with `--separate` (e.g. `http.gen.ts`) are listed
 * apart and do not fail the comparison (and so is `.backdev/manifest.json` when only their records differ); paths under an `--ignore` prefix (e.g. `.backdev/cache/`) are left
 * out. `--list` prints every file with its hash. Exits 1 when anything else differs.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isMain } from './lib/paths.js';

/** Every file under `root` (relative paths with `/`, sorted) → `sha256` hex of its bytes. */
export function hashTree(root: string, ignore: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      const rel = path.relative(root, full).split(path.sep).join('/');
      if (ignore.some((p) => rel === p.replace(/\/$/, '') || rel.startsWith(p))) continue;
      if (statSync(full).isDirectory()) walk(full);
      else out.set(rel, createHash('sha256').update(readFileSync(full)).digest('hex'));
    }
  };
  walk(root);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** One hash for a whole tree: over its sorted `path hash` lines. */
export function treeHash(files: Map<string, string>): string {
  const h = createHash('sha256');
  for (const [rel, hash] of files) h.update(`${rel} ${hash}\n`);
  return h.digest('hex');
}

export interface TreeDiff {
  onlyBefore: string[];
  onlyAfter: string[];
  differ: string[];
}

export function diffTrees(before: Map<string, string>, after: Map<string, string>): TreeDiff {
  const diff: TreeDiff = { onlyBefore: [], onlyAfter: [], differ: [] };
  for (const [rel, hash] of before) {
    const other = after.get(rel);
    if (other === undefined) diff.onlyBefore.push(rel);
    else if (other !== hash) diff.differ.push(rel);
  }
  for (const rel of after.keys()) if (!before.has(rel)) diff.onlyAfter.push(rel);
  return diff;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { list: { type: 'boolean' }, ignore: { type: 'string', multiple: true }, separate: { type: 'string', multiple: true } },
  });
  const [beforeDir, afterDir] = positionals;
  if (beforeDir === undefined || afterDir === undefined) throw new Error('usage: compare-output <before-dir> <after-dir> [--list] [--ignore prefix] [--separate file-name]');
  const ignore = values.ignore ?? [];
  const separate = new Set(values.separate ?? []);
  const before = hashTree(beforeDir, ignore);
  const after = hashTree(afterDir, ignore);
  const out = (line: string) => process.stdout.write(line + '\n');
  out(`before ${beforeDir}: ${before.size} files, tree sha256 ${treeHash(before)}`);
  out(`after  ${afterDir}: ${after.size} files, tree sha256 ${treeHash(after)}`);
  if (values.list) for (const [rel, hash] of before) out(`  ${hash}  ${rel}${after.get(rel) === hash ? '' : '  (differs)'}`);
  const diff = diffTrees(before, after);
  const isSeparateFile = (rel: string) => separate.has(path.posix.basename(rel));
  // The manifest records each file's hash: when only the records of files listed apart differ, so is it.
  const manifestApart = (rel: string) => {
    if (!rel.endsWith('.backdev/manifest.json')) return false;
    const entries = (dir: string) => (JSON.parse(readFileSync(path.join(dir, rel), 'utf8')) as { files: Record<string, unknown> }).files;
    const [a, b] = [entries(beforeDir), entries(afterDir)];
    const changed = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
    return changed.length > 0 && changed.every(isSeparateFile);
  };
  const isSeparate = (rel: string) => isSeparateFile(rel) || (diff.differ.includes(rel) && manifestApart(rel));
  const report = (label: string, list: string[]) => {
    for (const rel of list) out(`  ${label} ${rel}`);
  };
  const failing: TreeDiff = {
    onlyBefore: diff.onlyBefore.filter((r) => !isSeparate(r)),
    onlyAfter: diff.onlyAfter.filter((r) => !isSeparate(r)),
    differ: diff.differ.filter((r) => !isSeparate(r)),
  };
  const apart = [...diff.onlyBefore, ...diff.onlyAfter, ...diff.differ].filter(isSeparate).sort();
  const count = failing.onlyBefore.length + failing.onlyAfter.length + failing.differ.length;
  out(count === 0 ? 'identical' : `${count} difference(s):`);
  report('only before:', failing.onlyBefore);
  report('only after: ', failing.onlyAfter);
  report('differs:    ', failing.differ);
  if (apart.length > 0) {
    out(`${apart.length} difference(s) in ${[...separate].join(', ')} (listed apart):`);
    report('differs:    ', apart);
  }
  if (count > 0) process.exitCode = 1;
}

if (isMain(import.meta.url)) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
