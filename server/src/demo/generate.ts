/**
 * `plinth demo-data`: a synthetic e-commerce data lake (users, products, sessions,
 * impressions, clicks, purchases) written as Parquet, with a planted, learnable click signal.
 *
 * Click model: every user has a latent click propensity and every product a latent
 * attractiveness; an impression is clicked with probability
 *
 *   sigmoid(a + user_latent + product_latent + affinity - position effect)
 *
 * where affinity rewards products in the user's favourite category. The latents leak into
 * observable history on purpose: propensity is correlated with how active a user is (sessions,
 * impressions), attractiveness with how often a product is shown and with its price relative to
 * its category. A logistic regression on a user's and a product's past CTR and activity, and the
 * price, predicts later clicks with ROC-AUC around 0.75.
 *
 * Determinism: all randomness comes from a seeded TypeScript PRNG, one stream for users, one for
 * products and one per day, so the same seed and size give the same rows. Days are generated
 * and written one at a time, so memory stays bounded for the large sizes.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AliasTable, Rng, streamSeed } from './random';

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/** Preset sizes. Impression counts are for the default 30 days. */
export type DemoSize = 'tiny' | 'small' | 'medium' | 'large';

/** Names of the lake's tables. */
export type DemoTable = 'users' | 'products' | 'sessions' | 'impressions' | 'clicks' | 'purchases';

/** Options for {@link generateDemoLake}. */
export interface GenerateDemoLakeOptions {
  /** Lake root directory; it must not exist or be empty unless `overwrite` is set. */
  lakeDir: string;
  /** PRNG seed; default 42. Same seed and size give the same rows. */
  seed?: number;
  /** tiny (~300 users, ~15k impressions), small (~2k, ~150k), medium (~20k, ~2M), large (~200k, ~20M). Default 'small'. */
  size?: DemoSize;
  /** Number of daily partitions; default 30. */
  days?: number;
  /** Last day (UTC, YYYY-MM-DD); default '2026-10-31'. */
  endDate?: string;
  /** Replace an existing non-empty lake directory; default false. */
  overwrite?: boolean;
  /** Called once before the first day (done = 0) and after each day is written. */
  onProgress?: (done: number, total: number, what: string) => void;
}

/** Where a table lives in the lake. */
export interface DemoTableInfo {
  /** Path relative to the lake root: a file, or a directory of `date=YYYY-MM-DD/part-0.parquet`. */
  path: string;
  /** 'date' for hive-style daily partitions, null for a single file. */
  partitionedBy: 'date' | null;
  rows: number;
}

/** Contents of `_demo.json`, also returned by {@link generateDemoLake}. */
export interface DemoLakeSummary {
  generator: 'plinth demo-data';
  formatVersion: 1;
  seed: number;
  size: DemoSize;
  days: number;
  /** First day, YYYY-MM-DD (UTC). */
  startDate: string;
  /** Last day, YYYY-MM-DD (UTC). */
  endDate: string;
  rowCounts: Record<DemoTable, number>;
  tables: Record<DemoTable, DemoTableInfo>;
  /** Human-readable description of the planted click signal. */
  signal: string;
}

interface SizeSpec {
  users: number;
  products: number;
  impressionsPerDay: number;
}

const SIZES: Record<DemoSize, SizeSpec> = {
  tiny: { users: 300, products: 100, impressionsPerDay: 500 },
  small: { users: 2_000, products: 500, impressionsPerDay: 5_000 },
  medium: { users: 20_000, products: 5_000, impressionsPerDay: 66_667 },
  large: { users: 200_000, products: 50_000, impressionsPerDay: 666_667 },
};

// ---- vocabularies -------------------------------------------------------------------------

const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'IN', 'BR', 'JP', 'CA', 'AU', 'ES'];
const COUNTRY_W = [35, 10, 10, 8, 12, 8, 6, 5, 4, 2];
const DEVICES = ['mobile', 'desktop', 'tablet'];
const DEVICE_W = [55, 35, 10];
const DEVICE_EFFECT = [0.1, 0, -0.15];
const AGE_BUCKETS = ['18-24', '25-34', '35-44', '45-54', '55+'];
const AGE_W = [20, 30, 22, 15, 13];
const AGE_EFFECT = [0.15, 0.05, 0, -0.05, -0.15];
const CATEGORIES = [
  'electronics',
  'fashion',
  'home',
  'beauty',
  'sports',
  'books',
  'toys',
  'grocery',
  'garden',
  'automotive',
];
const CATEGORY_W = [14, 18, 12, 10, 9, 10, 7, 9, 6, 5];
/** Typical price per category (median of a log-normal). */
const CATEGORY_PRICE = [180, 45, 60, 25, 55, 15, 30, 8, 40, 70];
const BRAND_STEMS = [
  'Acme',
  'Northwind',
  'Globex',
  'Initech',
  'Umbrella',
  'Stark',
  'Wayne',
  'Tyrell',
  'Soylent',
  'Hooli',
  'Vandelay',
  'Gringotts',
  'Cyberdyne',
  'Oscorp',
  'Wonka',
  'Aperture',
  'Monarch',
  'Dunder',
  'Pied Piper',
  'Massive',
];
const BRANDS_PER_CATEGORY = 6;
/** Relative session volume by hour of day (UTC), evening peak. */
const HOUR_W = [2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 7, 7, 6, 6, 6, 7, 8, 10, 11, 10, 7, 4];

// ---- click model parameters -----------------------------------------------------------------

const CLICK_BASE = -4.3;
const USER_LATENT_SD = 1.0;
const PRODUCT_LATENT_SD = 0.9;
const BRAND_SD = 0.25;
const PRICE_ELASTICITY = 0.5; // attractiveness falls with price relative to the category median
const AFFINITY = 0.6; // favourite-category bonus
const POSITION_EFFECT = 0.35; // times ln(position)
const FAVOURITE_SHARE = 0.5; // share of impressions drawn from the favourite category
const ACTIVITY_LATENT_CORR = 0.5; // engaged users are both more active and more clicky
const EXPOSURE_LATENT = 0.6; // the recommender shows attractive products more often
const MEAN_SESSION_IMPRESSIONS = 8;
const NEW_USER_SHARE = 0.15; // users who sign up inside the window
const PURCHASE_BASE = -2.9;

const SIGNAL =
  'P(click) = sigmoid(a + user_latent + product_latent + 0.6*[favourite category] - 0.35*ln(position)); ' +
  'user_latent correlates with activity (sessions, impressions) and shows in past CTR; ' +
  'product_latent correlates with exposure (popularity), past CTR and low price within its category.';

const DAY_MS = 86_400_000;

interface Users {
  n: number;
  signupDay: Int32Array; // days since epoch
  country: Uint8Array;
  device: Uint8Array;
  age: Uint8Array;
  latent: Float64Array; // includes device and age effects
  activity: Float64Array; // mean sessions per day
  favourite: Uint8Array;
}

interface Products {
  n: number;
  category: Uint8Array;
  brand: string[];
  price: Float64Array;
  latent: Float64Array;
}

function makeUsers(spec: SizeSpec, seed: number, startDay: number, days: number): Users {
  const rng = new Rng(streamSeed(seed, 'users'));
  const n = spec.users;
  const u: Users = {
    n,
    signupDay: new Int32Array(n),
    country: new Uint8Array(n),
    device: new Uint8Array(n),
    age: new Uint8Array(n),
    latent: new Float64Array(n),
    activity: new Float64Array(n),
    favourite: new Uint8Array(n),
  };
  const rawActivity = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    u.signupDay[i] = rng.bernoulli(NEW_USER_SHARE) ? startDay + rng.int(days) : startDay - 1 - rng.int(730);
    u.country[i] = rng.weighted(COUNTRY_W);
    u.device[i] = rng.weighted(DEVICE_W);
    u.age[i] = rng.weighted(AGE_W);
    u.favourite[i] = rng.weighted(CATEGORY_W);
    const z = rng.normal();
    u.latent[i] = USER_LATENT_SD * z + DEVICE_EFFECT[u.device[i]] + AGE_EFFECT[u.age[i]];
    const za = ACTIVITY_LATENT_CORR * z + Math.sqrt(1 - ACTIVITY_LATENT_CORR ** 2) * rng.normal();
    rawActivity[i] = Math.exp(0.8 * za);
  }
  // Scale activity so the expected impressions per day match the size; users signing up
  // inside the window are active about half of it on average.
  let total = 0;
  for (let i = 0; i < n; i++) total += rawActivity[i];
  const sessionsPerDay = spec.impressionsPerDay / MEAN_SESSION_IMPRESSIONS / (1 - NEW_USER_SHARE / 2);
  for (let i = 0; i < n; i++) u.activity[i] = (rawActivity[i] / total) * sessionsPerDay;
  return u;
}

function makeProducts(spec: SizeSpec, seed: number): { products: Products; exposure: Float64Array } {
  const rng = new Rng(streamSeed(seed, 'products'));
  const n = spec.products;
  const brandNames: string[][] = CATEGORIES.map((_, c) =>
    Array.from({ length: BRANDS_PER_CATEGORY }, (_, b) => BRAND_STEMS[(c * 7 + b * 3) % BRAND_STEMS.length]),
  );
  const brandEffect = CATEGORIES.map(() => Array.from({ length: BRANDS_PER_CATEGORY }, () => BRAND_SD * rng.normal()));
  const p: Products = {
    n,
    category: new Uint8Array(n),
    brand: new Array<string>(n),
    price: new Float64Array(n),
    latent: new Float64Array(n),
  };
  const exposure = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.weighted(CATEGORY_W);
    const b = rng.int(BRANDS_PER_CATEGORY);
    p.category[i] = c;
    p.brand[i] = brandNames[c][b];
    const relLogPrice = 0.6 * rng.normal();
    p.price[i] = Math.max(0.99, Math.round(CATEGORY_PRICE[c] * Math.exp(relLogPrice)) - 0.01);
    p.latent[i] = PRODUCT_LATENT_SD * rng.normal() + brandEffect[c][b] - PRICE_ELASTICITY * relLogPrice;
    exposure[i] = Math.exp(EXPOSURE_LATENT * p.latent[i] + 0.7 * rng.normal());
  }
  return { products: p, exposure };
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function parseDay(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || isoDay(ms / DAY_MS) !== s) {
    throw new Error(`generateDemoLake: endDate must be a valid YYYY-MM-DD date, got '${s}'`);
  }
  return ms / DAY_MS;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Staging tables (numbers as DOUBLE for fast appends; cast on COPY). */
const STAGING = {
  sessions: {
    ddl: 'session_id DOUBLE, user_id DOUBLE, started_at DOUBLE, device VARCHAR, country VARCHAR',
    select:
      'session_id::BIGINT AS session_id, user_id::BIGINT AS user_id, make_timestamp(started_at::BIGINT) AS started_at, device, country',
  },
  impressions: {
    ddl: 'impression_id DOUBLE, session_id DOUBLE, user_id DOUBLE, product_id DOUBLE, position INTEGER, ts DOUBLE',
    select:
      'impression_id::BIGINT AS impression_id, session_id::BIGINT AS session_id, user_id::BIGINT AS user_id, product_id::BIGINT AS product_id, position, make_timestamp(ts::BIGINT) AS ts',
  },
  clicks: {
    ddl: 'impression_id DOUBLE, user_id DOUBLE, product_id DOUBLE, ts DOUBLE',
    select:
      'impression_id::BIGINT AS impression_id, user_id::BIGINT AS user_id, product_id::BIGINT AS product_id, make_timestamp(ts::BIGINT) AS ts',
  },
  purchases: {
    ddl: 'purchase_id DOUBLE, user_id DOUBLE, product_id DOUBLE, ts DOUBLE, amount DOUBLE',
    select:
      'purchase_id::BIGINT AS purchase_id, user_id::BIGINT AS user_id, product_id::BIGINT AS product_id, make_timestamp(ts::BIGINT) AS ts, amount',
  },
} as const;

type DailyTable = keyof typeof STAGING;
const DAILY_TABLES: DailyTable[] = ['sessions', 'impressions', 'clicks', 'purchases'];
const PARQUET = '(FORMAT parquet, COMPRESSION zstd)';

async function dirIsNonEmpty(dir: string): Promise<boolean | null> {
  try {
    return (await fs.readdir(dir)).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Generates the demo data lake into `lakeDir`: `users/users.parquet`,
 * `products/products.parquet`, and daily hive partitions
 * `{sessions,impressions,clicks,purchases}/date=YYYY-MM-DD/part-0.parquet`, plus `_demo.json`.
 *
 * The lake is built in a temporary directory beside `lakeDir` and renamed into place at the
 * end, so a crashed run leaves no half-written lake. An existing non-empty `lakeDir` is
 * refused unless `overwrite` is true.
 *
 * @param opts - see {@link GenerateDemoLakeOptions}
 * @returns the summary also written to `_demo.json`
 *
 * @example
 * ```ts
 * const summary = await generateDemoLake({
 *   lakeDir: '/data/lake',
 *   size: 'small',
 *   onProgress: (done, total, what) => console.log(`${done}/${total} ${what}`),
 * });
 * summary.rowCounts.impressions; // ~150k
 * // then, in DuckDB:
 * // SELECT * FROM read_parquet('/data/lake/impressions/*\/*.parquet', hive_partitioning = true)
 * ```
 */
export async function generateDemoLake(opts: GenerateDemoLakeOptions): Promise<DemoLakeSummary> {
  const fn = 'generateDemoLake';
  const seed = opts.seed ?? 42;
  const size = opts.size ?? 'small';
  const days = opts.days ?? 30;
  const endDate = opts.endDate ?? '2026-10-31';
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`${fn}: seed must be a non-negative integer, got ${seed}`);
  }
  const spec = SIZES[size];
  if (!spec) {
    throw new Error(`${fn}: size must be one of ${Object.keys(SIZES).join(', ')}, got '${size}'`);
  }
  if (!Number.isInteger(days) || days < 1 || days > 3660) {
    throw new Error(`${fn}: days must be an integer from 1 to 3660, got ${days}`);
  }
  const endDay = parseDay(endDate);
  const startDay = endDay - days + 1;

  const lakeDir = path.resolve(opts.lakeDir);
  const existing = await dirIsNonEmpty(lakeDir);
  if (existing === true && !opts.overwrite) {
    throw new Error(
      `${fn}: ${lakeDir} already exists and is not empty; choose another directory or pass overwrite: true (--overwrite)`,
    );
  }
  const parent = path.dirname(lakeDir);
  await fs.mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmpDir = path.join(parent, `.${path.basename(lakeDir)}.tmp-${tag}`);
  await fs.mkdir(tmpDir);

  let db: DuckDBInstance | undefined;
  let conn: DuckDBConnection | undefined;
  const closeDb = (): void => {
    conn?.closeSync();
    db?.closeSync();
    conn = undefined;
    db = undefined;
  };
  try {
    db = await DuckDBInstance.create(':memory:');
    conn = await db.connect();
    const summary = await writeLake(conn, tmpDir, { seed, size, spec, days, startDay, endDay }, opts.onProgress);
    await fs.writeFile(path.join(tmpDir, '_demo.json'), JSON.stringify(summary, null, 2) + '\n');
    closeDb();

    // Commit: move any old lake aside, rename the new one in, then delete the old one (or put
    // it back if the rename fails).
    let oldDir: string | null = null;
    if (existing === true) {
      oldDir = path.join(parent, `.${path.basename(lakeDir)}.old-${tag}`);
      await fs.rename(lakeDir, oldDir);
    } else if (existing === false) {
      await fs.rmdir(lakeDir);
    }
    try {
      await fs.rename(tmpDir, lakeDir);
    } catch (err) {
      if (oldDir) await fs.rename(oldDir, lakeDir);
      throw err;
    }
    if (oldDir) await fs.rm(oldDir, { recursive: true, force: true });
    return summary;
  } catch (err) {
    try {
      closeDb();
    } catch {
      // closing is best effort on the error path
    }
    await fs.rm(tmpDir, { recursive: true, force: true });
    throw err;
  }
}

interface Plan {
  seed: number;
  size: DemoSize;
  spec: SizeSpec;
  days: number;
  startDay: number;
  endDay: number;
}

async function writeLake(
  conn: DuckDBConnection,
  root: string,
  plan: Plan,
  onProgress?: (done: number, total: number, what: string) => void,
): Promise<DemoLakeSummary> {
  const { seed, spec, days, startDay } = plan;
  onProgress?.(0, days, 'users and products');
  const users = makeUsers(spec, seed, startDay, days);
  const { products, exposure } = makeProducts(spec, seed);

  // Impressions come from a global popularity table or from the user's favourite category.
  const globalTable = new AliasTable(exposure);
  const categoryTables = CATEGORIES.map((_, c) => {
    const ids: number[] = [];
    for (let i = 0; i < products.n; i++) if (products.category[i] === c) ids.push(i);
    return ids.length > 0
      ? new AliasTable(
          ids.map((i) => exposure[i]),
          Int32Array.from(ids),
        )
      : globalTable;
  });
  const hourTable = new AliasTable(HOUR_W);

  // users.parquet and products.parquet
  await fs.mkdir(path.join(root, 'users'));
  await fs.mkdir(path.join(root, 'products'));
  await conn.run(
    'CREATE TABLE s_users (user_id DOUBLE, signup_day INTEGER, country VARCHAR, device VARCHAR, age_bucket VARCHAR)',
  );
  {
    const ap = await conn.createAppender('s_users');
    for (let i = 0; i < users.n; i++) {
      ap.appendDouble(i + 1);
      ap.appendInteger(users.signupDay[i]);
      ap.appendVarchar(COUNTRIES[users.country[i]]);
      ap.appendVarchar(DEVICES[users.device[i]]);
      ap.appendVarchar(AGE_BUCKETS[users.age[i]]);
      ap.endRow();
    }
    ap.closeSync();
  }
  await conn.run(
    `COPY (SELECT user_id::BIGINT AS user_id, (DATE '1970-01-01' + signup_day) AS signup_date, country, device, age_bucket FROM s_users) ` +
      `TO ${sqlString(path.join(root, 'users', 'users.parquet'))} ${PARQUET}`,
  );
  await conn.run('CREATE TABLE s_products (product_id DOUBLE, category VARCHAR, price DOUBLE, brand VARCHAR)');
  {
    const ap = await conn.createAppender('s_products');
    for (let i = 0; i < products.n; i++) {
      ap.appendDouble(i + 1);
      ap.appendVarchar(CATEGORIES[products.category[i]]);
      ap.appendDouble(products.price[i]);
      ap.appendVarchar(products.brand[i]);
      ap.endRow();
    }
    ap.closeSync();
  }
  await conn.run(
    `COPY (SELECT product_id::BIGINT AS product_id, category, price, brand FROM s_products) ` +
      `TO ${sqlString(path.join(root, 'products', 'products.parquet'))} ${PARQUET}`,
  );
  await conn.run('DROP TABLE s_users; DROP TABLE s_products');

  for (const t of DAILY_TABLES) {
    await conn.run(`CREATE TABLE s_${t} (${STAGING[t].ddl})`);
    await fs.mkdir(path.join(root, t));
  }

  const counts: Record<DemoTable, number> = {
    users: users.n,
    products: products.n,
    sessions: 0,
    impressions: 0,
    clicks: 0,
    purchases: 0,
  };

  for (let d = 0; d < days; d++) {
    const day = startDay + d;
    const rng = new Rng(streamSeed(seed, 'day', d));
    const dayStartMs = day * DAY_MS;
    const dayEndMs = dayStartMs + DAY_MS - 1;
    const weekday = new Date(dayStartMs).getUTCDay();
    const volume = weekday === 0 || weekday === 6 ? 1.15 : 0.94;

    const aS = await conn.createAppender('s_sessions');
    const aI = await conn.createAppender('s_impressions');
    const aC = await conn.createAppender('s_clicks');
    const aP = await conn.createAppender('s_purchases');

    for (let u = 0; u < users.n; u++) {
      if (users.signupDay[u] > day) continue;
      const nSessions = rng.poisson(users.activity[u] * volume);
      for (let s = 0; s < nSessions; s++) {
        const sessionId = ++counts.sessions;
        const hour = hourTable.sample(rng);
        const startMs = dayStartMs + hour * 3_600_000 + Math.floor(rng.uniform() * 3_600_000);
        const device = rng.bernoulli(0.85) ? users.device[u] : rng.weighted(DEVICE_W);
        aS.appendDouble(sessionId);
        aS.appendDouble(u + 1);
        aS.appendDouble(startMs * 1000);
        aS.appendVarchar(DEVICES[device]);
        aS.appendVarchar(COUNTRIES[users.country[u]]);
        aS.endRow();

        const nImp = Math.min(40, 1 + rng.poisson(MEAN_SESSION_IMPRESSIONS - 1));
        let tMs = startMs;
        for (let pos = 1; pos <= nImp; pos++) {
          tMs = Math.min(dayEndMs, tMs + 1000 + Math.floor(rng.uniform() * 15_000));
          const fav = rng.bernoulli(FAVOURITE_SHARE);
          const p = fav ? categoryTables[users.favourite[u]].sample(rng) : globalTable.sample(rng);
          const impressionId = ++counts.impressions;
          aI.appendDouble(impressionId);
          aI.appendDouble(sessionId);
          aI.appendDouble(u + 1);
          aI.appendDouble(p + 1);
          aI.appendInteger(pos);
          aI.appendDouble(tMs * 1000);
          aI.endRow();

          const logit =
            CLICK_BASE +
            users.latent[u] +
            products.latent[p] +
            (products.category[p] === users.favourite[u] ? AFFINITY : 0) -
            POSITION_EFFECT * Math.log(pos) +
            DEVICE_EFFECT[device] -
            DEVICE_EFFECT[users.device[u]];
          if (!rng.bernoulli(sigmoid(logit))) continue;
          const clickMs = Math.min(dayEndMs, tMs + 500 + Math.floor(rng.uniform() * 20_000));
          counts.clicks++;
          aC.appendDouble(impressionId);
          aC.appendDouble(u + 1);
          aC.appendDouble(p + 1);
          aC.appendDouble(clickMs * 1000);
          aC.endRow();

          const relPrice = Math.log(products.price[p] / CATEGORY_PRICE[products.category[p]]);
          if (!rng.bernoulli(sigmoid(PURCHASE_BASE + 0.5 * users.latent[u] - 0.6 * relPrice))) continue;
          const purchaseMs = Math.min(dayEndMs, clickMs + 30_000 + Math.floor(rng.uniform() * 600_000));
          const quantity = 1 + rng.weighted([85, 12, 3]);
          aP.appendDouble(++counts.purchases);
          aP.appendDouble(u + 1);
          aP.appendDouble(p + 1);
          aP.appendDouble(purchaseMs * 1000);
          aP.appendDouble(Math.round(products.price[p] * quantity * 100) / 100);
          aP.endRow();
        }
      }
    }
    for (const ap of [aS, aI, aC, aP]) ap.closeSync();

    const date = isoDay(day);
    for (const t of DAILY_TABLES) {
      const dir = path.join(root, t, `date=${date}`);
      await fs.mkdir(dir);
      await conn.run(
        `COPY (SELECT ${STAGING[t].select} FROM s_${t}) TO ${sqlString(path.join(dir, 'part-0.parquet'))} ${PARQUET}`,
      );
      await conn.run(`TRUNCATE s_${t}`);
    }
    onProgress?.(d + 1, days, date);
  }

  const tables = {} as Record<DemoTable, DemoTableInfo>;
  for (const t of ['users', 'products'] as const) {
    tables[t] = { path: `${t}/${t}.parquet`, partitionedBy: null, rows: counts[t] };
  }
  for (const t of DAILY_TABLES) tables[t] = { path: t, partitionedBy: 'date', rows: counts[t] };
  return {
    generator: 'plinth demo-data',
    formatVersion: 1,
    seed,
    size: plan.size,
    days,
    startDate: isoDay(startDay),
    endDate: isoDay(plan.endDay),
    rowCounts: counts,
    tables,
    signal: SIGNAL,
  };
}
