/** Pieces of `npm run demo` (scripts/demo.ts) that are worth testing on their own: the port and the child environment. */
import { createServer } from 'node:net';

/**
 * The port the demo server listens on. With `PORT` set, that port, and a clear error when something else
 * already listens there (the demo would otherwise talk to it); without, a free port the system picks.
 */
export async function choosePort(requested: string | undefined, host = '127.0.0.1'): Promise<number> {
  if (requested === undefined || requested === '') return listenOnce(0, host);
  const port = Number(requested);
  if (!/^\d+$/.test(requested) || port < 1 || port > 65535) {
    throw new Error(`PORT=${JSON.stringify(requested)} is not a port number (1-65535); unset PORT to use a free port`);
  }
  try {
    return await listenOnce(port, host);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${port} (PORT) on ${host} is in use by another program; stop it, choose another PORT, or unset PORT to use a free port`);
    }
    throw err;
  }
}

/** Listens on `port` (0: any free one), closes, and resolves with the port that was bound. */
function listenOnce(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * The environment of the demo's child commands (npm, tsc, vitest). When the demo's output is not a
 * terminal (piped, or in a log), they print no colours: NO_COLOR is set and FORCE_COLOR removed (vitest
 * reads any FORCE_COLOR, even "0", as "force colours on").
 */
export function childEnv(env: NodeJS.ProcessEnv, isTTY: boolean): NodeJS.ProcessEnv {
  if (isTTY) return { ...env };
  const out: NodeJS.ProcessEnv = { ...env, NO_COLOR: '1' };
  delete out.FORCE_COLOR;
  return out;
}
