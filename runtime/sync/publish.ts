/**
 * A pull job's changes as messages for a publisher (the broadcast hub in a generated server, or anything with
 * a `publish(topic, data)`), so that clients showing synced data know when to reload it:
 *
 *   - `sync.page`: a page was stored (`{ job, stream, page, rows, deleted, last }`; `deleted` counts the
 *     rows a full pass swept as well);
 *   - `sync.run`: a run ended (`{ job, runId, status, pages, rows, errors }`).
 *
 *   const stop = publishSyncChanges(job, (topic, data) => hub.publish(topic, data));
 *
 * Messages go out one at a time, in the order of the job's events, after the page's transaction committed; a
 * publish that fails goes to `onError` and the next one goes on. The default topic is `sync.<job>`.
 */
import { orderedSender } from '../events.js';
import type { PullJob, PullJobEvents } from './pull.js';

export type SyncChange =
  | { type: 'sync.page'; data: { job: string; stream: string; page: number; rows: number; deleted: number; last: boolean } }
  | { type: 'sync.run'; data: PullJobEvents['run-end'] };

export interface PublishSyncOptions {
  /** Default `sync.<job name>`. */
  topic?: string;
  /** A publish that failed (default: ignored). */
  onError?: (error: unknown, change: SyncChange) => void;
}

/** Publishes the stored pages and ended runs of `job` on `topic`; returns the function that stops it. */
export function publishSyncChanges(job: Pick<PullJob, 'name' | 'on'>, publish: (topic: string, change: SyncChange) => unknown, options: PublishSyncOptions = {}): () => void {
  const topic = options.topic ?? `sync.${job.name}`;
  const sender = orderedSender((change: SyncChange) => publish(topic, change), options.onError);
  const send = sender.push;
  const offs = [
    job.on('page', (e) => send({ type: 'sync.page', data: { job: e.job, stream: e.stream, page: e.page, rows: e.rows, deleted: e.deleted + e.swept, last: e.last } })),
    job.on('run-end', (e) => send({ type: 'sync.run', data: { ...e } })),
  ];
  return () => {
    sender.stop();
    for (const off of offs) off();
  };
}
