/** What generators produce: a list of files with their ownership. Only `apply` turns it into disk writes. */
import type { Warning } from '../errors.js';
import type { RunCacheSeed } from './run-cache.js';

/**
 * - `generated`: backdev owns it; rewritten every run; edits by hand stop the run (unless forced).
 * - `scaffold`: the user owns it; written once, later runs only add to it (new handler stubs).
 * - `append-only`: written once, never touched again (migrations).
 * - `user-edit`: a file of the user's that this run edits in place (the spec, for `--endpoint`); not
 *   recorded in the manifest.
 */
export type Ownership = 'generated' | 'scaffold' | 'append-only' | 'user-edit';

export interface FilePlan {
  /** Path relative to the output root, with `/` separators. */
  readonly path: string;
  readonly ownership: Ownership;
  /** Full content to write (for a scaffold that exists: its merged text, or the text as it is). */
  readonly content: string;
  /**
   * Generated files: a hash of everything the content was derived from. Recorded in the manifest so that a
   * later run with the same inputs can reuse the file instead of recomputing it (see ProjectFiles.recorded).
   */
  readonly inputHash?: string;
}

export interface Plan {
  readonly generator: string;
  readonly files: readonly FilePlan[];
  readonly warnings: readonly Warning[];
  /**
   * Some of the generator's files only (one that depends on what another generator writes in the same run):
   * its other recorded files are not stale for missing from it.
   */
  readonly partial?: boolean;
  /** Record this run in the run cache when it is written (core/plan/run-cache.ts). */
  readonly cache?: RunCacheSeed;
}

/** Read access to the current project, given to planners that merge into user-owned files. */
export interface ProjectFiles {
  read(relativePath: string): string | undefined;
  /** What the manifest says backdev last wrote at this path, if anything. */
  recorded(relativePath: string): { hash?: string; inputHash?: string } | undefined;
  /** File names in a folder (not recursive), sorted; empty when it does not exist. */
  list(relativeDir: string): string[];
  /** The content hash of `content` (manifest.ts `hashContent`), remembered for the run: a text is hashed once. */
  hash(content: string): string;
}
