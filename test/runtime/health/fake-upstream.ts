/** Fake upstreams for the health tests: node:http on 127.0.0.1, an ephemeral port, a behaviour set per test. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
  /** Destroy the socket without answering (a connection error for the client). */
  reset?: boolean;
}

export interface Arrival {
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface FakeUpstream {
  url: string;
  arrivals: Arrival[];
  /** Requests other than probes. */
  calls(): number;
  behave(fn: (req: http.IncomingMessage, n: number) => Reply): void;
  close(): Promise<void>;
}

export async function startFake(initial: (req: http.IncomingMessage, n: number) => Reply = () => ({ status: 200 })): Promise<FakeUpstream> {
  let behaviour = initial;
  const arrivals: Arrival[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    arrivals.push({ at: Date.now(), method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    const reply = behaviour(req, n++);
    req.resume();
    const answer = () => {
      if (reply.reset) {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...reply.headers });
      res.end(reply.body ?? 'ok');
    };
    if (reply.delayMs) setTimeout(answer, reply.delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    calls: () => arrivals.filter((a) => !a.path.startsWith('/health')).length,
    behave(fn) {
      behaviour = fn;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `check` holds, polling; fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
