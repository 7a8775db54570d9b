/**
 * The feature view the stream-consumer tests share: units left in stock per product, from a
 * lake where product 1 had 10 units (price 9.5) two hours before `now`, and fed by `stream`.
 */
import path from 'node:path';
import type { FeatureView } from '@plinth/schema';
import { literal } from '../offline/duckdb';
import { writeParquet } from './lake';
import { tempDir, type TestPlatform } from './platform';

export const HOUR = 3_600_000;
export const iso = (ms: number) => new Date(ms).toISOString();

export const stockView = (stream: FeatureView['stream']): FeatureView => ({
  name: 'stock',
  entities: ['product'],
  sources: ['stock_src'],
  sql: 'SELECT product_id, ts, units_left, price FROM stock_src',
  timestampColumn: 'ts',
  features: [
    { name: 'units_left', type: 'int64', default: -1 },
    { name: 'price', type: 'float64' },
  ],
  stream,
});

export async function stockLake(now: number): Promise<string> {
  const lake = path.join(tempDir('streams'), 'lake');
  await writeParquet(
    path.join(lake, 'stock_src', 'stock.parquet'),
    `SELECT * FROM (VALUES (1::BIGINT, TIMESTAMPTZ ${literal(iso(now - 2 * HOUR))}, 10::BIGINT, 9.5::DOUBLE))
       AS t(product_id, ts, units_left, price)`,
  );
  return lake;
}

/** Applies the product entity, the lake source and the stock view, and starts its consumer. */
export async function applyStock(t: TestPlatform, stream: FeatureView['stream']): Promise<void> {
  await t.client.applyEntity({ name: 'product', joinKeys: [{ name: 'product_id', type: 'int64' }] });
  await t.client.applyDataSource({ name: 'stock_src', path: 'stock_src', format: 'parquet' });
  await t.client.applyFeatureView(stockView(stream));
  await t.controlPlane.streams.reconcile();
}
