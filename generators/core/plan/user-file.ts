/** Planning files the user owns and backdev only ever creates. */
import type { FilePlan, ProjectFiles } from './types.js';

/**
 * The file as it is when it exists (planned anyway, so it stays recorded in the manifest as backdev's
 * scaffold and is not reported stale), else the content `create` makes.
 */
export async function userFile(files: ProjectFiles, path: string, create: () => string | Promise<string>): Promise<FilePlan> {
  return { path, ownership: 'scaffold', content: files.read(path) ?? (await create()) };
}

/** The number after the highest `NNNN_` prefix among `names` (1 when there is none). */
export function nextMigrationNumber(names: readonly string[]): number {
  return Math.max(0, ...names.map((f) => Number(/^(\d{4})_/.exec(f)?.[1] ?? 0))) + 1;
}
