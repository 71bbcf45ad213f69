/**
 * The one run every writing command shares: resolve the target → plan (the generator's own step) → apply, diff
 * or check → warnings, notes, summary (or one JSON report with `--json`) → exit code.
 */
import path from 'node:path';
import { applyPlan, projectFiles, type ApplyReport } from '../plan/apply.js';
import { printSummary, printWarnings, type Output } from '../report.js';
import type { Generator, GeneratorResult, Mode, Planners, PlannedRun, WriteOptions } from './types.js';

export function modeOf(options: WriteOptions): Mode {
  return options.check ? 'check' : options.dryRun ? 'dry-run' : 'write';
}

export async function runGenerator<O extends WriteOptions>(generator: Generator<O>, options: O, output: Output, planners: Planners): Promise<GeneratorResult> {
  generator.validate?.(options);
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const target = generator.target(options, cwd);
  const mode = modeOf(options);
  // Under --json, stdout carries the report alone: progress goes to stderr.
  const progress: Output = options.json ? { out: (line) => output.err(line), err: (line) => output.err(line) } : output;
  const files = projectFiles(target.root);
  const planned = await generator.plan({ target, files, mode, planners, output: progress }, options);
  const followUps = (await planners.followUps?.(generator.name, planned.plans, { target, files })) ?? [];
  const report = applyPlan([...planned.plans, ...followUps], { root: target.root, force: options.force, dryRun: options.dryRun, check: options.check, files });
  const failures = mode === 'check' ? checkFailures(generator, report, planned) : [];
  const exitCode = failures.length > 0 ? 1 : 0;
  const details = planned.details ?? {};
  if (options.json) {
    output.out(JSON.stringify(jsonReport(generator, mode, target.root, report, planned, failures, exitCode)));
  } else {
    printWarnings(report.warnings, output, options.verbose);
    if (mode === 'dry-run' && report.diff) output.out(report.diff.trimEnd());
    for (const line of planned.notes ?? []) output.out(line);
    printSummary(generator.label ?? generator.name, report, output, mode);
    if (mode === 'write') for (const line of planned.next?.(report) ?? []) output.out(line);
    for (const line of failures) output.err(line);
  }
  return { report, exitCode, root: target.root, spec: target.spec, details };
}

/** Why `--check` fails: files out of date, and whatever else the generator found. */
function checkFailures(generator: Pick<Generator<WriteOptions>, 'name' | 'outOfDate'>, report: ApplyReport, planned: PlannedRun): string[] {
  const out: string[] = [];
  if (report.changed) out.push(`${generator.name} --check: ${generator.outOfDate}`);
  for (const reason of planned.checkFailures ?? []) out.push(`${generator.name} --check: ${reason}`);
  return out;
}

/** The `--json` report: one object, stable keys, paths relative to the project root. */
export function jsonReport(
  generator: Pick<Generator<WriteOptions>, 'name'>,
  mode: Mode,
  root: string,
  report: ApplyReport,
  planned: PlannedRun,
  failures: string[],
  exitCode: number,
): Record<string, unknown> {
  return {
    generator: generator.name,
    mode,
    root,
    changed: report.changed,
    exitCode,
    files: { created: report.created, updated: report.updated, removed: report.removed, skipped: report.skipped, unchanged: report.unchanged },
    manifestRecords: report.records,
    warnings: report.warnings.map((w) => ({ code: `BACKDEV_${w.code}`, subject: w.subject, message: w.message })),
    notes: planned.notes ?? [],
    ...(mode === 'write' ? { next: planned.next?.(report) ?? [] } : {}),
    ...(mode === 'dry-run' ? { diff: report.diff } : {}),
    ...(mode === 'check' ? { checkFailures: failures } : {}),
    ...planned.details,
  };
}
