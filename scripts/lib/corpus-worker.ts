/**
 * Corpus generation worker: a forked child (run with tsx's loader) that takes one spec at a time from its
 * parent over IPC, runs create-api on it in-process and answers with the outcome. The parent restarts it
 * every few hundred specs to keep memory bounded, and kills it when a spec takes too long.
 */
import { runCreateApi } from '../../generators/index.js';
import { isBackdevError } from '../../generators/core/errors.js';
import { memoryOutput } from '../../generators/core/report.js';
import { REPO_ROOT } from './paths.js';
import type { GenerationOutcome, ToParent, ToWorker } from './corpus-protocol.js';

function send(message: ToParent): void {
  process.send?.(message);
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.trim();
}

/** The first stack frame inside the repo's generators (or runtime), as `generators/…/file.ts:line`. */
function repoFrame(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const match = /\(?((?:file:\/\/)?\/[^()\s]+?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!match || match[1] === undefined) continue;
    const file = match[1].replace(/^file:\/\//, '');
    if (!file.startsWith(REPO_ROOT + '/') || file.includes('/node_modules/')) continue;
    const rel = file.slice(REPO_ROOT.length + 1);
    if (!/^(generators|runtime|templates)\//.test(rel)) continue;
    return `${rel}:${match[2]}`;
  }
  return undefined;
}

/** Outcome for a thrown value: a BackdevError is a rejection, anything else a crash. */
function describeFailure(err: unknown): Pick<GenerationOutcome, 'status' | 'error' | 'code' | 'where' | 'stack'> {
  if (isBackdevError(err)) return { status: 'rejected', error: firstLine(err.format()), code: err.code };
  if (err instanceof Error) {
    const stack = err.stack?.split('\n').slice(0, 12).join('\n');
    return {
      status: 'crashed',
      error: firstLine(`${err.name}: ${err.message}`),
      where: repoFrame(err.stack),
      ...(stack === undefined ? {} : { stack }),
    };
  }
  return { status: 'crashed', error: `non-Error thrown: ${firstLine(String(err))}` };
}

let current: number | undefined;

async function handle(id: number, spec: string, out: string): Promise<void> {
  current = id;
  const start = performance.now();
  let outcome: GenerationOutcome;
  try {
    const result = await runCreateApi({ spec, out, force: true }, memoryOutput());
    outcome = {
      status: 'generated',
      ms: performance.now() - start,
      warnings: result.report.warnings.length,
      files: result.report.created.length + result.report.updated.length + result.report.unchanged.length,
    };
  } catch (err) {
    outcome = { ...describeFailure(err), ms: performance.now() - start, warnings: 0 };
  }
  current = undefined;
  send({ type: 'result', id, outcome, rss: process.memoryUsage().rss });
}

// A failure that escapes the task (a stray promise, a throw in a callback) still belongs to the spec in
// hand: report it as that spec's crash, then die so the parent starts a fresh worker.
const escape = (err: unknown) => {
  if (current !== undefined) {
    send({ type: 'result', id: current, outcome: { ...describeFailure(err), ms: 0, warnings: 0 }, rss: process.memoryUsage().rss });
  }
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
};
process.on('uncaughtException', escape);
process.on('unhandledRejection', escape);

process.on('message', (message: ToWorker) => {
  if (message.type === 'task') void handle(message.id, message.spec, message.out);
  else if (message.type === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
