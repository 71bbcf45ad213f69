/**
 * A stream's checkpoint: where its current pass is and what the last finished pass reached. Its size does
 * not grow with the data (a watermark, one page position, counters), and it is refused above 4 KB, so a
 * pagination adapter that hands out huge cursors fails loudly instead of bloating every page's write.
 */
import type { PageCursor } from './pagination.js';

export type WatermarkValue = string | number;

export interface PassState {
  /** A full pass (no lower bound): it ends with the sweep when the stream reconciles. */
  full: boolean;
  /** The lower bound this pass asked for (watermark minus overlap). */
  since?: WatermarkValue;
  /** Position of the next page to fetch. */
  cursor?: PageCursor;
  /** The highest incremental value seen so far in this pass. */
  high?: WatermarkValue;
  /** Pages stored in this pass. */
  pages: number;
}

export interface Checkpoint {
  v: 1;
  /** Generation of the latest pass begun (rows it stored carry it in the reconcile column). */
  g: number;
  /** Watermark: the highest incremental value of the last finished pass. */
  w?: WatermarkValue;
  /** The pass in progress; absent between passes. */
  pass?: PassState;
  /** When the last pass finished (ISO). */
  done?: string;
}

export const MAX_CHECKPOINT_BYTES = 4096;

export class CheckpointTooLargeError extends Error {
  constructor(
    readonly stream: string,
    readonly bytes: number,
  ) {
    super(`sync stream ${stream}: checkpoint of ${bytes} bytes exceeds ${MAX_CHECKPOINT_BYTES}; the pagination position is too large (a next link or cursor over ~3.5 KB)`);
    this.name = 'CheckpointTooLargeError';
  }
}

export function initialCheckpoint(): Checkpoint {
  return { v: 1, g: 0 };
}

/** Reads a stored checkpoint; anything unreadable starts over (a full pass, which duplicates nothing). */
export function readCheckpoint(value: unknown): Checkpoint {
  const parsed = typeof value === 'string' ? safeParse(value) : value;
  if (parsed && typeof parsed === 'object' && (parsed as Checkpoint).v === 1 && typeof (parsed as Checkpoint).g === 'number') return parsed as Checkpoint;
  return initialCheckpoint();
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The checkpoint as stored (JSON text), checked against the size limit. */
export function encodeCheckpoint(stream: string, checkpoint: Checkpoint): string {
  const text = JSON.stringify(checkpoint);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CHECKPOINT_BYTES) throw new CheckpointTooLargeError(stream, bytes);
  return text;
}

/** The larger of two watermark values (numbers, or strings compared as ISO timestamps/text). */
export function maxValue(a: WatermarkValue | undefined, b: WatermarkValue | undefined): WatermarkValue | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b > a ? b : a;
}

/** `value` moved back by `overlap`: milliseconds for ISO timestamps, units for numbers. */
export function minusOverlap(value: WatermarkValue, overlap: number): WatermarkValue {
  if (overlap <= 0) return value;
  if (typeof value === 'number') return value - overlap;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return value;
  return new Date(ms - overlap).toISOString();
}
