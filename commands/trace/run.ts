/**
 * `backdev trace summary | errors | show`: read the trace file (default: the one the runtime writes,
 * runtime/tracing/constants.ts) and print per-operation statistics, the failures, or one trace's span tree.
 * Problems with the file are BackdevErrors naming the file and line (exit 1).
 */
import { BackdevError } from '../../generators/core/errors.js';
import type { Output } from '../../generators/core/report.js';
import { DEFAULT_TRACE_FILE, type SpanRecord } from '../../runtime/tracing/constants.js';
import { readTraceFile } from './read.js';
import { failures, findTrace, parseSince, renderTree, summarize } from './report.js';

export interface TraceReadOptions {
  file?: string | undefined;
  json?: boolean | undefined;
  /** A duration back from now (`15m`) or an ISO date: only operations that started since. */
  since?: string | undefined;
  /** For tests: the current time, epoch ms. */
  now?: number | undefined;
}

function load(options: TraceReadOptions): { file: string; records: SpanRecord[]; since: number | undefined } {
  const file = options.file ?? DEFAULT_TRACE_FILE;
  let since: number | undefined;
  if (options.since !== undefined) {
    since = parseSince(options.since, options.now ?? Date.now());
    if (since === undefined) throw new BackdevError('OPTION_INVALID', `--since takes a duration (90s, 15m, 2h, 7d) or an ISO date such as 2026-11-30T12:00:00Z (got "${options.since}")`);
  }
  const records = readTraceFile(file);
  return { file, records: since === undefined ? records : records.filter((r) => r.startMs >= since), since };
}

const fmt = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2));
const pad = (cells: string[], widths: number[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');

export function runTraceSummary(options: TraceReadOptions, output: Output): void {
  const { file, records, since } = load(options);
  const summary = summarize(records);
  if (options.json) {
    output.out(JSON.stringify({ file, since: since === undefined ? null : new Date(since).toISOString(), spans: records.length, operations: summary }));
    return;
  }
  if (summary.length === 0) {
    output.out(`${file}: no operations${since === undefined ? '' : ` since ${new Date(since).toISOString()}`}`);
    return;
  }
  const rows = summary.map((s) => [
    s.name,
    String(s.count),
    `${(s.errorRate * 100).toFixed(1)}%`,
    fmt(s.p50),
    fmt(s.p95),
    fmt(s.p99),
    s.slowest.map((x) => `${x.traceId} (${fmt(x.durationMs)})`).join(', '),
  ]);
  const head = ['operation', 'count', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'slowest traces'];
  const widths = head.map((h, i) => (i === head.length - 1 ? 0 : Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  output.out(`${file}: ${records.length} spans, ${summary.reduce((n, s) => n + s.count, 0)} operations${since === undefined ? '' : ` since ${new Date(since).toISOString()}`}`);
  output.out(pad(head, widths));
  for (const row of rows) output.out(pad(row, widths));
}

export function runTraceErrors(options: TraceReadOptions, output: Output): void {
  const { file, records } = load(options);
  const failed = failures(records);
  if (options.json) {
    output.out(JSON.stringify({ file, failures: failed }));
    return;
  }
  if (failed.length === 0) {
    output.out(`${file}: no failing operations`);
    return;
  }
  output.out(`${file}: ${failed.length} failing operation${failed.length === 1 ? '' : 's'}`);
  let name: string | undefined;
  for (const f of failed) {
    if (f.name !== name) {
      name = f.name;
      output.out(`${name} (${failed.filter((x) => x.name === name).length})`);
    }
    output.out(`  ${new Date(f.startMs).toISOString()}  ${f.traceId}  ${f.error}`);
    for (const c of f.causes) output.out(`      in ${c.name}: ${c.error}`);
  }
}

export function runTraceShow(options: TraceReadOptions & { traceId: string }, output: Output): void {
  const { file, records } = load({ ...options, since: undefined });
  const found = findTrace(records, options.traceId);
  if (!found) throw new BackdevError('OPTION_INVALID', `no trace ${options.traceId} in ${file} (backdev trace summary lists trace ids)`);
  if ('ambiguous' in found) throw new BackdevError('OPTION_INVALID', `${options.traceId} starts ${found.ambiguous.length} trace ids: ${found.ambiguous.join(', ')}`);
  if (options.json) {
    output.out(JSON.stringify({ file, traceId: found.traceId, spans: found.spans }));
    return;
  }
  const start = Math.min(...found.spans.map((s) => s.startMs));
  const end = Math.max(...found.spans.map((s) => s.startMs + s.durationMs));
  output.out(`trace ${found.traceId}: ${found.spans.length} span${found.spans.length === 1 ? '' : 's'}, ${fmt(end - start)} ms, started ${new Date(start).toISOString()}`);
  for (const line of renderTree(found.spans)) output.out(line);
}
