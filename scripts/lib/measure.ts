/**
 * Wall time and peak RSS of a child `node …` process.
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -v -o <file>`, "Maximum resident set size") when it is
 * installed and works; otherwise node is started with a small preload module that writes
 * `process.resourceUsage().maxRSS` to a file on exit (that covers the node process itself, not any
 * grandchildren). `BENCH_RSS=node` forces the preload even where GNU time exists.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { run, type RunResult } from './proc.js';

export type RssMethod = 'gnu-time' | 'node-preload';

export interface Measurement extends RunResult {
  /** Peak resident set size in bytes (undefined when it could not be read). */
  peakRss: number | undefined;
}

export interface Meter {
  method: RssMethod;
  /** Runs `node <args>` and measures it. */
  node(args: readonly string[], options: { cwd: string; timeoutMs?: number }): Promise<Measurement>;
}

const GNU_TIME = '/usr/bin/time';

const PRELOAD = `// Written by scripts/lib/measure.ts: reports this process's peak RSS on exit.
import { writeFileSync } from 'node:fs';
const target = process.env.BENCH_RSS_FILE;
if (target) {
  process.on('exit', () => {
    try { writeFileSync(target, String(process.resourceUsage().maxRSS)); } catch {}
  });
}
`;

async function gnuTimeWorks(scratch: string): Promise<boolean> {
  if (process.env['BENCH_RSS'] === 'node' || !existsSync(GNU_TIME)) return false;
  const out = path.join(scratch, 'gnu-time-probe.txt');
  try {
    const probe = await run(GNU_TIME, ['-v', '-o', out, process.execPath, '-e', ''], { timeoutMs: 30_000 });
    return probe.code === 0 && parseGnuTime(await readFile(out, 'utf8')) !== undefined;
  } catch {
    return false;
  }
}

/** Peak RSS in bytes from `time -v` output. */
export function parseGnuTime(text: string): number | undefined {
  const match = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

/** Picks the best way to read peak RSS on this machine; `scratch` holds its temporary files. */
export async function createMeter(scratch: string): Promise<Meter> {
  await mkdir(scratch, { recursive: true });
  const rssFile = path.join(scratch, 'peak-rss.txt');
  if (await gnuTimeWorks(scratch)) {
    return {
      method: 'gnu-time',
      async node(args, options) {
        await rm(rssFile, { force: true });
        const result = await run(GNU_TIME, ['-v', '-o', rssFile, process.execPath, ...args], options);
        const text = await readFile(rssFile, 'utf8').catch(() => '');
        return { ...result, peakRss: parseGnuTime(text) };
      },
    };
  }
  const preload = path.join(scratch, 'rss-preload.mjs');
  await writeFile(preload, PRELOAD);
  return {
    method: 'node-preload',
    async node(args, options) {
      await rm(rssFile, { force: true });
      const result = await run(process.execPath, ['--import', pathToFileURL(preload).href, ...args], {
        ...options,
        env: { ...process.env, BENCH_RSS_FILE: rssFile },
      });
      const text = await readFile(rssFile, 'utf8').catch(() => '');
      const kib = Number(text.trim());
      return { ...result, peakRss: text.trim() !== '' && Number.isFinite(kib) ? kib * 1024 : undefined };
    },
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
