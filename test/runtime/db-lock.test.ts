/**
 * One process at a time on a PGlite folder: a second process is refused with the holder's pid, a lock
 * left by a dead process is taken over, and destroy() releases the folder. `backdev migrate` on a
 * folder another process holds fails with BACKDEV_DATABASE_LOCKED naming that process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../runtime/db/index.js';
import { backdev, cleanup, REPO, runCommand, tempDir } from '../helpers.js';

const dir = tempDir('backdev-db-lock-');
const dataDir = path.join(dir, '.data', 'pglite');
const lockFile = `${dataDir}.lock`;
const runtime = path.join(REPO, 'runtime/db/index.ts');
const children: ChildProcess[] = [];

/** A script that opens the folder (`open`: a query through createDatabase; `lock`: the lock alone). */
function script(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `import { createDatabase, lockDataDir } from ${JSON.stringify(runtime)};\nimport { sql } from 'kysely';\nvoid createDatabase; void lockDataDir; void sql;\n${body}\n`);
  return file;
}
const holdScript = () =>
  script('hold.mts', `await lockDataDir(process.argv[2]!);\nconsole.log('READY');\nsetInterval(() => {}, 1000);`);
const openScript = () =>
  script(
    'open.mts',
    `const db = createDatabase({ url: null, dataDir: process.argv[2]! });\ntry {\n  const r = await sql\`select 41 + 1 as n\`.execute(db);\n  console.log('OPENED', JSON.stringify(r.rows));\n} catch (err) {\n  console.error(String((err as Error).message));\n  process.exitCode = 1;\n} finally {\n  await db.destroy();\n}`,
  );

/** Starts a holder and resolves once it holds the folder. */
function hold(folder: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', holdScript(), folder], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY')) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}: ${out}`)));
  });
}
const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  cleanup(dir);
});

describe('PGlite folder lock', () => {
  it('refuses a second process, naming the holder; takes over the lock of a dead one', { timeout: 300_000 }, async () => {
    mkdirSync(dataDir, { recursive: true });
    const holder = await hold(dataDir);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: holder.pid });

    const refused = await runCommand(process.execPath, ['--import', 'tsx', openScript(), dataDir], { cwd: REPO, timeout: 150_000 });
    expect(refused.code).toBe(1);
    expect(refused.stdout).not.toContain('OPENED');
    expect(refused.stderr).toContain(`in use by process ${holder.pid}`);
    expect(refused.stderr).toContain('hold.mts');
    expect(refused.stderr).toContain('npm run dev');

    // Killed without a chance to clean up: the lock file stays, naming a pid that no longer runs.
    holder.kill('SIGKILL');
    await exited(holder);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: holder.pid });
    const opened = await runCommand(process.execPath, ['--import', 'tsx', openScript(), dataDir], { cwd: REPO, timeout: 150_000 });
    expect(opened.stderr).toBe('');
    expect(opened.stdout).toContain('OPENED [{"n":42}]');
    expect(opened.code).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('is held while the database is open and released by destroy()', { timeout: 180_000 }, async () => {
    const folder = path.join(dir, 'inproc');
    const db = createDatabase({ url: null, dataDir: folder });
    await sql`select 1`.execute(db);
    expect(JSON.parse(readFileSync(`${folder}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    // A second instance on the folder in the same process is refused too (two copies would overwrite each other).
    const second = createDatabase({ url: null, dataDir: folder });
    await expect(sql`select 1`.execute(second)).rejects.toThrow(/already open in this process/);
    await second.destroy();
    await db.destroy();
    expect(existsSync(`${folder}.lock`)).toBe(false);
    const again = createDatabase({ url: null, dataDir: folder });
    await sql`select 1`.execute(again);
    await again.destroy();
    expect(existsSync(`${folder}.lock`)).toBe(false);
  });

  it('`backdev migrate up` refuses while another process holds the folder, naming its pid', { timeout: 180_000 }, async () => {
    const project = path.join(dir, 'project');
    mkdirSync(path.join(project, 'db/migrations'), { recursive: true });
    writeFileSync(path.join(project, 'backdev.config.json'), JSON.stringify({ spec: 'openapi.yaml' }));
    writeFileSync(path.join(project, 'db/migrations/0001_things.ts'), "export async function up(db: any) {\n  await db.schema.createTable('things').addColumn('id', 'integer').execute();\n}\n");
    const folder = path.join(project, '.data', 'pglite');
    mkdirSync(folder, { recursive: true });
    const holder = await hold(folder);
    const r = await backdev(['migrate', 'up'], project, { ...process.env, DATABASE_URL: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BACKDEV_DATABASE_LOCKED');
    expect(r.stderr).toContain(`process ${holder.pid}`);
    expect(r.stderr).toContain('stop that process first');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
    holder.kill('SIGTERM');
    await exited(holder);
  });
});
