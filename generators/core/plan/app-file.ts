/** Merging a generator's call into `src/app.ts`, the user's file that init writes and `buildApp` lives in. */
import type { Warning } from '../errors.js';
import type { FilePlan, ProjectFiles } from './types.js';

export const APP_FILE = 'src/app.ts';

/**
 * The plan for `src/app.ts` after `wire` (the merged text, the text as it is when already wired, or undefined
 * when the place to merge into is not found). Planned on every run, wired or not, so the manifest keeps the
 * generator among the file's writers; when it cannot be wired, a warning tells the user the line to add.
 * Nothing when the project has no `src/app.ts`.
 */
export function planAppWiring(files: ProjectFiles, wire: (app: string) => string | undefined, instead: string): { files: FilePlan[]; warnings: Warning[] } {
  const app = files.read(APP_FILE);
  if (app === undefined) return { files: [], warnings: [] };
  const merged = wire(app);
  if (merged !== undefined) return { files: [{ path: APP_FILE, ownership: 'scaffold', content: merged }], warnings: [] };
  return { files: [], warnings: [{ code: 'APP_NOT_WIRED', subject: APP_FILE, message: instead }] };
}
