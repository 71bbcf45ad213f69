/**
 * A fake receiver for the outbox tests: node:http on 127.0.0.1. `POST /effects` performs the effect of the
 * event in its body once per `Idempotency-Key` (a key seen before gets the stored answer and no new effect;
 * a key reused for another event is refused with 422, as Stripe does), then drops a share of the responses
 * (destroys the socket without answering). `GET /effects/<key>` tells whether a key's effect happened.
 * The effects ledger counts effects per event id, so a dispatcher that changed keys between attempts shows
 * up as a doubled effect.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceiverStats {
  requests: number;
  /** Requests whose key had been seen: answered from the ledger, no new effect. */
  repeats: number;
  dropped: number;
  lookups: number;
  /** A key sent again with another event id. */
  keyMismatches: number;
  failed: number;
}

export interface Receiver {
  url: string;
  /** Event id → number of effects performed. */
  effects: Map<string, number>;
  stats: ReceiverStats;
  /** `failing`: every POST answers 500 and performs nothing. */
  mode: 'normal' | 'failing';
  /** Share of responses dropped after the effect (0..1). */
  dropRate: number;
  /**
   * Called after a request's effect (or its repeat) and before it is answered, with the `x-life` header:
   * returns true to drop the response (the test kills the sender there).
   */
  afterEffect?: ((life: string | undefined) => boolean) | undefined;
  close(): Promise<void>;
}

export async function startReceiver(options: { random: () => number; dropRate?: number }): Promise<Receiver> {
  const ledger = new Map<string, string>();
  const stats: ReceiverStats = { requests: 0, repeats: 0, dropped: 0, lookups: 0, keyMismatches: 0, failed: 0 };
  const receiver: Receiver = {
    url: '',
    effects: new Map(),
    stats,
    mode: 'normal',
    dropRate: options.dropRate ?? 0,
    close: async () => {},
  };
  const answer = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const lookup = /^\/effects\/(.+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && lookup) {
      stats.lookups++;
      req.resume();
      const eventId = ledger.get(decodeURIComponent(lookup[1]!));
      return eventId ? answer(res, 200, { eventId }) : answer(res, 404, { error: 'no such key' });
    }
    if (req.method !== 'POST' || req.url !== '/effects') {
      req.resume();
      return answer(res, 404, { error: 'not found' });
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      stats.requests++;
      if (receiver.mode === 'failing') {
        stats.failed++;
        return answer(res, 500, { error: 'receiver is down' });
      }
      const key = req.headers['idempotency-key'];
      let eventId: unknown;
      try {
        eventId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { eventId?: unknown }).eventId;
      } catch {
        return answer(res, 400, { error: 'body is not JSON' });
      }
      if (typeof key !== 'string' || key === '' || typeof eventId !== 'string') return answer(res, 400, { error: 'Idempotency-Key and eventId are required' });
      const seen = ledger.get(key);
      if (seen !== undefined && seen !== eventId) {
        stats.keyMismatches++;
        return answer(res, 422, { error: 'idempotency key reused for another event' });
      }
      if (seen === undefined) {
        ledger.set(key, eventId);
        receiver.effects.set(eventId, (receiver.effects.get(eventId) ?? 0) + 1);
      } else {
        stats.repeats++;
      }
      const life = req.headers['x-life'];
      const killed = receiver.afterEffect?.(typeof life === 'string' ? life : undefined) === true;
      if (killed || options.random() < receiver.dropRate) {
        stats.dropped++;
        req.socket.destroy();
        return;
      }
      answer(res, seen === undefined ? 201 : 200, { eventId, replayed: seen !== undefined });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
