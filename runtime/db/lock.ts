/**
 * One process at a time on a PGlite folder. PGlite keeps the whole database in the memory of the process
 * that opened it and writes it back to the folder: a second process on the same folder sees a stale copy
 * and overwrites the first one's changes. `lockDataDir` creates `<dataDir>.lock` atomically with the
 * holder's pid, start time and command; a lock whose process is gone (or whose pid now belongs to a
 * process started later) is stale and taken over. The lock is released on close and when the process exits.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LockHolder {
  pid: number;
  /** When the holding process started (ms since the epoch). */
  started: number;
  /** The holder's command line, shortened. */
  command?: string;
  hostname?: string;
}

/** The folder is open in another process (or already open in this one). */
export class DatabaseLockedError extends Error {
  override readonly name = 'DatabaseLockedError';
  constructor(
    readonly dataDir: string,
    readonly lockFile: string,
    readonly holder: LockHolder | undefined,
    sameProcess = false,
  ) {
    const who = holder ? `process ${holder.pid}${holder.command ? ` (${holder.command})` : ''}, running since ${new Date(holder.started).toISOString()}` : 'another process';
    super(
      sameProcess
        ? `the embedded database in ${dataDir} is already open in this process: share one database instance (destroy() the first before opening it again)`
        : `the embedded database in ${dataDir} is in use by ${who}. PGlite serves one process at a time: stop that process first ` +
            '(for `npm run dev`: Ctrl-C in its terminal; the dev server applies pending migrations itself when it starts), ' +
            `or set DATABASE_URL to use a PostgreSQL server. If no such process runs, delete ${lockFile}.`,
    );
  }
}

const START = Date.now() - process.uptime() * 1000;
/** Lock files this process holds, by path. */
const held = new Set<string>();
let exitHook = false;

function commandLine(): string {
  const text = process.argv
    .slice(1)
    .map((a) => path.basename(a) === a || !path.isAbsolute(a) ? a : path.relative(process.cwd(), a) || a)
    .join(' ');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const data = JSON.parse(text) as Partial<LockHolder>;
    return typeof data.pid === 'number' && typeof data.started === 'number' ? (data as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return parseHolder(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Start time of a live process on Linux (ms since the epoch), from /proc; undefined elsewhere. */
function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(boot) ? boot * 1000 + (ticks / 100) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the holder still runs: its pid is alive and (where it can be told) started when the lock says. */
function alive(holder: LockHolder): boolean {
  if (holder.pid === process.pid) return Math.abs(holder.started - START) < 2000;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const started = processStart(holder.pid);
  // The pid was reused by a process that started after the lock was written.
  return started === undefined || started <= holder.started + 2000;
}

function create(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    const holder: LockHolder = { pid: process.pid, started: Math.round(START), command: commandLine(), hostname: os.hostname() };
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Moves a stale lock aside; false when another process replaced it meanwhile (it is put back). */
function removeStale(file: string, seen: string): boolean {
  const aside = `${file}.${process.pid}.stale`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  const moved = readFileSync(aside, 'utf8');
  if (moved !== seen) {
    // Another process took the stale lock over between our read and our rename: give its lock back.
    try {
      linkSync(aside, file);
    } catch {
      /* a third process holds it now */
    }
    unlinkSync(aside);
    return false;
  }
  unlinkSync(aside);
  return true;
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}

export interface LockOptions {
  /** How long to wait for a live holder to let go (ms, default 2000: a `tsx watch` restart). */
  waitMs?: number;
}

/**
 * Takes the lock of `dataDir` (the file `<dataDir>.lock`), or throws a `DatabaseLockedError` naming the
 * holder. Returns the function releasing it.
 */
export async function lockDataDir(dataDir: string, options: LockOptions = {}): Promise<() => void> {
  const file = `${path.resolve(dataDir)}.lock`;
  if (held.has(file)) throw new DatabaseLockedError(dataDir, file, readHolder(file), true);
  const deadline = Date.now() + (options.waitMs ?? 2000);
  for (;;) {
    if (create(file)) break;
    let seen: string;
    try {
      seen = readFileSync(file, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    const holder = parseHolder(seen);
    // A lock file that cannot be read is being written (or its writer died half-way, long ago).
    if (holder ? !alive(holder) : Date.now() - mtime(file) > 5000) {
      removeStale(file, seen);
      continue;
    }
    if (Date.now() >= deadline) throw new DatabaseLockedError(dataDir, file, holder);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  held.add(file);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const f of held) release(f);
    });
  }
  return () => {
    if (held.has(file)) release(file);
  };
}

function release(file: string): void {
  held.delete(file);
  const holder = readHolder(file);
  if (holder?.pid !== process.pid) return;
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}
