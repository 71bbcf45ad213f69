/** Unified diffs for `--dry-run`. */
import { createRequire } from 'node:module';
import type * as Diff from 'diff';

// Loaded at the first diff: only --dry-run shows one, and every other run (a no-change rerun too) would pay
// for loading the library at start-up.
let jsdiff: typeof Diff | undefined;

export function unifiedDiff(file: string, before: string | undefined, after: string | undefined): string {
  jsdiff ??= createRequire(import.meta.url)('diff') as typeof Diff;
  const from = before === undefined ? '/dev/null' : `a/${file}`;
  const to = after === undefined ? '/dev/null' : `b/${file}`;
  const patch = jsdiff.createTwoFilesPatch(from, to, before ?? '', after ?? '', undefined, undefined, { context: 3 });
  // Drop the "Index:"/"===" preamble jsdiff adds; keep the ---/+++ header and hunks.
  return patch.replace(/^(?:Index: .*\n)?=+\n/, '');
}
