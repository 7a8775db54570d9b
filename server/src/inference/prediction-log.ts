import fs from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { OutputValue } from '@plinth/kernel-lib';
import type { ObjectStore } from '../stores/types';
import { literal, OfflineEngine } from '../offline/duckdb';
import type { InferenceMetrics } from './metrics';

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

const COLUMNS =
  "{prediction_id: 'VARCHAR', ts: 'TIMESTAMP', deployment: 'VARCHAR', model: 'VARCHAR', version: 'INTEGER', " +
  "variant: 'VARCHAR', experiment: 'VARCHAR', entity: 'JSON', features: 'JSON', outputs: 'JSON', latency_ms: 'DOUBLE'}";

/**
 * Appends every prediction to Parquet files in the offline store, off the request path: the
 * request only queues a reference; a timer writes batches. It never delays or fails a
 * request, and its memory is bounded: when writes fall behind, new predictions are dropped
 * and counted (`plinth_prediction_log_dropped_total`) rather than queued without limit.
 *
 * Files: `prediction-log/<deployment>/date=YYYY-MM-DD/<time>-<host>-<pid>-<n>.parquet`, one
 * row per prediction (id, time, deployment, model, version, variant, experiment, entity keys
 * and request values, the features the graph was fed, outputs, latency), readable with
 * `read_parquet('.../prediction-log/ctr/*\/*.parquet', hive_partitioning = true)`.
 */
export class PredictionLog {
  private pending: PredictionLogEntry[] = [];
  private pendingRows = 0;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private engine: Promise<OfflineEngine> | undefined;
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
    this.pending.push(e);
    this.pendingRows += n;
    this.metrics.logPending.set(this.pendingRows);
    if (this.pendingRows >= this.flushRows) void this.flush();
    return true;
  }

  /** Writes what is queued now; resolves once it is in the offline store. */
  flush(): Promise<void> {
    if (this.writing) return this.writing.then(() => (this.pending.length ? this.flush() : undefined));
    if (!this.pending.length) return Promise.resolve();
    const batch = this.pending;
    const rows = this.pendingRows;
    this.pending = [];
    this.pendingRows = 0;
    this.metrics.logPending.set(0);
    this.writing = this.write(batch)
      .then(() => this.metrics.logWritten.inc(rows))
      .catch((e: unknown) => {
        this.metrics.logDropped.inc(rows);
        this.log.error({ err: e, rows }, 'prediction log write failed; these predictions are not logged');
      })
      .finally(() => (this.writing = undefined));
    return this.writing;
  }

  /** Writes what is left (graceful shutdown) and releases DuckDB. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    if (this.engine) (await this.engine).close();
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }

  private async write(batch: PredictionLogEntry[]): Promise<void> {
    // One file per deployment and day, so a day's log of a deployment is one directory.
    const groups = new Map<string, PredictionLogEntry[]>();
    for (const e of batch) {
      const key = `${e.deployment}/date=${new Date(e.at).toISOString().slice(0, 10)}`;
      const g = groups.get(key);
      if (g) g.push(e);
      else groups.set(key, [e]);
    }
    this.engine ??= OfflineEngine.create({ threads: 1, memoryLimitBytes: 256 * 2 ** 20 });
    const engine = await this.engine;
    for (const [dir, entries] of groups) {
      const n = this.seq++;
      const json = path.join(this.tmpDir, `${n}.ndjson`);
      const parquet = path.join(this.tmpDir, `${n}.parquet`);
      try {
        await writeRows(json, entries);
        await engine.copyToParquet(`SELECT * FROM read_json(${literal(json)}, columns = ${COLUMNS})`, parquet);
        const stamp = new Date().toISOString().replace(/[-:.]/g, '');
        await this.objects.putFile(
          `${PREDICTION_LOG_PREFIX}/${dir}/${stamp}-${os.hostname()}-${process.pid}-${n}.parquet`,
          parquet,
        );
      } finally {
        fs.rmSync(json, { force: true });
        fs.rmSync(parquet, { force: true });
      }
    }
  }
}

/** Rows written between two yields to the event loop (about a millisecond of work with 50 features). */
const YIELD_ROWS = 64;

/** A JSON value of a feature: numbers as written, NaN (missing) as null. */
function featureJson(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return v === null || v === undefined ? 'null' : JSON.stringify(v);
}

/**
 * Expands the entries into NDJSON rows, streaming to disk so a large batch never sits in one
 * string. Rows are built as text: the features (often 50 per row) are the bulk of the log, and
 * building an object per row only to stringify it cost more than the prediction itself.
 */
async function writeRows(file: string, entries: PredictionLogEntry[]): Promise<void> {
  const out = fs.createWriteStream(file);
  let chunk = '';
  let rows = 0;
  for (const e of entries) {
    const names = Object.keys(e.columns);
    const keys = names.map((n, j) => `${j ? ',' : ''}${JSON.stringify(n)}:`);
    const cols = names.map((n) => e.columns[n]);
    // The same for every row of the entry.
    const common =
      `"ts":${JSON.stringify(new Date(e.at).toISOString())},"deployment":${JSON.stringify(e.deployment)},` +
      `"model":${JSON.stringify(e.model)},"version":${e.version},"variant":"${e.variant}",` +
      `"experiment":${e.experiment === undefined ? 'null' : JSON.stringify(e.experiment)},"latency_ms":${e.latencyMs}`;
    for (let i = 0; i < e.ids.length; i++) {
      let features = '{';
      for (let j = 0; j < cols.length; j++) features += keys[j] + featureJson(cols[j][e.offset + i]);
      chunk +=
        `{"prediction_id":"${e.ids[i]}",${common},"entity":${JSON.stringify(e.instances[i])},` +
        `"features":${features}},"outputs":${JSON.stringify(e.outputs[i])}}\n`;
      if (++rows % YIELD_ROWS === 0) {
        // Give the event loop back: requests are waiting, and this is background work.
        await new Promise((r) => setImmediate(r));
        if (chunk.length > 1 << 20) {
          if (!out.write(chunk)) await once(out, 'drain');
          chunk = '';
        }
      }
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}
