/**
 * How tests start a TypeScript child process many times over (the SIGKILL tests restart theirs after
 * every kill): the child bundled once into one JavaScript file by esbuild, which starts in a fraction of
 * the time tsx takes to compile the same sources at every start, and which matters on a loaded machine.
 * Without esbuild the child runs through tsx.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface ChildCommand {
  /** Arguments for `node`: the bundle, or `--import tsx <file>`. */
  args: string[];
  /** Removes the bundle (a no-op when the child runs through tsx). */
  dispose(): void;
}

export async function childCommand(file: string): Promise<ChildCommand> {
  try {
    const { build } = await import('esbuild');
    const dir = path.join(REPO, '.tmp');
    mkdirSync(dir, { recursive: true });
    const outfile = path.join(dir, `${path.basename(file).replace(/\.[cm]?ts$/, '')}-${process.pid}-${Date.now()}.mjs`);
    await build({
      entryPoints: [file],
      outfile,
      // pg and kysely bundled too: one file to read instead of hundreds.
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['pg-native', '@electric-sql/pglite', '@opentelemetry/*', 'tsx', 'tsx/*'],
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    return { args: [outfile], dispose: () => rmSync(outfile, { force: true }) };
  } catch {
    return { args: ['--import', 'tsx', file], dispose: () => {} };
  }
}
