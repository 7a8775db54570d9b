import { Worker } from 'node:worker_threads';
import type { OutputValue } from '@plinth/kernel-lib';

/**
 * The prediction log's writer thread: it turns predictions into NDJSON rows, one file per
 * deployment and day, so that the serving event loop only hands over references. Formatting
 * 50 features per row as text was a sixth of a serving process's time and put tens of
 * milliseconds of stalls into the request latencies.
 */

/** One request's predictions on their way to the writer; `batch` indexes the message's column sets. */
export interface WireEntry {
  at: number;
  deployment: string;
  model: string;
  version: number;
  variant: string;
  experiment: string | null;
  latencyMs: number;
  ids: string[];
  instances: Record<string, unknown>[];
  outputs: Record<string, OutputValue>[];
  batch: number;
  offset: number;
}

export type WireColumns = Record<string, ArrayLike<number> | ArrayLike<string | null>>;

export type ToWriter =
  | { kind: 'rows'; columns: WireColumns[]; entries: WireEntry[] }
  /** Close the files written so far and answer with them. */
  | { kind: 'flush'; seq: number };

/** An NDJSON file of `rows` predictions of one deployment and day (`dir` = `<deployment>/date=<day>`). */
export interface WrittenFile {
  dir: string;
  file: string;
  rows: number;
}

export type FromWriter =
  { kind: 'flushed'; seq: number; files: WrittenFile[] } | { kind: 'failed'; seq: number | null; message: string };

/**
 * The thread's program. It runs from its source text (`toString`) in a worker started with
 * `eval`, so it must not use anything from this module's scope.
 */
function writerProgram(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const tmpDir = (workerData as { tmpDir: string }).tmpDir;
  let files = new Map<string, { fd: number; file: string; rows: number }>();
  let n = 0;
  // A feature's JSON: numbers as written, NaN (missing) as null.
  const value = (v: unknown): string =>
    typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : v == null ? 'null' : JSON.stringify(v);

  const write = (m: Extract<ToWriter, { kind: 'rows' }>): void => {
    const text = new Map<string, { chunk: string; rows: number }>();
    for (const e of m.entries) {
      const dir = `${e.deployment}/date=${new Date(e.at).toISOString().slice(0, 10)}`;
      const cols = m.columns[e.batch];
      const names = Object.keys(cols);
      const keys = names.map((c, j) => `${j ? ',' : ''}${JSON.stringify(c)}:`);
      const arrays = names.map((c) => cols[c]);
      // The same for every row of the entry.
      const common =
        `"ts":${JSON.stringify(new Date(e.at).toISOString())},"deployment":${JSON.stringify(e.deployment)},` +
        `"model":${JSON.stringify(e.model)},"version":${e.version},"variant":${JSON.stringify(e.variant)},` +
        `"experiment":${JSON.stringify(e.experiment)},"latency_ms":${e.latencyMs}`;
      let chunk = '';
      for (let i = 0; i < e.ids.length; i++) {
        let features = '{';
        for (let j = 0; j < arrays.length; j++) features += keys[j] + value(arrays[j][e.offset + i]);
        chunk +=
          `{"prediction_id":${JSON.stringify(e.ids[i])},${common},"entity":${JSON.stringify(e.instances[i])},` +
          `"features":${features}},"outputs":${JSON.stringify(e.outputs[i])}}\n`;
      }
      const t = text.get(dir);
      if (t) {
        t.chunk += chunk;
        t.rows += e.ids.length;
      } else text.set(dir, { chunk, rows: e.ids.length });
    }
    for (const [dir, t] of text) {
      let f = files.get(dir);
      if (!f) {
        const file = path.join(tmpDir, `${n++}.ndjson`);
        f = { fd: fs.openSync(file, 'w'), file, rows: 0 };
        files.set(dir, f);
      }
      fs.writeSync(f.fd, t.chunk);
      f.rows += t.rows;
    }
  };

  parentPort!.on('message', (m: ToWriter) => {
    try {
      if (m.kind === 'rows') write(m);
      else {
        const done = [...files].map(([dir, f]) => (fs.closeSync(f.fd), { dir, file: f.file, rows: f.rows }));
        files = new Map();
        parentPort!.postMessage({ kind: 'flushed', seq: m.seq, files: done } satisfies FromWriter);
      }
    } catch (e) {
      const seq = m.kind === 'flush' ? m.seq : null;
      parentPort!.postMessage({ kind: 'failed', seq, message: String((e as Error).stack ?? e) } satisfies FromWriter);
    }
  });
}

/** Starts a writer thread that puts its NDJSON files in `tmpDir`. */
export function startWriter(tmpDir: string): Worker {
  const source = writerProgram.toString();
  // A reference to module scope would only fail inside the thread: refuse it here.
  if (/\bexports\b|\b\w+_1\.|__vite/.test(source))
    throw new Error('the prediction log writer is not self-contained; a worker thread cannot run it');
  return new Worker(`(${source})()`, { eval: true, workerData: { tmpDir } });
}
