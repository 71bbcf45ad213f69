/**
 * Runs create-api over many specs in a few forked worker processes (`corpus-worker.ts`). Each worker takes
 * one spec at a time from a shared queue; a spec that takes longer than the time limit gets its worker
 * killed (and counts as crashed), and a worker is replaced after `recycleAfter` specs or once its RSS
 * passes `maxRssMb`, so memory stays bounded however long the run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GenerationOutcome, ToParent, ToWorker } from './corpus-protocol.js';
import { REPO_ROOT, formatDuration } from './paths.js';
import { describeExit } from './proc.js';

export interface GenerationTask {
  id: number;
  spec: string;
  out: string;
}

export interface PoolOptions {
  jobs: number;
  /** Per-spec time limit. */
  timeoutMs: number;
  /** Replace a worker after this many specs. */
  recycleAfter: number;
  /** Replace a worker whose RSS has grown past this (MiB). */
  maxRssMb: number;
  /** V8 heap limit of each worker (MiB). */
  heapMb: number;
}

const WORKER = fileURLToPath(new URL('./corpus-worker.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
const STDERR_TAIL = 8192;

class Worker {
  readonly child: ChildProcess;
  handled = 0;
  rss = 0;
  dead = false;
  /** SIGKILL sent (the exit event may not have arrived yet): no more tasks for this worker. */
  killed = false;
  private stderrTail = '';
  private readonly exited: Promise<void>;
  private exitInfo = '';

  constructor(heapMb: number) {
    this.child = fork(WORKER, [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', TSX_LOADER, `--max-old-space-size=${heapMb}`],
      silent: true,
      serialization: 'json',
    });
    this.child.stdout?.resume();
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.dead = true;
        this.exitInfo = describeExit(code, signal);
        resolve();
      });
    });
  }

  /** Waits for the worker to have loaded the generator. */
  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`corpus worker did not start within ${formatDuration(timeoutMs)}`)), timeoutMs);
      const onMessage = (m: ToParent) => {
        if (m.type !== 'ready') return;
        cleanup();
        resolve();
      };
      const onExit = () => fail(new Error(`corpus worker exited while starting (${this.exitInfo}): ${this.lastError()}`));
      const fail = (err: Error) => {
        cleanup();
        this.kill();
        reject(err);
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }

  /** Runs one spec; always resolves (a timeout or a dead worker is a crash of that spec). */
  run(task: GenerationTask, timeoutMs: number): Promise<GenerationOutcome> {
    this.handled++;
    const start = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: GenerationOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        resolve(outcome);
      };
      const onMessage = (m: ToParent) => {
        if (m.type === 'result' && m.id === task.id) {
          this.rss = m.rss;
          finish(m.outcome);
        }
      };
      const onExit = () => {
        // Give the stderr pipe a moment to deliver the worker's last words (e.g. V8's out-of-memory report).
        setTimeout(
          () =>
            finish({
              status: 'crashed',
              ms: performance.now() - start,
              warnings: 0,
              error: `worker died (${this.exitInfo}): ${this.lastError()}`,
            }),
          50,
        );
      };
      const timer = setTimeout(() => {
        this.kill();
        finish({ status: 'crashed', ms: performance.now() - start, warnings: 0, error: `timeout: no result after ${formatDuration(timeoutMs)}` });
      }, timeoutMs);
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send({ type: 'task', id: task.id, spec: task.spec, out: task.out } satisfies ToWorker);
    });
  }

  /** The most telling line of what the worker printed to stderr. */
  lastError(): string {
    const lines = this.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean);
    return lines.find((l) => /FATAL ERROR|out of memory/i.test(l)) ?? lines.at(-1) ?? '(nothing on stderr)';
  }

  kill(): void {
    if (this.dead || this.killed) return;
    this.killed = true;
    this.child.kill('SIGKILL');
  }

  async close(): Promise<void> {
    if (this.dead) return;
    if (this.killed) return this.exited;
    if (this.child.connected) this.child.send({ type: 'exit' } satisfies ToWorker);
    const timer = setTimeout(() => this.kill(), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Generates every task, `jobs` at a time; `onResult` is called as each finishes. */
export async function generateAll(
  tasks: readonly GenerationTask[],
  options: PoolOptions,
  onResult: (task: GenerationTask, outcome: GenerationOutcome) => void,
): Promise<void> {
  const queue = [...tasks];
  const maxRss = options.maxRssMb * 1024 * 1024;
  const slot = async () => {
    let worker: Worker | undefined;
    try {
      for (let task = queue.shift(); task !== undefined; task = queue.shift()) {
        if (worker && (worker.dead || worker.killed || worker.handled >= options.recycleAfter || worker.rss > maxRss)) {
          await worker.close();
          worker = undefined;
        }
        if (!worker) {
          worker = new Worker(options.heapMb);
          await worker.ready(120_000);
        }
        const outcome = await worker.run(task, options.timeoutMs);
        onResult(task, outcome);
      }
    } finally {
      await worker?.close();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, slot));
}
