/** A count of outcomes over the last `windowMs`, kept in a fixed ring of time buckets (no per-event memory). */
export class SlidingWindow {
  private readonly bucketMs: number;
  private readonly starts: number[];
  private readonly totals: number[];
  private readonly marks: number[];

  constructor(
    readonly windowMs: number,
    private readonly now: () => number,
    buckets = 10,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / buckets));
    this.starts = new Array<number>(buckets).fill(-Infinity);
    this.totals = new Array<number>(buckets).fill(0);
    this.marks = new Array<number>(buckets).fill(0);
  }

  /** Records one event; `marked` is what is counted apart (a failure, a retry). */
  add(marked: boolean, count = 1): void {
    const t = this.now();
    const start = Math.floor(t / this.bucketMs) * this.bucketMs;
    const i = Math.floor(t / this.bucketMs) % this.starts.length;
    if (this.starts[i] !== start) {
      this.starts[i] = start;
      this.totals[i] = 0;
      this.marks[i] = 0;
    }
    this.totals[i]! += count;
    if (marked) this.marks[i]! += count;
  }

  /** Events and marked events within the window. */
  counts(): { total: number; marked: number } {
    const oldest = this.now() - this.windowMs;
    let total = 0;
    let marked = 0;
    for (let i = 0; i < this.starts.length; i++) {
      if (this.starts[i]! + this.bucketMs > oldest) {
        total += this.totals[i]!;
        marked += this.marks[i]!;
      }
    }
    return { total, marked };
  }

  reset(): void {
    this.starts.fill(-Infinity);
    this.totals.fill(0);
    this.marks.fill(0);
  }
}
