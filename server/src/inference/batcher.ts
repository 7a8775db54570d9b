import { problem, ProblemError } from '@plinth/schema';
import type { Instance, Scored } from './score';

export interface BatchOptions {
  /** Most instances scored in one onnxruntime run (default 256). A larger request runs alone. */
  maxBatch?: number;
  /**
   * How long the first queued request waits for company (default 0: requests that arrived
   * while the previous run blocked the event loop are batched, and nothing waits on purpose).
   */
  maxWaitMs?: number;
  /** Batches in flight at once: one reads online features while another runs (default 2). */
  maxInFlight?: number;
  /** Beyond this many queued instances, new requests are refused with a 503 (default 16 x maxBatch). */
  maxQueued?: number;
}

/**
 * A request's share of a batch: `outputs` are its own; `statuses` and `columns` are the batch's,
 * of which its rows are `offset .. offset + n` (copying them per request cost more than scoring).
 */
export interface BatchSlice extends Scored {
  offset: number;
}

interface Pending {
  instances: Instance[];
  resolve(s: BatchSlice): void;
  reject(e: unknown): void;
}

/**
 * Per-model micro-batching (Triton's dynamic batcher, sized for Node): concurrent requests
 * are scored together in one online read and one onnxruntime run, since a run's fixed cost
 * dominates small graphs. onnxruntime blocks the event loop while it runs, so requests that
 * arrive meanwhile queue up and form the next batch by themselves.
 */
export class MicroBatcher {
  private queue: Pending[] = [];
  private queued = 0;
  private inFlight = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;

  constructor(
    private readonly score: (instances: Instance[]) => Promise<Scored>,
    private readonly onBatch: (size: number) => void,
    opts: BatchOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 256;
    this.maxWaitMs = opts.maxWaitMs ?? 0;
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.maxQueued = opts.maxQueued ?? 16 * this.maxBatch;
  }

  /** Scores a request's instances in the next batch. */
  submit(instances: Instance[]): Promise<BatchSlice> {
    if (this.queued + instances.length > this.maxQueued && this.queued > 0)
      return Promise.reject(
        new ProblemError(
          problem(503, 'Overloaded', `more than ${this.maxQueued} instances are waiting for this model`),
        ),
      );
    return new Promise<BatchSlice>((resolve, reject) => {
      this.queue.push({ instances, resolve, reject });
      this.queued += instances.length;
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running (graceful shutdown). */
  drained(): Promise<void> {
    if (!this.queue.length && !this.inFlight) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || !this.queue.length) return;
    if (this.queued >= this.maxBatch) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    } else if (!this.timer) {
      const go = () => {
        this.timer = undefined;
        this.flush();
      };
      // setImmediate runs after the pending I/O of this turn: everything that arrived while a run blocked.
      if (this.maxWaitMs > 0) this.timer = setTimeout(go, this.maxWaitMs);
      else {
        this.scheduled = true;
        setImmediate(go);
      }
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.queue.length || this.inFlight >= this.maxInFlight) return;
    const jobs: Pending[] = [];
    let rows = 0;
    while (this.queue.length && (jobs.length === 0 || rows + this.queue[0].instances.length <= this.maxBatch)) {
      const j = this.queue.shift() as Pending;
      jobs.push(j);
      rows += j.instances.length;
    }
    this.queued -= rows;
    this.inFlight++;
    void this.run(jobs, rows).finally(() => {
      this.inFlight--;
      this.schedule();
      if (!this.queue.length && !this.inFlight) for (const r of this.idle.splice(0)) r();
    });
  }

  private async run(jobs: Pending[], rows: number): Promise<void> {
    const instances = jobs.length === 1 ? jobs[0].instances : jobs.flatMap((j) => j.instances);
    try {
      const scored = await this.score(instances);
      this.onBatch(rows);
      let offset = 0;
      for (const j of jobs) {
        const n = j.instances.length;
        j.resolve({
          outputs: scored.outputs.slice(offset, offset + n),
          statuses: scored.statuses,
          columns: scored.columns,
          offset,
        });
        offset += n;
      }
    } catch (e) {
      // One bad request must not fail the requests batched with it, and its errors must point
      // into its own body: score each request alone.
      if (jobs.length > 1 && e instanceof ProblemError && e.problem.status < 500) {
        for (const j of jobs) {
          await this.score(j.instances).then(
            (s) => {
              this.onBatch(j.instances.length);
              j.resolve({ ...s, offset: 0 });
            },
            (err: unknown) => j.reject(err),
          );
        }
      } else for (const j of jobs) j.reject(e);
    }
  }
}
