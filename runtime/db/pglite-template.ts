/**
 * A new PGlite database starts by running initdb, about 4 s of CPU; the cluster initdb makes is the same
 * every time for one build of PGlite. So the first new in-memory database of a machine is saved as a
 * tarball in the system's temporary folder, and later new ones start from it (about 1 s): a project's test
 * files, each opening an in-memory database, start faster. Best effort: any failure falls back to initdb.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';

/** The tarball for the PGlite build in use (keyed by its WebAssembly file), or undefined when unknown. */
function templateFile(): string | undefined {
  try {
    const dist = path.dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')));
    const { version } = JSON.parse(readFileSync(path.join(dist, '..', 'package.json'), 'utf8')) as { version?: unknown };
    const wasm = statSync(path.join(dist, 'pglite.wasm'));
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    if (typeof version !== 'string' || !/^[\w.+-]+$/.test(version)) return undefined;
    return path.join(tmpdir(), `backdev-pglite-${version}-${wasm.size}-${uid}.tar`);
  } catch {
    return undefined;
  }
}

/** A new in-memory PGlite database, from the saved template when there is one. */
export async function createInMemory(PGliteClass: typeof PGlite, options: PGliteOptions): Promise<PGlite> {
  const file = templateFile();
  if (file) {
    let saved: Buffer | undefined;
    try {
      saved = readFileSync(file);
    } catch {
      // none yet
    }
    if (saved && saved.length > 0) {
      try {
        return await PGliteClass.create({ ...options, loadDataDir: new Blob([saved as Uint8Array<ArrayBuffer>]) });
      } catch {
        // a damaged template: make a new one below
      }
    }
  }
  const db = await PGliteClass.create(options);
  if (file) {
    try {
      // Saved before anything else runs on it: the cluster exactly as initdb left it.
      const dump = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
      const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
      writeFileSync(partial, dump);
      try {
        renameSync(partial, file);
      } catch {
        unlinkSync(partial);
      }
    } catch {
      // not saved: the next database runs initdb again
    }
  }
  return db;
}
