/**
 * Reading the trace file `backdev/runtime/tracing` writes (runtime/tracing/constants.ts: one SpanRecord per
 * line). A missing file or a line that is not a span record stops the command with the file and line.
 */
import { readFileSync } from 'node:fs';
import { BackdevError } from '../../generators/core/errors.js';
import type { SpanRecord } from '../../runtime/tracing/constants.js';

const STATUSES = new Set(['unset', 'ok', 'error']);

export function readTraceFile(file: string): SpanRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no trace file here: a server writes it while it runs with backdev/runtime/tracing (give another path as the file argument)'
        : code === 'EISDIR'
          ? 'this is a folder, not a trace file'
          : `cannot read the trace file: ${(err as Error).message}`;
    throw new BackdevError('TRACE_FILE_INVALID', why, { location: { file }, cause: err });
  }
  return parseTraceLines(text, file);
}

export function parseTraceLines(text: string, file: string): SpanRecord[] {
  const records: SpanRecord[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const bad = (message: string) => new BackdevError('TRACE_FILE_INVALID', message, { location: { file, line: i + 1 } });
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      // The last line may be cut short by a server stopped mid-write: say so.
      const last = i === lines.length - 1 || (i === lines.length - 2 && lines[lines.length - 1] === '');
      throw bad(`not a JSON line (${(err as Error).message})${last ? '; the last line may have been cut short by a crash: remove it' : ''}`);
    }
    const problem = recordProblem(value);
    if (problem) throw bad(`not a span record: ${problem}`);
    records.push(value as SpanRecord);
  });
  return records;
}

function recordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object';
  const r = value as Record<string, unknown>;
  for (const key of ['traceId', 'spanId', 'name'] as const) {
    if (typeof r[key] !== 'string' || r[key] === '') return `"${key}" must be a non-empty string`;
  }
  for (const key of ['startMs', 'durationMs'] as const) {
    if (typeof r[key] !== 'number' || !Number.isFinite(r[key])) return `"${key}" must be a number`;
  }
  if (r.parentSpanId !== null && r.parentSpanId !== undefined && typeof r.parentSpanId !== 'string') return '"parentSpanId" must be a string or null';
  if (!STATUSES.has(r.status as string)) return '"status" must be "unset", "ok" or "error"';
  if (r.error !== null && r.error !== undefined && typeof r.error !== 'string') return '"error" must be a string or null';
  return undefined;
}
