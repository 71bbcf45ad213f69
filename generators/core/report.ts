/** How a run talks to the person running it: summary of what was written, warnings, errors. */
import { formatWarning, terminalSafe, type Warning } from './errors.js';
import type { ApplyReport } from './plan/apply.js';

/**
 * Where a run's lines go. Both outputs below pass every line through `terminalSafe`: whatever a message
 * quotes from a spec (names, paths, descriptions), nothing but line breaks acts on the terminal.
 */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const consoleOutput: Output = {
  out: (line) => process.stdout.write(terminalSafe(line, true) + '\n'),
  err: (line) => process.stderr.write(terminalSafe(line, true) + '\n'),
};

/** Collects output in memory (tests, plop): the lines a terminal would show. */
export function memoryOutput(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(terminalSafe(l, true)), err: (l) => stderr.push(terminalSafe(l, true)) };
}

const WARNING_LIMIT = 20;

export function printWarnings(warnings: readonly Warning[], output: Output, verbose = false): void {
  const unique = [...new Map(warnings.map((w) => [formatWarning(w), w])).keys()];
  const shown = verbose ? unique : unique.slice(0, WARNING_LIMIT);
  for (const line of shown) output.err(line);
  if (shown.length < unique.length) {
    output.err(`… and ${unique.length - shown.length} more warnings (--verbose shows all)`);
  }
}

export function printSummary(generator: string, report: ApplyReport, output: Output, mode: 'write' | 'dry-run' | 'check'): void {
  const rows: [string, string[]][] = [
    ['created', report.created],
    ['updated', report.updated],
    ['removed', report.removed],
    ['skipped', report.skipped],
    ['unchanged', report.unchanged],
  ];
  const changed = report.created.length + report.updated.length + report.removed.length;
  const verb = mode === 'write' ? 'changed' : 'would change';
  output.out(
    `${generator}: ${changed} file${changed === 1 ? '' : 's'} ${verb} (${rows.map(([k, v]) => `${v.length} ${k}`).join(', ')})`,
  );
  for (const [kind, files] of rows) for (const f of files) output.out(`  ${kind.padEnd(9)} ${f}`);
  if (mode !== 'write' && report.records.length > 0) {
    const shown = report.records.slice(0, 10).join(', ') + (report.records.length > 10 ? `, … (${report.records.length - 10} more)` : '');
    output.out(`  ${'records'.padEnd(9)} .backdev/manifest.json ${mode === 'check' ? 'is out of date' : 'would change'} for ${shown}`);
  }
}
