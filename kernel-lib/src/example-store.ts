import { fileURLToPath } from 'node:url';
import {
  Bool,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  makeData,
  vectorFromArray,
  DataType,
  type Vector,
} from 'apache-arrow';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ExampleSet } from '@plinth/schema';
import { s3LocalFile } from './s3-files';
import { encodeStrings, fitVocabulary } from './pipeline/vocabulary';

/** Arrow field metadata keys that carry an example set's column roles. */
export const ROLE_KEY = 'plinth.role';
export const SOURCE_KEY = 'plinth.source';
/** Schema metadata key of a table read from an example set: `{"name": ..., "version": ...}` as JSON. */
export const EXAMPLE_SET_KEY = 'plinth.example_set';

/** The example set a table was read from (its schema metadata), if any. */
export function exampleSetOf(table: Table): { name: string; version: number } | undefined {
  const raw = table.schema.metadata.get(EXAMPLE_SET_KEY);
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as { name?: unknown; version?: unknown };
    if (typeof v.name === 'string' && Number.isInteger(v.version))
      return { name: v.name, version: v.version as number };
  } catch {
    // not ours
  }
  return undefined;
}

/** A local file DuckDB can read: s3:// objects are downloaded first (s3-files.ts). */
async function localPath(uri: string): Promise<string> {
  if (uri.startsWith('file://')) return fileURLToPath(uri);
  if (uri.startsWith('s3://')) return s3LocalFile(uri);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new Error(`cannot read ${uri}: only file:// and s3:// example-store locations are readable`);
  }
  return uri;
}

function arrowType(duckType: string): DataType {
  const t = duckType.toUpperCase();
  if (t === 'DOUBLE' || t.startsWith('DECIMAL')) return new Float64();
  if (t === 'FLOAT') return new Float32();
  if (t === 'INTEGER' || t === 'SMALLINT' || t === 'TINYINT') return new Int32();
  if (t === 'BIGINT') return new Int64();
  if (t === 'BOOLEAN') return new Bool();
  if (t.startsWith('TIMESTAMP') || t === 'DATE') return new TimestampMillisecond();
  return new Utf8();
}

/** What a table keeps of its example set's manifest: column roles, and which set and version it is. */
type ExampleSetManifest = Pick<ExampleSet, 'columns'> & Partial<Pick<ExampleSet, 'name' | 'version'>>;

/** Arrow columns from DuckDB result columns, with example-set column roles as field metadata. */
function toArrowTable(
  names: string[],
  duckTypes: string[],
  columns: unknown[][],
  manifest?: ExampleSetManifest,
): Table {
  const roles = new Map((manifest?.columns ?? []).map((c) => [c.name, c]));
  const fields: Field[] = [];
  const vectors: Vector[] = [];
  names.forEach((name, j) => {
    const type = arrowType(duckTypes[j]);
    const values = columns[j].map((v) => (typeof v === 'bigint' && !(type instanceof Int64) ? Number(v) : v));
    const vec = vectorFromArray(values as never[], type);
    const col = roles.get(name);
    const meta = new Map<string, string>();
    if (col) {
      meta.set(ROLE_KEY, col.role);
      if (col.source) meta.set(SOURCE_KEY, col.source);
    }
    fields.push(new Field(name, type, true, meta));
    vectors.push(vec);
  });
  const tableMeta = new Map<string, string>();
  if (manifest?.name && manifest.version)
    tableMeta.set(EXAMPLE_SET_KEY, JSON.stringify({ name: manifest.name, version: manifest.version }));
  const schema = new Schema(fields, tableMeta);
  if (vectors.length === 0) return new Table(schema);
  const data = makeData({
    type: new Struct(fields),
    length: vectors[0].length,
    nullCount: 0,
    children: vectors.map((v) => v.data[0]),
  });
  return new Table([new RecordBatch(schema, data)]);
}

/** A throwaway in-memory DuckDB connection, and the files as an SQL list for read_parquet. */
async function openParquet(files: string[]): Promise<{ conn: DuckDBConnection; list: string; close(): void }> {
  // Loaded lazily: DuckDB is only needed when a notebook reads data.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DuckDBInstance } = require('@duckdb/node-api') as typeof import('@duckdb/node-api');
  const list = (await Promise.all(files.map(localPath))).map((f) => `'${f.replace(/'/g, "''")}'`).join(', ');
  const db = await DuckDBInstance.create(':memory:', {
    threads: '2',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const conn = await db.connect();
  return {
    conn,
    list,
    close: () => {
      conn.closeSync();
      db.closeSync();
    },
  };
}

/**
 * Reads Parquet files into one Apache Arrow table with DuckDB. Column roles from an example
 * set's manifest (key, timestamp, label, feature) go into the Arrow field metadata.
 *
 * @example
 * const table = await readParquetAsArrow(['file:///data/part-0.parquet']);
 * table.numRows;
 */
export async function readParquetAsArrow(files: string[], manifest?: ExampleSetManifest): Promise<Table> {
  const { conn, list, close } = await openParquet(files);
  try {
    const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet([${list}])`);
    const types = reader.columnTypes().map((t) => t.toString());
    return toArrowTable(reader.columnNames(), types, reader.getColumnsJS() as unknown[][], manifest);
  } finally {
    close();
  }
}

/**
 * Reads Parquet files as a stream of Arrow tables of at most `batchRows` rows each, in file
 * order, holding about one batch in memory at a time: for example sets larger than memory.
 *
 * @example
 * let rows = 0;
 * for await (const batch of readParquetBatches(es.location.files, es, 100_000)) rows += batch.numRows;
 */
export async function* readParquetBatches(
  files: string[],
  manifest?: ExampleSetManifest,
  batchRows = 65_536,
): AsyncGenerator<Table> {
  if (!Number.isInteger(batchRows) || batchRows < 1)
    throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { JSDuckDBValueConverter } = require('@duckdb/node-api') as typeof import('@duckdb/node-api');
  const { conn, list, close } = await openParquet(files);
  try {
    const result = await conn.stream(`SELECT * FROM read_parquet([${list}])`);
    const names = result.columnNames();
    const types = result.columnTypes().map((t) => t.toString());
    let buffered: unknown[][] = names.map(() => []);
    let rows = 0;
    const take = (n: number) => {
      const table = toArrowTable(
        names,
        types,
        buffered.map((c) => c.slice(0, n)),
        manifest,
      );
      buffered = buffered.map((c) => c.slice(n));
      rows -= n;
      return table;
    };
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      chunk.convertColumns(JSDuckDBValueConverter).forEach((col, j) => {
        for (const v of col) buffered[j].push(v);
      });
      rows += chunk.rowCount;
      while (rows >= batchRows) yield take(batchRows);
    }
    if (rows > 0) yield take(rows);
  } finally {
    close();
  }
}

/** Column names of a table with a given role (from example-set metadata). */
export function columnsWithRole(table: Table, role: 'key' | 'timestamp' | 'label' | 'feature'): string[] {
  return table.schema.fields.filter((f) => f.metadata.get(ROLE_KEY) === role).map((f) => f.name);
}

/**
 * Numeric columns as Float64Arrays, nulls as NaN: the trainers' input.
 *
 * @example
 * const [ctr, price] = numericColumns(table, ['user_features__user_ctr', 'product_features__price']);
 */
export function numericColumns(table: Table, names: string[]): Float64Array[] {
  return names.map((name) => {
    const col = columnOf(table, name);
    const out = new Float64Array(col.length);
    for (let i = 0; i < col.length; i++) {
      const v = col.get(i) as unknown;
      out[i] =
        v === null || v === undefined
          ? NaN
          : typeof v === 'bigint'
            ? Number(v)
            : typeof v === 'boolean'
              ? v
                ? 1
                : 0
              : Number(v);
    }
    return out;
  });
}

/** A table's column, or an error naming the columns it has. */
function columnOf(table: Table, name: string): Vector {
  const col = table.getChild(name);
  if (!col)
    throw new Error(
      `the table has no column '${name}' (columns: ${table.schema.fields.map((f) => f.name).join(', ')})`,
    );
  return col;
}

/** Whether a table column holds strings (Utf8, LargeUtf8, or a dictionary of strings). */
export function isStringColumn(table: Table, name: string): boolean {
  const type = table.schema.fields.find((f) => f.name === name)?.type;
  const isString = (t: unknown) => DataType.isUtf8(t) || DataType.isLargeUtf8(t) || DataType.isUtf8View(t);
  return isString(type) || (DataType.isDictionary(type) && isString(type.dictionary));
}

/** A string column's values (null where missing). */
function stringValues(table: Table, name: string): (string | null)[] {
  const col = columnOf(table, name);
  return Array.from({ length: col.length }, (_, i) => {
    const v = col.get(i) as unknown;
    return typeof v === 'string' ? v : null;
  });
}

/**
 * A pipeline's input columns read from a table as the graph takes them: strings (null where
 * missing) for `string` inputs, numbers ({@link numericColumns}) for the others.
 *
 * @example
 * const columns = pipelineColumns(test, spec.inputs);
 * const out = await session.runTyped(columns);
 */
export function pipelineColumns(
  table: Table,
  inputs: readonly { name: string; type?: string }[],
): Record<string, Float64Array | (string | null)[]> {
  return Object.fromEntries(
    inputs.map((input) => [
      input.name,
      input.type === 'string' ? stringValues(table, input.name) : numericColumns(table, [input.name])[0],
    ]),
  );
}

/**
 * Feature columns for the trainers: numeric columns as {@link numericColumns} reads them, and
 * string columns (Utf8 or dictionary) as codes, the index of each value in the column's
 * vocabulary: sorted distinct values learned from this table, or the `vocabularies` given (e.g.
 * the training table's, for validation rows). Unknown, null and '' values become NaN.
 *
 * @example
 * const { columns, vocabularies } = featureColumns(train, ['price', 'country']);
 * vocabularies.country; // ['de', 'fr', 'us']
 * featureColumns(test, ['price', 'country'], vocabularies).columns; // same codes
 */
export function featureColumns(
  table: Table,
  names: string[],
  vocabularies?: Record<string, string[]>,
): { columns: Float64Array[]; vocabularies: Record<string, string[]> } {
  const learned: Record<string, string[]> = {};
  const columns = names.map((name) => {
    let categories = vocabularies?.[name];
    // A missing column fails in numericColumns, naming the table's columns.
    if (!table.getChild(name) || (!categories && !isStringColumn(table, name))) return numericColumns(table, [name])[0];
    const values = stringValues(table, name);
    if (!categories) {
      categories = fitVocabulary(values);
      if (categories.length === 0) throw new Error(`string column '${name}' has no values (all null or empty)`);
    }
    learned[name] = categories;
    return encodeStrings(values, categories);
  });
  return { columns, vocabularies: learned };
}

/**
 * Splits rows in order: the first `fraction` for training, the rest for validation. Example
 * sets are sorted by label time, so this is a split in time (no look-ahead).
 *
 * @example
 * const { train, test } = splitByTime(table, 0.8);
 */
export function splitByTime(table: Table, fraction = 0.8): { train: Table; test: Table } {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`fraction must be between 0 and 1, got ${fraction}`);
  const cut = Math.floor(table.numRows * fraction);
  return { train: table.slice(0, cut), test: table.slice(cut) };
}
