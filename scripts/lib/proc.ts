/** Running child processes and collecting what they print, with an optional time limit. */
import { spawn, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL, whole process group) after this many milliseconds. */
  timeoutMs?: number;
  /** Keep at most this many characters of each stream (the end is kept); default 4 MiB. */
  maxOutput?: number;
}

/** Runs `command args` without a shell; never rejects for a non-zero exit, only when it cannot start. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const maxOutput = options.maxOutput ?? 4 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    };
    const start = performance.now();
    const child = spawn(command, [...args], spawnOptions);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const keep = (acc: string, chunk: Buffer) => {
      const next = acc + chunk.toString('utf8');
      return next.length > maxOutput ? next.slice(next.length - maxOutput) : next;
    };
    child.stdout?.on('data', (c: Buffer) => (stdout = keep(stdout, c)));
    child.stderr?.on('data', (c: Buffer) => (stderr = keep(stderr, c)));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            killGroup(child.pid);
          }, options.timeoutMs);
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      const ms = performance.now() - start;
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms, timedOut });
    });
  });
}

/** SIGKILLs the process group a `detached` child leads (falls back to the child alone). */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** `code 1` / `signal SIGKILL` for messages. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `code ${code ?? '?'}`;
}
