/**
 * Output paths: `root/rel`, refusing anything that would land outside `root` (`..`, absolute paths, drive
 * letters, a symlinked folder on the way that leads out).
 *
 * `insideRoot(root)` returns a resolver for one run. A run touches hundreds of files in a few dozen folders
 * (Stripe's `design-database --all`: about 1,700 files), so the resolver remembers each folder it found to
 * be inside the root, and asks the file system about a folder once, not once per file and ancestor. A
 * folder made later in the run (the apply step's mkdir) is checked when it is first seen; a folder is
 * remembered as inside only once it exists, so one that appears later as a symlink is still caught (the
 * apply step calls `beforeWrite()` first: from then on only folders known to be inside are taken as read).
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { BackdevError } from '../errors.js';

export interface ResolveInside {
  (rel: string): string;
  /**
   * While planning, folders found missing are remembered too (a fresh run plans files in folders that do
   * not exist yet, and asks about each of them several times). Call this before writing: from then on a
   * folder not known to be inside is looked at as it is at that moment, each time.
   */
  beforeWrite(): void;
}

export function insideRoot(root: string): ResolveInside {
  const rootAbs = path.resolve(root);
  let realRoot: string | undefined;
  /** Existing folders whose real path was found inside the root. */
  const inside = new Set<string>();
  /** Folders found missing while planning (empty once writing starts). */
  const missing = new Set<string>();
  let writing = false;

  const checkFolders = (rel: string, abs: string) => {
    // The nearest existing folder on the way decides: everything below it is made by the run, inside it.
    let dir = path.dirname(abs);
    for (;;) {
      if (inside.has(dir) || missing.has(dir)) return; // a missing one was walked past to a folder inside
      if (existsSync(dir)) break;
      if (!writing) missing.add(dir);
      if (dir.length <= rootAbs.length) return; // the root itself is missing: nothing on the way exists
      dir = path.dirname(dir);
    }
    realRoot ??= realpathSync.native(rootAbs);
    const real = realpathSync.native(dir);
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
      throw new BackdevError('OUTPUT_OUTSIDE_ROOT', `refusing to write "${rel}": ${path.relative(rootAbs, dir)} links outside ${root}`);
    }
    inside.add(dir);
  };

  const resolve = (rel: string) => {
    const normalized = rel.replace(/\\/g, '/');
    const parts = normalized.split('/');
    if (
      normalized === '' ||
      path.posix.isAbsolute(normalized) ||
      path.win32.isAbsolute(normalized) ||
      parts.some((p) => p === '..' || p === '' || p === '.') ||
      /[\0:]/.test(normalized)
    ) {
      throw new BackdevError('OUTPUT_OUTSIDE_ROOT', `refusing to write "${rel}": output paths must be plain relative paths inside ${root}`);
    }
    const abs = path.resolve(rootAbs, ...parts);
    if (!abs.startsWith(rootAbs + path.sep)) {
      throw new BackdevError('OUTPUT_OUTSIDE_ROOT', `refusing to write "${rel}": it resolves outside ${root}`);
    }
    checkFolders(rel, abs);
    return abs;
  };
  const beforeWrite = () => {
    writing = true;
    missing.clear();
  };
  return Object.assign(resolve, { beforeWrite });
}
