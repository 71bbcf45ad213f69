/**
 * The one shape every generator has. A generator folder exports a `Generator` from its `index.ts`: given the
 * resolved target and its options it returns a `PlannedRun` (plans plus what to tell the user); core's
 * `runGenerator` does the rest the same way for all of them: apply or diff or check, warnings, summary,
 * `--json`, exit code.
 *
 * Generators never import each other. When one needs another's files in the same change (add-auth and init
 * need create-api's handlers, create-api --endpoint needs the resource's table), it asks for them through
 * `GeneratorContext.planners`, which the composition root (generators/index.ts) fills in.
 */
import type { OutputDirs } from '../config.js';
import type { DbSchema } from '../db/types.js';
import type { ApiIR } from '../ir/types.js';
import type { ApplyReport } from '../plan/apply.js';
import type { Plan, ProjectFiles } from '../plan/types.js';
import type { Output } from '../report.js';
import type { LoadedSpec } from '../spec/load.js';
import type { Obj } from '../json.js';
import type { Interactive } from './prompts.js';

/** What a writing command does with its plan. */
export type Mode = 'write' | 'dry-run' | 'check';

/** The options every writing command takes, with the same meaning everywhere. */
export interface WriteOptions {
  /** Overwrite generated files edited by hand. */
  force?: boolean | undefined;
  /** Print a unified diff of what would change; write nothing. */
  dryRun?: boolean | undefined;
  /** Write nothing; exit 1 when anything would change. */
  check?: boolean | undefined;
  /** Show every warning. */
  verbose?: boolean | undefined;
  /** Print one machine-readable JSON report on stdout instead of the text summary. */
  json?: boolean | undefined;
  /** Folder relative paths are resolved against (default: process.cwd()). */
  cwd?: string | undefined;
}

/** Where a run writes and what it reads: the project root, its output folders, its spec and templates. */
export interface ResolvedTarget {
  root: string;
  dirs: OutputDirs;
  /** Absolute path or URL of the spec; undefined only for generators that can run without one. */
  spec: string | undefined;
  /** Template override folder, if any. */
  templates: string | undefined;
}

/** create-api's planner: the routes, schemas, handlers and tests of an API. */
export type ApiPlanner = (spec: LoadedSpec, api: ApiIR, files: ProjectFiles, options: { dirs: OutputDirs; templates?: string | undefined }) => Promise<Plan>;

/** What the database planner returns: the plan, the designed schema and the migration file it adds, if any. */
export interface DatabasePlan extends Plan {
  schema: DbSchema;
  migrationFile: string | undefined;
}

/** design-database's planner: tables for the named models of a document. */
export type DatabasePlanner = (
  doc: Obj,
  specFile: string,
  files: ProjectFiles,
  dirs: OutputDirs,
  options: { models: string[]; templates?: string | undefined },
) => Promise<DatabasePlan>;

/**
 * Plans of other generators added to a run (after the generator's own) for generated files of theirs that
 * depend on what this run writes: add-health's /health/ready module once a run writes the project's database.
 */
export type FollowUpPlanner = (generator: string, plans: readonly Plan[], context: { target: ResolvedTarget; files: ProjectFiles }) => Promise<Plan[]>;

/** Other generators' planners, for generators whose change includes their files. */
export interface Planners {
  api: ApiPlanner;
  database: DatabasePlanner;
  followUps?: FollowUpPlanner;
}

export interface GeneratorContext {
  target: ResolvedTarget;
  /** Read access to the project as it is. */
  files: ProjectFiles;
  mode: Mode;
  planners: Planners;
  /** For progress lines printed while planning (sent to stderr under --json). */
  output: Output;
}

/** A generator's answer: what to apply, and what to tell the user about it. */
export interface PlannedRun {
  plans: Plan[];
  /** Lines printed after the warnings and before the summary (what was designed, what was added to the spec). */
  notes?: string[] | undefined;
  /** Lines printed after a successful write (next steps), given what was written. */
  next?: ((report: ApplyReport) => string[]) | undefined;
  /**
   * Reasons `--check` fails besides files that would change (e.g. a schema that changed with no migration).
   * Each is printed on stderr and makes the exit code 1 in check mode.
   */
  checkFailures?: string[] | undefined;
  /** Extra fields for the `--json` report (e.g. the migration file). */
  details?: Record<string, unknown> | undefined;
}

export interface Generator<O extends WriteOptions> {
  /** The command name: `create-api`, `design-database`, … */
  name: string;
  /** How the summary names the run (e.g. `add-auth (+create-api)`); default: `name`. */
  label?: string;
  /** What `--check` says when files would change, naming the command to run. */
  outOfDate: string;
  /** Resolves where the run writes (project root, spec, templates) from the options and the config file. */
  target(options: O, cwd: string): ResolvedTarget;
  /** Checks the options before anything is read (usage errors). */
  validate?(options: O): void;
  plan(context: GeneratorContext, options: O): Promise<PlannedRun>;
  /** The questions the interactive front (plop) asks for the options. */
  interactive: Interactive<O>;
}

/** What every writing command returns. */
export interface GeneratorResult {
  report: ApplyReport;
  /** 0, or 1 when `--check` found the project out of date. */
  exitCode: number;
  root: string;
  spec: string | undefined;
  details: Record<string, unknown>;
}
