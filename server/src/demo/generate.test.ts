import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitLogisticRegression, predictProba } from '../../../kernel-lib/src/train/logistic';
import { rocAuc } from '../../../kernel-lib/src/train/metrics';
import { applyStages, fitStandardScaler } from '../../../kernel-lib/src/train/preprocess';
import { generateDemoLake, type DemoLakeSummary } from './generate';

const DAILY = ['sessions', 'impressions', 'clicks', 'purchases'] as const;

let tmp: string;
let conn: DuckDBConnection;
let db: DuckDBInstance;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'plinth-demo-'));
  db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
});

afterAll(async () => {
  conn?.closeSync();
  db?.closeSync();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

const q = (p: string): string => `'${p.replace(/'/g, "''")}'`;

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

async function scalar(sql: string): Promise<number> {
  const r = await rows(sql);
  return Number(Object.values(r[0])[0]);
}

function src(lake: string, table: string): string {
  return table === 'users' || table === 'products'
    ? `read_parquet(${q(path.join(lake, table, `${table}.parquet`))})`
    : `read_parquet(${q(path.join(lake, table, '*', '*.parquet'))}, hive_partitioning = true)`;
}

/** An order-independent-of-files, content-only fingerprint of each table. */
async function fingerprint(lake: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of ['users', 'products', ...DAILY]) {
    const r = await rows(
      `SELECT count(*) AS n, md5(string_agg(CAST(x AS VARCHAR), '|' ORDER BY CAST(x AS VARCHAR))) AS h FROM ${src(lake, t)} AS x`,
    );
    out[t] = `${r[0].n}:${r[0].h}`;
  }
  return out;
}

/**
 * The planted signal, measured the way a data scientist would: features from days 1-20
 * (user and product history, price), label = clicked for impressions on days 21-30, logistic
 * regression trained on half the users and scored on the other half.
 */
async function measureAuc(
  lake: string,
  summary: DemoLakeSummary,
): Promise<{ auc: number; trainRows: number; testRows: number }> {
  const cutoff = new Date(Date.parse(summary.startDate) + 20 * 86_400_000).toISOString().slice(0, 10);
  const sql = `
    WITH imp AS (SELECT i.*, c.impression_id IS NOT NULL AS clicked
                 FROM ${src(lake, 'impressions')} i LEFT JOIN ${src(lake, 'clicks')} c USING (impression_id)),
    hist AS (SELECT * FROM imp WHERE ts < TIMESTAMP '${cutoff}'),
    g AS (SELECT avg(clicked::INT) AS ctr FROM hist),
    uf AS (SELECT user_id, count(*) AS imps, sum(clicked::INT) AS clicks, count(DISTINCT session_id) AS sessions
           FROM hist GROUP BY user_id),
    pf AS (SELECT product_id, count(*) AS imps, sum(clicked::INT) AS clicks FROM hist GROUP BY product_id)
    SELECT i.user_id, i.clicked::INT AS y,
           (coalesce(uf.clicks, 0) + 20 * g.ctr) / (coalesce(uf.imps, 0) + 20) AS user_ctr,
           ln(1 + coalesce(uf.imps, 0)) AS user_log_imps,
           ln(1 + coalesce(uf.sessions, 0)) AS user_log_sessions,
           (coalesce(pf.clicks, 0) + 50 * g.ctr) / (coalesce(pf.imps, 0) + 50) AS product_ctr,
           ln(1 + coalesce(pf.imps, 0)) AS product_log_imps,
           ln(p.price) AS log_price
    FROM imp i CROSS JOIN g
    LEFT JOIN uf USING (user_id) LEFT JOIN pf USING (product_id)
    JOIN ${src(lake, 'products')} p USING (product_id)
    WHERE i.ts >= TIMESTAMP '${cutoff}'
    ORDER BY i.impression_id`;
  const data = await rows(sql);
  const names = ['user_ctr', 'user_log_imps', 'user_log_sessions', 'product_ctr', 'product_log_imps', 'log_price'];
  const split = (train: boolean) => {
    const part = data.filter((r) => (Number(r.user_id) % 2 === 0) === train);
    return {
      X: names.map((n) => Float64Array.from(part, (r) => Number(r[n]))),
      y: Float64Array.from(part, (r) => Number(r.y)),
    };
  };
  const train = split(true);
  const test = split(false);
  const scaler = fitStandardScaler(names, train.X);
  const model = fitLogisticRegression({
    featureNames: names,
    columns: applyStages([scaler], train.X),
    y: train.y,
  });
  const p = predictProba(model, applyStages([scaler], test.X));
  return { auc: rocAuc(test.y, p), trainRows: train.y.length, testRows: test.y.length };
}

describe('generateDemoLake (tiny)', () => {
  let lake: string;
  let summary: DemoLakeSummary;
  const progress: [number, number, string][] = [];

  beforeAll(async () => {
    lake = path.join(tmp, 'tiny', 'lake');
    const t0 = Date.now();
    summary = await generateDemoLake({
      lakeDir: lake,
      size: 'tiny',
      onProgress: (d, t, w) => progress.push([d, t, w]),
    });
    console.log(`tiny lake generated in ${((Date.now() - t0) / 1000).toFixed(2)} s`, summary.rowCounts);
  });

  it('writes the documented layout, 30 daily partitions ending at endDate', async () => {
    expect(summary.startDate).toBe('2026-10-02');
    expect(summary.endDate).toBe('2026-10-31');
    await fs.access(path.join(lake, 'users', 'users.parquet'));
    await fs.access(path.join(lake, 'products', 'products.parquet'));
    for (const t of DAILY) {
      const parts = (await fs.readdir(path.join(lake, t))).sort();
      expect(parts).toHaveLength(30);
      expect(parts[0]).toBe('date=2026-10-02');
      expect(parts[29]).toBe('date=2026-10-31');
      expect(await fs.readdir(path.join(lake, t, parts[0]))).toEqual(['part-0.parquet']);
    }
    const json = JSON.parse(await fs.readFile(path.join(lake, '_demo.json'), 'utf8')) as DemoLakeSummary;
    expect(json).toEqual(summary);
    expect(json).toMatchObject({ seed: 42, size: 'tiny', days: 30 });
    // No temp directories left beside the lake.
    expect(await fs.readdir(path.dirname(lake))).toEqual(['lake']);
    expect(progress[0]).toEqual([0, 30, 'users and products']);
    expect(progress.at(-1)).toEqual([30, 30, '2026-10-31']);
    expect(progress).toHaveLength(31);
  });

  it('has the documented column types', async () => {
    const types = async (t: string) =>
      Object.fromEntries(
        (await rows(`DESCRIBE SELECT * FROM ${src(lake, t)}`)).map((r) => [r.column_name, r.column_type]),
      );
    expect(await types('users')).toEqual({
      user_id: 'BIGINT',
      signup_date: 'DATE',
      country: 'VARCHAR',
      device: 'VARCHAR',
      age_bucket: 'VARCHAR',
    });
    expect(await types('products')).toEqual({
      product_id: 'BIGINT',
      category: 'VARCHAR',
      price: 'DOUBLE',
      brand: 'VARCHAR',
    });
    expect(await types('sessions')).toEqual({
      session_id: 'BIGINT',
      user_id: 'BIGINT',
      started_at: 'TIMESTAMP',
      device: 'VARCHAR',
      country: 'VARCHAR',
      date: 'DATE',
    });
    expect(await types('impressions')).toEqual({
      impression_id: 'BIGINT',
      session_id: 'BIGINT',
      user_id: 'BIGINT',
      product_id: 'BIGINT',
      position: 'INTEGER',
      ts: 'TIMESTAMP',
      date: 'DATE',
    });
    expect(await types('clicks')).toEqual({
      impression_id: 'BIGINT',
      user_id: 'BIGINT',
      product_id: 'BIGINT',
      ts: 'TIMESTAMP',
      date: 'DATE',
    });
    expect(await types('purchases')).toEqual({
      purchase_id: 'BIGINT',
      user_id: 'BIGINT',
      product_id: 'BIGINT',
      ts: 'TIMESTAMP',
      amount: 'DOUBLE',
      date: 'DATE',
    });
  });

  it('has row counts matching the summary, of the documented magnitude, and consistent data', async () => {
    for (const t of ['users', 'products', ...DAILY] as const) {
      expect(await scalar(`SELECT count(*) FROM ${src(lake, t)}`)).toBe(summary.rowCounts[t]);
    }
    expect(summary.rowCounts.users).toBe(300);
    expect(summary.rowCounts.products).toBe(100);
    expect(summary.rowCounts.impressions).toBeGreaterThan(12_000);
    expect(summary.rowCounts.impressions).toBeLessThan(18_000);
    const ctr = summary.rowCounts.clicks / summary.rowCounts.impressions;
    expect(ctr).toBeGreaterThan(0.05);
    expect(ctr).toBeLessThan(0.1);
    expect(summary.rowCounts.purchases).toBeGreaterThan(0);
    expect(summary.rowCounts.purchases).toBeLessThan(summary.rowCounts.clicks);
    // Every row sits in the partition of its own date.
    for (const [t, col] of [
      ['sessions', 'started_at'],
      ['impressions', 'ts'],
      ['clicks', 'ts'],
      ['purchases', 'ts'],
    ]) {
      expect(await scalar(`SELECT count(*) FROM ${src(lake, t)} WHERE CAST(${col} AS DATE) <> date`)).toBe(0);
    }
    // Referential integrity and time order.
    expect(
      await scalar(
        `SELECT count(*) FROM ${src(lake, 'clicks')} c LEFT JOIN ${src(lake, 'impressions')} i USING (impression_id)
         WHERE i.impression_id IS NULL OR i.user_id <> c.user_id OR i.product_id <> c.product_id OR c.ts < i.ts`,
      ),
    ).toBe(0);
    expect(
      await scalar(
        `SELECT count(*) FROM ${src(lake, 'impressions')} i LEFT JOIN ${src(lake, 'sessions')} s USING (session_id)
         WHERE s.session_id IS NULL OR s.user_id <> i.user_id OR i.ts < s.started_at`,
      ),
    ).toBe(0);
    expect(
      await scalar(
        `SELECT count(*) FROM ${src(lake, 'purchases')} p ANTI JOIN ${src(lake, 'clicks')} c USING (user_id, product_id)`,
      ),
    ).toBe(0);
    expect(await scalar(`SELECT count(*) FROM ${src(lake, 'products')} WHERE price <= 0`)).toBe(0);
    expect(await scalar(`SELECT count(DISTINCT impression_id) FROM ${src(lake, 'clicks')}`)).toBe(
      summary.rowCounts.clicks,
    );
    // Clicks fall with position.
    const byPos = await rows(
      `SELECT (position <= 2) AS top, avg((c.impression_id IS NOT NULL)::INT) AS ctr
       FROM ${src(lake, 'impressions')} i LEFT JOIN ${src(lake, 'clicks')} c USING (impression_id) GROUP BY ALL ORDER BY top`,
    );
    expect(Number(byPos[1].ctr)).toBeGreaterThan(Number(byPos[0].ctr));
  });

  it('is deterministic for a seed and differs for another seed', async () => {
    const again = path.join(tmp, 'tiny-again');
    const other = path.join(tmp, 'tiny-other');
    await generateDemoLake({ lakeDir: again, size: 'tiny' });
    await generateDemoLake({ lakeDir: other, size: 'tiny', seed: 7 });
    const a = await fingerprint(lake);
    expect(await fingerprint(again)).toEqual(a);
    const b = await fingerprint(other);
    for (const t of Object.keys(a)) expect(b[t]).not.toBe(a[t]);
    expect(await fs.readFile(path.join(again, '_demo.json'), 'utf8')).toBe(
      await fs.readFile(path.join(lake, '_demo.json'), 'utf8'),
    );
  });

  it('refuses a non-empty lake directory unless overwrite is set, and replaces it atomically', async () => {
    const dir = path.join(tmp, 'occupied');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'keep.txt'), 'mine');
    await expect(generateDemoLake({ lakeDir: dir, size: 'tiny', days: 2 })).rejects.toThrow(
      /already exists and is not empty.*overwrite/,
    );
    expect(await fs.readdir(dir)).toEqual(['keep.txt']);
    const s = await generateDemoLake({ lakeDir: dir, size: 'tiny', days: 2, overwrite: true });
    expect(s.startDate).toBe('2026-10-30');
    expect((await fs.readdir(dir)).sort()).toEqual([
      '_demo.json',
      'clicks',
      'impressions',
      'products',
      'purchases',
      'sessions',
      'users',
    ]);
    // An existing empty directory is fine.
    const empty = path.join(tmp, 'empty');
    await fs.mkdir(empty);
    await generateDemoLake({ lakeDir: empty, size: 'tiny', days: 1, endDate: '2024-02-29' });
    expect(await fs.readdir(path.join(empty, 'impressions'))).toEqual(['date=2024-02-29']);
    // Nothing but the lakes is left in the parent directory.
    expect((await fs.readdir(tmp)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('validates its options and leaves nothing behind on failure', async () => {
    const dir = path.join(tmp, 'bad');
    await expect(generateDemoLake({ lakeDir: dir, endDate: '2026-02-30' })).rejects.toThrow(/endDate/);
    await expect(generateDemoLake({ lakeDir: dir, days: 0 })).rejects.toThrow(/days/);
    await expect(generateDemoLake({ lakeDir: dir, size: 'huge' as 'tiny' })).rejects.toThrow(/size must be one of/);
    await expect(
      generateDemoLake({
        lakeDir: dir,
        size: 'tiny',
        days: 3,
        onProgress: (done) => {
          if (done === 2) throw new Error('boom');
        },
      }),
    ).rejects.toThrow('boom');
    await expect(fs.access(dir)).rejects.toThrow();
    expect((await fs.readdir(tmp)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('plants a click signal a logistic regression on past features can learn (AUC >= 0.70)', async () => {
    const r = await measureAuc(lake, summary);
    console.log(`tiny: ROC-AUC ${r.auc.toFixed(4)} (train ${r.trainRows} rows, test ${r.testRows} rows)`);
    expect(r.auc).toBeGreaterThanOrEqual(0.7);
  });
});

describe('generateDemoLake (small)', () => {
  it('generates ~150k impressions with the planted signal (AUC >= 0.70)', async () => {
    const lake = path.join(tmp, 'small');
    const t0 = Date.now();
    const summary = await generateDemoLake({ lakeDir: lake, size: 'small' });
    const secs = (Date.now() - t0) / 1000;
    console.log(`small lake generated in ${secs.toFixed(2)} s`, summary.rowCounts);
    expect(summary.rowCounts.users).toBe(2_000);
    expect(summary.rowCounts.impressions).toBeGreaterThan(120_000);
    expect(summary.rowCounts.impressions).toBeLessThan(180_000);
    const r = await measureAuc(lake, summary);
    console.log(`small: ROC-AUC ${r.auc.toFixed(4)} (train ${r.trainRows} rows, test ${r.testRows} rows)`);
    expect(r.auc).toBeGreaterThanOrEqual(0.7);
  }, 120_000);
});
