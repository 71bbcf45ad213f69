/**
 * Servers under load for the bench scripts: a free port, a child server started and waited for, its CPU time
 * from /proc, and its stop. Shared by the benches that serve something and load it from another process.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';

export { median } from './measure.js';

/** A port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * CPU time (user + system) the process has used so far, in ms: Linux's /proc/<pid>/stat, undefined
 * elsewhere. The clock ticks are taken as 100 Hz (USER_HZ on every mainstream Linux build).
 */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the command name (index 11 and 12).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

export interface ChildServer {
  label: string;
  port: number;
  child: ChildProcess;
  /** The last 64 KiB the server printed (stdout and stderr), for error messages. */
  output(): string;
  /** Lines the server has printed to stdout so far (its log lines, for a pino logger). */
  stdoutLines(): number;
}

/**
 * Starts `command args` (it must listen on `port`) and resolves once `probePath` answers any HTTP status.
 * Start the server's own process (node with `--import tsx`, not tsx's CLI, which adds a parent process),
 * so that its /proc entry is the server's CPU time.
 */
export async function startServer(
  label: string,
  port: number,
  command: string,
  args: readonly string[],
  options: SpawnOptions & { probePath?: string; timeoutMs?: number } = {},
): Promise<ChildServer> {
  let output = '';
  let lines = 0;
  const child = spawn(command, [...args], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 65_536) output = output.slice(-65_536);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    keep(chunk);
  });
  child.stderr!.on('data', keep);
  const server: ChildServer = { label, port, child, output: () => output, stdoutLines: () => lines };
  const deadline = performance.now() + (options.timeoutMs ?? 60_000);
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${label} server exited: ${output}`);
    try {
      await fetch(`http://127.0.0.1:${port}${options.probePath ?? '/'}`);
      return server;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stopServer(server);
  throw new Error(`${label} server did not start within ${options.timeoutMs ?? 60_000} ms: ${output}`);
}

/** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
export async function stopServer(server: ChildServer, graceMs = 10_000): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
