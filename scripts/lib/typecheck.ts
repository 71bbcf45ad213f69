/**
 * Type-checks many generated projects with TypeScript 7's tsc, a batch of projects per tsconfig, a few
 * tsc processes at once. Errors are attributed to projects by file path; a batch whose failure cannot be
 * attributed (tsc crashed, timed out, or reported an error without a file) is split in halves and
 * re-checked, down to single projects.
 *
 * Only `src/generated/**` and `src/handlers/**` are checked: the generated tests import `src/app.ts`,
 * which a real project writes itself.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';
import { describeExit, run } from './proc.js';

export const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript-7', 'bin', 'tsc');

export const COMPILER_OPTIONS = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
  verbatimModuleSyntax: true,
} as const;

export interface Project {
  key: string;
  /** Absolute project root (holds `src/generated`, `src/handlers`). */
  dir: string;
}

export interface TypecheckResult {
  /** Number of errors in the project's files. */
  errors: number;
  /** First error, one line, its path relative to the project: `src/generated/x.gen.ts(3,7): error TS2322: …`. */
  first?: string;
}

export interface TypecheckOptions {
  /** Where the tsconfig files go (and tsc runs). */
  workDir: string;
  batchSize: number;
  parallel: number;
  timeoutMs: number;
  onBatch?: (done: number, total: number) => void;
}

interface Diagnostic {
  file?: string;
  text: string;
}

const DIAGNOSTIC = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/;
const GLOBAL_DIAGNOSTIC = /^error (TS\d+): (.*)$/;

/** Parses `tsc --pretty false` output into diagnostics (files made absolute against `cwd`). */
export function parseTscOutput(output: string, cwd: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const line of output.split('\n')) {
    const located = DIAGNOSTIC.exec(line);
    if (located?.[1] !== undefined) {
      found.push({ file: path.resolve(cwd, located[1]), text: `(${located[2]},${located[3]}): error ${located[4]}: ${located[5]}` });
      continue;
    }
    const global = GLOBAL_DIAGNOSTIC.exec(line.trim());
    if (global) found.push({ text: `error ${global[1]}: ${global[2]}` });
  }
  return found;
}

let batchCounter = 0;

interface BatchOutcome {
  /** Per-project results, when the batch's output could be fully attributed. */
  results?: Map<string, TypecheckResult>;
  /** Why it could not. */
  problem?: string;
}

async function checkOnce(projects: readonly Project[], options: TypecheckOptions): Promise<BatchOutcome> {
  const id = String(++batchCounter).padStart(4, '0');
  const config = path.join(options.workDir, `tsconfig.batch-${id}.json`);
  const include = projects.flatMap((p) => {
    const rel = path.relative(options.workDir, p.dir).split(path.sep).join('/');
    return [`${rel}/src/generated/**/*.ts`, `${rel}/src/handlers/**/*.ts`];
  });
  await writeFile(config, JSON.stringify({ compilerOptions: COMPILER_OPTIONS, include }, null, 2) + '\n');
  const result = await run(process.execPath, [TSC, '-p', config, '--pretty', 'false'], {
    cwd: options.workDir,
    timeoutMs: options.timeoutMs,
  });
  if (result.timedOut) return { problem: `tsc timed out after ${Math.round(options.timeoutMs / 1000)}s` };
  const diagnostics = parseTscOutput(result.stdout + '\n' + result.stderr, options.workDir);
  if (result.code !== 0 && result.code !== 1 && result.code !== 2) {
    const last = (result.stderr.trim() || result.stdout.trim()).split('\n').at(-1) ?? '';
    return { problem: `tsc failed (${describeExit(result.code, result.signal)}): ${last}` };
  }
  const results = new Map<string, TypecheckResult>(projects.map((p) => [p.key, { errors: 0 }]));
  const owners = projects.map((p) => ({ prefix: p.dir + path.sep, project: p }));
  for (const d of diagnostics) {
    const owner = d.file === undefined ? undefined : owners.find((o) => d.file!.startsWith(o.prefix));
    if (!owner || d.file === undefined) return { problem: d.file === undefined ? d.text : `${d.file}${d.text}` };
    const entry = results.get(owner.project.key)!;
    entry.errors++;
    entry.first ??= `${path.relative(owner.project.dir, d.file).split(path.sep).join('/')}${d.text}`;
  }
  if (result.code !== 0 && diagnostics.length === 0) {
    const last = (result.stderr.trim() || result.stdout.trim()).split('\n').at(-1) ?? '';
    return { problem: `tsc exited with ${describeExit(result.code, result.signal)} and no diagnostics: ${last}` };
  }
  return { results };
}

async function checkBatch(projects: readonly Project[], options: TypecheckOptions, into: Map<string, TypecheckResult>): Promise<void> {
  const outcome = await checkOnce(projects, options);
  if (outcome.results) {
    for (const [key, value] of outcome.results) into.set(key, value);
    return;
  }
  if (projects.length === 1) {
    into.set(projects[0]!.key, { errors: 1, first: outcome.problem ?? 'tsc failed' });
    return;
  }
  const half = Math.ceil(projects.length / 2);
  await checkBatch(projects.slice(0, half), options, into);
  await checkBatch(projects.slice(half), options, into);
}

/** Type-checks every project; returns per-project results keyed by `Project.key`. */
export async function typecheckProjects(projects: readonly Project[], options: TypecheckOptions): Promise<Map<string, TypecheckResult>> {
  await mkdir(options.workDir, { recursive: true });
  const batches: Project[][] = [];
  for (let i = 0; i < projects.length; i += options.batchSize) batches.push(projects.slice(i, i + options.batchSize));
  const results = new Map<string, TypecheckResult>();
  let next = 0;
  let done = 0;
  const slot = async () => {
    for (let i = next++; i < batches.length; i = next++) {
      await checkBatch(batches[i]!, options, results);
      done += batches[i]!.length;
      options.onBatch?.(done, projects.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, slot));
  return results;
}
