import { spawn, type ChildProcess } from 'node:child_process';
import type { OutputValue } from '@plinth/kernel-lib';

/**
 * The prediction log's writer: a separate process at the lowest CPU priority that appends
 * predictions to DuckDB tables through typed data chunks (the features stay binary) and turns
 * them into Parquet, so that the serving event loop only hands over references. A thread was
 * not enough on two cores: its work (and DuckDB's) took the CPU from the serving threads just
 * the same. Formatting 50 features per row as JSON text cost
 * about 45 µs a row, more than scoring it, and put tens of milliseconds of stalls into the
 * request latencies when it ran on the event loop.
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

/**
 * A batch's input columns on their way to the writer: the numeric ones packed into one
 * buffer (column after column, `n` rows each), which is copied in one piece.
 */
export interface WireColumns {
  n: number;
  /** Every input, in the pipeline's order, and whether it is numeric. */
  names: string[];
  numeric: boolean[];
  /** The numeric inputs' values: input k (counting numeric inputs only) at `k * n .. (k + 1) * n`. */
  numbers: Float64Array;
  /** The text inputs' values, by name. */
  strings: Record<string, ArrayLike<string | null>>;
}

export type ToWriter =
  | { kind: 'rows'; columns: WireColumns[]; entries: WireEntry[] }
  /** Close the files written so far and answer with them. */
  | { kind: 'flush'; seq: number };

/** A Parquet file of `rows` predictions of one deployment and day (`dir` = `<deployment>/date=<day>`). */
export interface WrittenFile {
  dir: string;
  file: string;
  rows: number;
}

export type FromWriter =
  { kind: 'flushed'; seq: number; files: WrittenFile[] } | { kind: 'failed'; seq: number | null; message: string };

/**
 * The writer's program. It runs from its source text (`toString`) in a `node -e` process, so
 * it must not use anything from this module's scope.
 */
function writerProgram(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const os = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');
  const { tmpDir, duckdb } = JSON.parse(process.argv[1]) as { tmpDir: string; duckdb: string };
  // The lowest CPU priority, before any other thread starts (they inherit it): the log takes
  // what the serving processes leave, and falls behind (then drops, counted) rather than slow them.
  os.setPriority(19);
  const send = (m: FromWriter) => process.send!(m);
  // The serving process is gone (or closed the log): nothing more will come.
  process.on('disconnect', () => process.exit(0));
  const api = require(duckdb) as typeof import('@duckdb/node-api');
  /* eslint-enable @typescript-eslint/no-require-imports */
  /** What is used of a DuckDB vector here: set an item, then copy the items into the chunk. */
  type Vector = { setItem(i: number, v: unknown): void; flush(): void };
  interface Group {
    dir: string;
    table: string;
    /** Constant over the group: deployment, model, version, variant, experiment. */
    entry: WireEntry;
    names: string[];
    numeric: boolean[];
    types: import('@duckdb/node-api').DuckDBType[];
    appender: InstanceType<typeof api.DuckDBAppender>;
    chunk: InstanceType<typeof api.DuckDBDataChunk> | null;
    vectors: Vector[];
    row: number;
    rows: number;
  }
  // Prediction id, time, entity, outputs, latency; then the inputs. The rest is constant per table.
  const FIXED = 'prediction_id VARCHAR, ts_ms DOUBLE, entity VARCHAR, outputs VARCHAR, latency_ms DOUBLE';
  const FIXED_COUNT = 5;
  // DuckDB's vector size: the most rows a data chunk holds.
  const CHUNK = 2048;
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  let conn: Promise<InstanceType<typeof api.DuckDBConnection>> | undefined;
  let groups = new Map<string, Group>();
  // The inputs of a batch's columns, shared by its requests: worked out once.
  const signatures = new WeakMap<WireColumns, string>();
  let n = 0;

  const connection = () =>
    (conn ??= api.DuckDBInstance.create(':memory:', {
      threads: '1',
      memory_limit: '256MiB',
      temp_directory: path.join(tmpDir, 'spill'),
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    }).then((db) => db.connect()));

  const group = async (e: WireEntry, cols: WireColumns): Promise<Group> => {
    const dir = `${e.deployment}/date=${new Date(e.at).toISOString().slice(0, 10)}`;
    // Versions with other inputs (a canary, a shadow) get their own table and file.
    let inputs = signatures.get(cols);
    if (inputs === undefined) signatures.set(cols, (inputs = JSON.stringify([cols.names, cols.numeric])));
    const key = JSON.stringify([dir, e.model, e.version, e.variant, e.experiment]) + inputs;
    let g = groups.get(key);
    if (g) return g;
    const c = await connection();
    const table = `log_${n++}`;
    const columns = cols.names.map((_, j) => `, c${j} ${cols.numeric[j] ? 'DOUBLE' : 'VARCHAR'}`).join('');
    await c.run(`CREATE TABLE ${table} (${FIXED}${columns})`);
    const { VARCHAR, DOUBLE } = api;
    const types: Group['types'] = [VARCHAR, DOUBLE, VARCHAR, VARCHAR, DOUBLE];
    for (const num of cols.numeric) types.push(num ? DOUBLE : VARCHAR);
    const appender = await c.createAppender(table);
    g = {
      dir,
      table,
      entry: e,
      names: cols.names,
      numeric: cols.numeric,
      types,
      appender,
      chunk: null,
      vectors: [],
      row: 0,
      rows: 0,
    };
    groups.set(key, g);
    return g;
  };

  // A full (or, at a flush, partial) chunk goes to the table.
  const appendChunk = (g: Group): void => {
    if (!g.chunk || g.row === 0) return;
    g.chunk.rowCount = g.row;
    for (const v of g.vectors) v.flush();
    g.appender.appendDataChunk(g.chunk);
    g.chunk = null;
    g.row = 0;
  };

  const write = async (m: Extract<ToWriter, { kind: 'rows' }>): Promise<void> => {
    for (const e of m.entries) {
      const cols = m.columns[e.batch];
      const g = await group(e, cols);
      // Where each input's values start in its array.
      const arrays: ArrayLike<number | string | null>[] = [];
      const starts: number[] = [];
      let k = 0;
      for (let j = 0; j < cols.names.length; j++) {
        if (cols.numeric[j]) {
          arrays.push(cols.numbers);
          starts.push(k++ * cols.n + e.offset);
        } else {
          arrays.push(cols.strings[cols.names[j]]);
          starts.push(e.offset);
        }
      }
      for (let i = 0; i < e.ids.length; i++) {
        if (!g.chunk) {
          g.chunk = api.DuckDBDataChunk.create(g.types, CHUNK);
          g.vectors = g.types.map((_, j) => g.chunk!.getColumnVector(j) as unknown as Vector);
        }
        const v = g.vectors;
        const r = g.row++;
        v[0].setItem(r, e.ids[i]);
        v[1].setItem(r, e.at);
        v[2].setItem(r, JSON.stringify(e.instances[i]));
        v[3].setItem(r, JSON.stringify(e.outputs[i]));
        v[4].setItem(r, e.latencyMs);
        for (let j = 0; j < arrays.length; j++) {
          const x = arrays[j][starts[j] + i];
          // NaN (missing) and null become SQL NULL.
          v[FIXED_COUNT + j].setItem(r, typeof x === 'number' ? (Number.isNaN(x) ? null : x) : (x ?? null));
        }
        g.rows++;
        if (g.row === CHUNK) appendChunk(g);
      }
    }
  };

  // Each group's file, written or not: the rows of one that fails are the only ones lost.
  const flush = async (): Promise<WrittenFile[]> => {
    const done = [...groups.values()];
    groups = new Map();
    const c = await connection();
    const files: WrittenFile[] = [];
    for (const g of done) {
      const file = path.join(tmpDir, `${g.table}.parquet`);
      const features = g.names.length ? `{${g.names.map((name, j) => `${quote(name)}: c${j}`).join(', ')}}` : 'NULL';
      const e = g.entry;
      try {
        appendChunk(g);
        g.appender.closeSync();
        await c.run(
          `COPY (SELECT prediction_id, epoch_ms(ts_ms::BIGINT) AS ts, ${quote(e.deployment)} AS deployment, ` +
            `${quote(e.model)} AS model, ${e.version}::INTEGER AS version, ${quote(e.variant)} AS variant, ` +
            `${e.experiment === null ? 'NULL' : quote(e.experiment)}::VARCHAR AS experiment, entity::JSON AS entity, ` +
            `${features} AS features, outputs::JSON AS outputs, latency_ms FROM ${g.table}) ` +
            // Snappy: zstd took twice the time for files that are read far less often than written.
            `TO ${quote(file)} (FORMAT parquet, COMPRESSION snappy)`,
        );
        files.push({ dir: g.dir, file, rows: g.rows });
      } catch (err) {
        const message = `${g.rows} predictions of ${g.dir} not written: ${String((err as Error).message ?? err)}`;
        send({ kind: 'failed', seq: null, message });
      } finally {
        await c.run(`DROP TABLE IF EXISTS ${g.table}`).catch(() => undefined);
      }
    }
    return files;
  };

  // One message at a time, in order: a flush takes the rows that came before it.
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (m: ToWriter) => {
    queue = queue.then(async () => {
      try {
        if (m.kind === 'rows') await write(m);
        else send({ kind: 'flushed', seq: m.seq, files: await flush() });
      } catch (e) {
        const seq = m.kind === 'flush' ? m.seq : null;
        send({ kind: 'failed', seq, message: String((e as Error).stack ?? e) });
      }
    });
  });
}

/** Starts a writer process that puts its Parquet files in `tmpDir`. */
export function startWriter(tmpDir: string): ChildProcess {
  const source = writerProgram.toString();
  // A reference to module scope would only fail in the child: refuse it here.
  if (/\bexports\b|\b\w+_1\.|__vite/.test(source))
    throw new Error('the prediction log writer is not self-contained; a separate process cannot run it');
  const args = JSON.stringify({ tmpDir, duckdb: require.resolve('@duckdb/node-api') });
  return spawn(process.execPath, ['-e', `(${source})()`, args], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    // Out of the serving process's group, which Ctrl-C signals as a whole: the serving process
    // drains, then closes the log, and the writer ends when it disconnects (or dies).
    detached: true,
    // Typed arrays and nested objects as they are, like worker messages.
    serialization: 'advanced',
  });
}
