/** The `backdev trace` subcommands for generators/cli.ts (yargs). */
import type { Argv } from 'yargs';
import type { Output } from '../../generators/core/report.js';
import { DEFAULT_TRACE_FILE } from '../../runtime/tracing/constants.js';

/** cli.ts's `later`: records the work to run once the whole command line has been checked. */
type Later = <A>(work: (args: A) => Promise<void> | void) => (args: A) => void;

export function traceCommands(y: Argv, later: Later, output: Output): Argv {
  const file = (c: Argv) => c.positional('file', { type: 'string', default: DEFAULT_TRACE_FILE, describe: 'The JSONL trace file backdev/runtime/tracing writes' });
  const since = (c: Argv) =>
    c.option('since', { type: 'string', describe: 'Only operations started since: a duration back from now (90s, 15m, 2h, 7d) or an ISO date' });
  const json = (c: Argv) => c.option('json', { type: 'boolean', describe: 'Print one JSON object instead of text' });
  return y
    .command(
      'summary [file]',
      'Per operation: count, error rate, p50/p95/p99 duration (nearest rank), slowest trace ids',
      (c) => json(since(file(c))).example('$0 trace summary --since 15m', 'the last quarter of an hour'),
      later(async (argv: Record<string, unknown>) => {
        const args = argv as { file: string; json?: boolean; since?: string };
        const { runTraceSummary } = await import('./run.js');
        runTraceSummary({ file: args.file, json: args.json, since: args.since }, output);
      }),
    )
    .command(
      'errors [file]',
      'Failing operations with their error messages, trace ids and the failing calls inside them',
      (c) => json(since(file(c))),
      later(async (argv: Record<string, unknown>) => {
        const args = argv as { file: string; json?: boolean; since?: string };
        const { runTraceErrors } = await import('./run.js');
        runTraceErrors({ file: args.file, json: args.json, since: args.since }, output);
      }),
    )
    .command(
      'show <traceId> [file]',
      'The span tree of one trace with durations (a unique prefix of 8+ digits of the id is enough)',
      (c) => json(file(c.positional('traceId', { type: 'string', demandOption: true, describe: 'Trace id (32 hex digits)' }))),
      later(async (argv: Record<string, unknown>) => {
        const args = argv as { traceId: string; file: string; json?: boolean };
        const { runTraceShow } = await import('./run.js');
        runTraceShow({ traceId: args.traceId, file: args.file, json: args.json }, output);
      }),
    )
    .demandCommand(1, 'name a subcommand: summary, errors or show');
}
