/** Where the repo and its git-ignored cache live, for the corpus and bench scripts. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (/work/main). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Everything the scripts download or produce goes under here (git-ignored). */
export const CACHE_DIR = path.join(REPO_ROOT, '.cache');

export function cachePath(...parts: string[]): string {
  return path.join(CACHE_DIR, ...parts);
}

/** True when the module with this `import.meta.url` is the script node (or tsx) was started with. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && path.resolve(entry) === fileURLToPath(moduleUrl);
}

/** `12m03s`, `4.2s`, `850ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}h${mm}m${ss}s` : `${m}m${ss}s`;
}
