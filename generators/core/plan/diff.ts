/** Unified diffs for `--dry-run`. */
import { createTwoFilesPatch } from 'diff';

export function unifiedDiff(file: string, before: string | undefined, after: string | undefined): string {
  const from = before === undefined ? '/dev/null' : `a/${file}`;
  const to = after === undefined ? '/dev/null' : `b/${file}`;
  const patch = createTwoFilesPatch(from, to, before ?? '', after ?? '', undefined, undefined, { context: 3 });
  // Drop the "Index:"/"===" preamble jsdiff adds; keep the ---/+++ header and hunks.
  return patch.replace(/^(?:Index: .*\n)?=+\n/, '');
}
