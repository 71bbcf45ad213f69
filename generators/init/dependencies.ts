/**
 * How a generated project depends on backdev. By default on this version's range (`^0.1.0`), as with any
 * package from the registry. `init --backdev <spec>` chooses otherwise: a folder (a clone of backdev) or a
 * packed tarball (`npm pack`), given as a path from the current folder, is written as a `file:` dependency
 * relative to the project; a `file:` spec is written as given (npm reads it relative to the project); any
 * other spec (a version, a range, a tag) is written as given.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { backdevPackageVersion, PACKAGE_ROOT } from '../core/package-root.js';

export { backdevPackageVersion };

/** True when backdev runs from a clone (its TypeScript sources are present), not from an installed package. */
export function runsFromClone(): boolean {
  return existsSync(path.join(PACKAGE_ROOT, 'generators', 'cli.ts'));
}

const looksLikePath = (spec: string) => /^(\.{1,2}([\\/]|$)|[\\/]|[A-Za-z]:[\\/]|~[\\/])/.test(spec) || /\.(tgz|tar\.gz)$/i.test(spec);

/**
 * The version spec of backdev in the project's package.json, for `--backdev <spec>` (undefined: the
 * default range). `root` is the project folder, `cwd` the folder paths in `spec` are relative to.
 */
export function backdevDependency(spec: string | undefined, root: string, cwd: string): string {
  const given = spec?.trim();
  if (!given) return `^${backdevPackageVersion()}`;
  if (given.startsWith('file:')) return given;
  if (looksLikePath(given) || existsSync(path.resolve(cwd, given))) {
    const rel = path.relative(root, path.resolve(cwd, given.replace(/^~(?=[\\/])/, process.env.HOME ?? '~'))).split(path.sep).join('/');
    return `file:${rel || '.'}`;
  }
  return given;
}

/** A line for the user when a clone makes a project that depends on the registry's backdev. */
export function cloneNote(spec: string | undefined): string | undefined {
  if (spec?.trim() || !runsFromClone()) return undefined;
  return `init: the project depends on backdev ^${backdevPackageVersion()} from the registry; to use this clone instead, pass --backdev ${PACKAGE_ROOT}`;
}
