/**
 * Reading example-set Parquet into Arrow with real DuckDB: the whole table, and record batches
 * for sets larger than memory, which must add up to the same rows and values.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Table } from 'apache-arrow';
import { ROLE_KEY, columnsWithRole, readParquetAsArrow, readParquetBatches } from './example-store';

let dir: string;
let files: string[];
const manifest = {
  columns: [
    { name: 'user_id', type: 'int64' as const, role: 'key' as const },
    { name: 'y', type: 'int32' as const, role: 'label' as const },
    { name: 'f__x', type: 'float64' as const, role: 'feature' as const, source: 'f' },
  ],
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-es-read-'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  files = [];
  // Two files, 7,000 rows in all, with NULLs: batches must cross the file boundary.
  for (const [i, [from, to]] of [
    [0, 4_000],
    [4_000, 7_000],
  ].entries()) {
    const file = path.join(dir, `part-${i}.parquet`);
    await conn.run(
      `COPY (SELECT i::BIGINT AS user_id, (i % 2)::INT AS y, CASE WHEN i % 10 = 0 THEN NULL ELSE i / 3 END::DOUBLE AS f__x,
                    TIMESTAMP '2026-01-01' + i * INTERVAL 1 MINUTE AS ts, 's' || i AS s
             FROM range(${from}, ${to}) t(i)) TO '${file}' (FORMAT parquet)`,
    );
    files.push(pathToFileURL(file).href);
  }
  conn.closeSync();
  db.closeSync();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const column = (tables: Table[], name: string) =>
  tables.flatMap((t) => Array.from(t.getChild(name)!, (v) => v as unknown));

describe('example-set reading', () => {
  it('reads all files into one table with column roles', async () => {
    const table = await readParquetAsArrow(files, manifest);
    expect(table.numRows).toBe(7_000);
    expect(columnsWithRole(table, 'feature')).toEqual(['f__x']);
    expect(table.schema.fields.find((f) => f.name === 'user_id')?.metadata.get(ROLE_KEY)).toBe('key');
  });

  it('streams record batches that add up to the same rows and values', async () => {
    const whole = await readParquetAsArrow(files, manifest);
    const batches: Table[] = [];
    for await (const b of readParquetBatches(files, manifest, 3_000)) batches.push(b);
    expect(batches.map((b) => b.numRows)).toEqual([3_000, 3_000, 1_000]);
    for (const name of ['user_id', 'y', 'f__x', 's'])
      expect(column(batches, name), name).toEqual(column([whole], name));
    expect(batches[2].getChild('ts')!.get(999)).toEqual(whole.getChild('ts')!.get(6_999));
    expect(batches[0].getChild('f__x')!.get(0)).toBeNull();
    expect(columnsWithRole(batches[1], 'label')).toEqual(['y']);
  });

  it('stops early without reading the rest, and rejects a bad batch size or a missing file', async () => {
    let seen = 0;
    for await (const b of readParquetBatches(files, manifest, 2_048)) {
      seen += b.numRows;
      break;
    }
    expect(seen).toBe(2_048);
    await expect(readParquetBatches(files, manifest, 0).next()).rejects.toThrow(
      /batchRows must be a positive integer, got 0/,
    );
    const missing = pathToFileURL(path.join(dir, 'nope.parquet')).href;
    await expect(readParquetBatches([missing]).next()).rejects.toThrow(/nope\.parquet/);
  });
});
