import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { OutputValue } from '@plinth/kernel-lib';
import type { ObjectStore } from '../stores/types';
import type { InferenceMetrics } from './metrics';
import {
  startWriter,
  type FromWriter,
  type ToWriter,
  type WireColumns,
  type WireEntry,
  type WrittenFile,
} from './prediction-log-writer';

/** Where the prediction log lives in the offline store: one directory per deployment and day. */
export const PREDICTION_LOG_PREFIX = 'prediction-log';

/**
 * The predictions of one request (or one shadow run), as the request path hands them over.
 * Nothing is copied here: rows are expanded from these references only when written.
 */
export interface PredictionLogEntry {
  at: number;
  deployment: string;
  model: string;
  version: number;
  variant: 'primary' | 'canary' | 'shadow';
  experiment?: string;
  latencyMs: number;
  ids: string[];
  /** The instances as sent: entity keys and request-time features. */
  instances: Record<string, unknown>[];
  /** The batch's input columns (what the graph was fed) and where this request's rows start. */
  columns: Record<string, ArrayLike<number> | ArrayLike<string | null>>;
  offset: number;
  outputs: Record<string, OutputValue>[];
}

export interface PredictionLogOptions {
  /** Beyond this many rows waiting, new predictions are dropped and counted (default 100,000). */
  maxPendingRows?: number;
  /** Write as soon as this many rows wait (default 20,000)... */
  flushRows?: number;
  /** ...or at least this often (default 1,000 ms). */
  flushMs?: number;
}

/** How long appended predictions may wait before they are handed to the writer. */
const POST_MS = 20;

/**
 * Appends every prediction to Parquet files in the offline store, off the request path: the
 * request only queues a reference; every few milliseconds the queue is handed to a writer
 * process at the lowest CPU priority (prediction-log-writer.ts) that appends it to DuckDB, and
 * at each flush (a timer, or enough rows) it writes Parquet files that this side puts in the
 * object store. It never delays or fails a request, and its memory is bounded: when writes
 * fall behind, new predictions are dropped and counted (`plinth_prediction_log_dropped_total`)
 * rather than queued without limit.
 *
 * Files: `prediction-log/<deployment>/date=YYYY-MM-DD/<time>-<host>-<pid>-<n>.parquet`, one
 * row per prediction (id, time, deployment, model, version, variant, experiment, entity keys
 * and request values as JSON, the features the graph was fed as a STRUCT with a typed field per
 * input, outputs as JSON, latency), readable with `read_parquet('.../prediction-log/ctr/*\/*.parquet',
 * hive_partitioning = true, union_by_name = true)` (versions with other inputs have other fields).
 */
export class PredictionLog {
  /** Appended, not yet handed to the writer. */
  private queue: PredictionLogEntry[] = [];
  private postTimer: NodeJS.Timeout | undefined;
  /** Appended and not yet in the offline store (or dropped): what the bound applies to. */
  private pendingRows = 0;
  /** Appended since the last flush. */
  private unflushedRows = 0;
  private child: ChildProcess | undefined;
  private readonly waiting = new Map<number, { resolve(f: WrittenFile[]): void; reject(e: Error): void }>();
  private flushes = 0;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private readonly maxPending: number;
  private readonly flushRows: number;
  private readonly tmpDir: string;

  constructor(
    private readonly objects: ObjectStore,
    private readonly metrics: InferenceMetrics,
    private readonly log: Logger,
    opts: PredictionLogOptions = {},
  ) {
    this.maxPending = opts.maxPendingRows ?? 100_000;
    this.flushRows = opts.flushRows ?? 20_000;
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-predlog-'));
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 1000);
    this.timer.unref();
  }

  /** Queues a request's predictions; false (and counted as dropped) when the buffer is full. */
  append(e: PredictionLogEntry): boolean {
    const n = e.ids.length;
    if (this.pendingRows + n > this.maxPending) {
      this.metrics.logDropped.inc(n);
      return false;
    }
    this.queue.push(e);
    this.pendingRows += n;
    this.unflushedRows += n;
    this.metrics.logPending.set(this.pendingRows);
    this.postTimer ??= setTimeout(() => this.post(), POST_MS);
    if (this.unflushedRows >= this.flushRows) void this.flush();
    return true;
  }

  /** Writes what is appended now; resolves once it is in the offline store. */
  flush(): Promise<void> {
    this.post();
    const rows = this.unflushedRows;
    if (!rows) return this.writing;
    this.unflushedRows = 0;
    const seq = ++this.flushes;
    const files = new Promise<WrittenFile[]>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
    this.send({ kind: 'flush', seq });
    this.child?.channel?.ref();
    // One flush at a time converts and uploads, in order.
    this.writing = this.writing.then(async () => {
      let written = 0;
      try {
        for (const f of await files) {
          await this.store(f);
          written += f.rows;
          this.metrics.logWritten.inc(f.rows);
        }
      } catch (e) {
        this.log.error(
          { err: e, rows: rows - written },
          'prediction log write failed; these predictions are not logged',
        );
      } finally {
        if (rows > written) this.metrics.logDropped.inc(rows - written);
        this.pendingRows -= rows;
        this.metrics.logPending.set(this.pendingRows);
      }
    });
    return this.writing;
  }

  /** Writes what is left (graceful shutdown) and stops the writer. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    const w = this.child;
    if (w) {
      this.child = undefined;
      const exited = once(w, 'exit');
      w.disconnect();
      await exited;
    }
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }

  /** Hands the queue to the writer. The columns of a batch go once, whatever number of requests shared it. */
  private post(): void {
    clearTimeout(this.postTimer);
    this.postTimer = undefined;
    if (!this.queue.length) return;
    const sets = new Map<object, number>();
    const columns: WireColumns[] = [];
    const entries = this.queue.map((e): WireEntry => {
      let batch = sets.get(e.columns);
      if (batch === undefined) {
        batch = columns.push(packColumns(e.columns)) - 1;
        sets.set(e.columns, batch);
      }
      return {
        at: e.at,
        deployment: e.deployment,
        model: e.model,
        version: e.version,
        variant: e.variant,
        experiment: e.experiment ?? null,
        latencyMs: e.latencyMs,
        ids: e.ids,
        instances: e.instances,
        outputs: e.outputs,
        batch,
        offset: e.offset,
      };
    });
    this.queue = [];
    this.send({ kind: 'rows', columns, entries });
  }

  /** Sends to the writer, started on first use and again after a failure; what a dead one misses is counted as dropped at the flush. */
  private send(m: ToWriter): void {
    this.writer().send(m, (e) => {
      if (e) this.log.warn({ err: e }, 'prediction log writer unreachable');
    });
  }

  private writer(): ChildProcess {
    if (this.child) return this.child;
    const w = startWriter(this.tmpDir);
    // Only a flush being awaited keeps this process alive for the writer.
    w.unref();
    w.channel?.unref();
    w.on('message', (m: FromWriter) => {
      if (m.kind === 'flushed') {
        this.waiting.get(m.seq)?.resolve(m.files);
        this.waiting.delete(m.seq);
      } else {
        this.log.error({ detail: m.message }, 'prediction log writer failed');
        if (m.seq !== null) this.waiting.get(m.seq)?.reject(new Error(m.message));
        this.waiting.delete(m.seq ?? -1);
      }
      if (!this.waiting.size) w.channel?.unref();
    });
    const fail = (e: Error) => {
      if (this.child !== w) return;
      this.child = undefined;
      for (const p of this.waiting.values()) p.reject(e);
      this.waiting.clear();
    };
    w.on('error', (e) => fail(e));
    w.on('exit', (code, signal) => fail(new Error(`the prediction log writer exited (${signal ?? code})`)));
    this.child = w;
    return w;
  }

  /** One Parquet file of the writer to the offline store. */
  private async store(f: WrittenFile): Promise<void> {
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    try {
      await this.objects.putFile(
        `${PREDICTION_LOG_PREFIX}/${f.dir}/${stamp}-${os.hostname()}-${process.pid}-${this.seq++}.parquet`,
        f.file,
      );
    } finally {
      fs.rmSync(f.file, { force: true });
    }
  }
}

/** A batch's columns for the writer: numeric ones copied into one buffer. */
function packColumns(cols: PredictionLogEntry['columns']): WireColumns {
  const names = Object.keys(cols);
  const numeric = names.map((name) => ArrayBuffer.isView(cols[name]));
  const n = names.length ? cols[names[0]].length : 0;
  const numbers = new Float64Array(n * numeric.filter(Boolean).length);
  const strings: WireColumns['strings'] = {};
  let k = 0;
  names.forEach((name, j) => {
    if (numeric[j]) numbers.set(cols[name] as ArrayLike<number>, k++ * n);
    else strings[name] = cols[name] as ArrayLike<string | null>;
  });
  return { n, names, numeric, numbers, strings };
}
