/**
 * A new PGlite database starts by running initdb, about 4 s of CPU; the cluster initdb makes is the same
 * every time for one build of PGlite. So the first new database of a machine is saved as a tarball in the
 * system's temporary folder, and later new ones start from it (about 1 s): a project's test files, each
 * opening an in-memory database, start faster, and so does a new project's first `migrate` or `npm run dev`
 * (a data folder that does not exist yet or is empty). Best effort: any failure falls back to initdb.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
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

/** The saved cluster, or undefined when there is none (yet) or it cannot be read. */
function readTemplate(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    const saved = readFileSync(file);
    return saved.length > 0 ? saved : undefined;
  } catch {
    return undefined;
  }
}

/** Saves the cluster of a database initdb has just made, before anything else runs on it. */
async function saveTemplate(file: string | undefined, db: PGlite): Promise<void> {
  if (!file) return;
  try {
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

/** A folder with nothing in it (or none at all): a database made there starts from the template. */
function isEmptyFolder(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return !existsSync(dir);
  }
}

/**
 * A PGlite database in `dataDir` (`memory://` keeps it in memory). A new one — in memory, or in a folder
 * that is empty — starts from the saved template when there is one; an existing folder opens as it is.
 */
export async function createPGlite(PGliteClass: typeof PGlite, dataDir: string, options: PGliteOptions): Promise<PGlite> {
  const inMemory = dataDir === 'memory://';
  const where = inMemory ? {} : { dataDir };
  if (!inMemory && !isEmptyFolder(dataDir)) return PGliteClass.create({ ...options, ...where });
  const file = templateFile();
  const saved = readTemplate(file);
  if (saved) {
    try {
      return await PGliteClass.create({ ...options, ...where, loadDataDir: new Blob([saved as Uint8Array<ArrayBuffer>]) });
    } catch {
      // a damaged template: empty the folder again and make a new cluster below
      if (!inMemory) for (const entry of readdirSync(dataDir)) rmSync(path.join(dataDir, entry), { recursive: true, force: true });
    }
  }
  const db = await PGliteClass.create({ ...options, ...where });
  await saveTemplate(file, db);
  return db;
}
