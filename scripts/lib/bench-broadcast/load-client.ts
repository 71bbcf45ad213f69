/**
 * A load-client process of `npm run bench:broadcast` (forked, driven over IPC): holds its share of the
 * WebSocket clients of each server kind, counts the messages they receive during a measurement window and
 * samples the latency (the publish timestamp in the payload against the receive time, both wall clock).
 * The hub's clients subscribe with `batch: true`, as the client helper does: each message of a batch frame
 * counts as one delivery, with its own latency, exactly as if it had come in its own frame.
 *
 *   parent → { cmd: 'connect', kind, url, count, topic }   reply { cmd: 'connected', kind }
 *   parent → { cmd: 'measure', kind }                       (resets the counters of that kind)
 *   parent → { cmd: 'report', kind }                        reply { cmd: 'report', kind, received, frames, gaps, latencies }
 *   parent → { cmd: 'disconnect' }                          reply { cmd: 'disconnected' }
 */
import WebSocket from 'ws';
import { io as ioClient, type Socket } from 'socket.io-client';

export type ServerKind = 'hub' | 'naive' | 'socketio';

export type ToClient =
  | { cmd: 'connect'; kind: ServerKind; url: string; count: number; topic: string }
  | { cmd: 'measure'; kind: ServerKind }
  | { cmd: 'report'; kind: ServerKind }
  | { cmd: 'disconnect' };

export type FromClient =
  | { cmd: 'connected'; kind: ServerKind }
  | { cmd: 'report'; kind: ServerKind; received: number; frames: number; gaps: number; latencies: number[]; cpuMs: number }
  | { cmd: 'disconnected' }
  | { cmd: 'error'; message: string };

/** Wall clock in ms with sub-millisecond precision, comparable across processes. */
export const wallNow = () => performance.timeOrigin + performance.now();

/** At most this many latency samples per kind and process (reservoir sampling). */
const MAX_SAMPLES = 20_000;

interface Counter {
  measuring: boolean;
  received: number;
  /** WebSocket frames that carried messages (a batch frame counts once). */
  frames: number;
  gaps: number;
  seen: number;
  samples: number[];
  cpu: NodeJS.CpuUsage;
}

const counters = new Map<ServerKind, Counter>();
const sockets: Array<{ close(): void }> = [];

function counter(kind: ServerKind): Counter {
  let c = counters.get(kind);
  if (!c) counters.set(kind, (c = { measuring: false, received: 0, frames: 0, gaps: 0, seen: 0, samples: [], cpu: process.cpuUsage() }));
  return c;
}

function record(c: Counter, sentAt: number): void {
  if (!c.measuring) return;
  c.received++;
  const latency = wallNow() - sentAt;
  c.seen++;
  if (c.samples.length < MAX_SAMPLES) c.samples.push(latency);
  else {
    const j = Math.floor(Math.random() * c.seen);
    if (j < MAX_SAMPLES) c.samples[j] = latency;
  }
}

/** Opens `count` connections, a few hundred at a time. */
async function connectAll(count: number, open: () => Promise<void>): Promise<void> {
  let left = count;
  while (left > 0) {
    const batch = Math.min(left, 200);
    left -= batch;
    await Promise.all(Array.from({ length: batch }, open));
  }
}

function openWs(kind: 'hub' | 'naive', url: string, topic: string): Promise<void> {
  const c = counter(kind);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push({ close: () => ws.terminate() });
    ws.on('error', reject);
    ws.on('open', () => {
      if (kind === 'naive') resolve();
      else ws.send(JSON.stringify({ type: 'subscribe', topic, batch: true }));
    });
    ws.on('message', (raw) => {
      const frame = JSON.parse(String(raw)) as { type: string; data?: { t: number }; messages?: Array<{ data: { t: number } }>; t?: number; epoch?: string; offset?: number };
      if (kind === 'naive') {
        if (c.measuring) c.frames++;
        return record(c, frame.t!);
      }
      if (frame.type === 'message' || frame.type === 'batch') {
        if (c.measuring) c.frames++;
        if (frame.type === 'message') record(c, frame.data!.t);
        else for (const m of frame.messages!) record(c, m.data.t);
      }
      else if (frame.type === 'ack') resolve();
      else if (frame.type === 'gap') {
        // As a real client does: resume from the position in the gap (backpressure) .
        c.gaps++;
        ws.send(JSON.stringify({ type: 'subscribe', topic, batch: true, epoch: frame.epoch, offset: frame.offset }));
      }
    });
  });
}

function openSocketIo(url: string): Promise<void> {
  const c = counter('socketio');
  return new Promise((resolve, reject) => {
    const socket: Socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push({ close: () => socket.disconnect() });
    socket.on('connect_error', reject);
    socket.on('connect', () => resolve());
    socket.on('m', (payload: { t: number }) => {
      if (c.measuring) c.frames++;
      record(c, payload.t);
    });
  });
}

function send(message: FromClient): void {
  process.send?.(message);
}

process.on('message', (message: ToClient) => {
  void (async () => {
    try {
      switch (message.cmd) {
        case 'connect':
          await connectAll(message.count, () => (message.kind === 'socketio' ? openSocketIo(message.url) : openWs(message.kind, message.url, message.topic)));
          return send({ cmd: 'connected', kind: message.kind });
        case 'measure': {
          const c = counter(message.kind);
          Object.assign(c, { measuring: true, received: 0, frames: 0, gaps: 0, seen: 0, samples: [], cpu: process.cpuUsage() });
          return;
        }
        case 'report': {
          const c = counter(message.kind);
          c.measuring = false;
          const cpu = process.cpuUsage(c.cpu);
          return send({ cmd: 'report', kind: message.kind, received: c.received, frames: c.frames, gaps: c.gaps, latencies: c.samples, cpuMs: (cpu.user + cpu.system) / 1000 });
        }
        case 'disconnect':
          for (const s of sockets.splice(0)) s.close();
          return send({ cmd: 'disconnected' });
      }
    } catch (error) {
      send({ cmd: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
