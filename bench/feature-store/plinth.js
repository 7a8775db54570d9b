'use strict';
/**
 * The Plinth side of bench/feature-store, one phase per process so that peak memory is the
 * phase's own. Drives the product's real code paths from server/dist (job handlers, registry,
 * stores), not a re-implementation. Prints one JSON line: the phase's measurements.
 *
 *   node plinth.js gen    --data DIR --labels N --entities E --days D --views V --rows R
 *   node plinth.js setup  --data DIR          (apply + materialize every view)
 *   node plinth.js push   --data DIR --rows R (online push of R distinct entities into a fresh LMDB)
 *   node plinth.js join   --data DIR          (point-in-time example set)
 *   node plinth.js stats  --data DIR --rows R (statistics over R rows x 12 columns)
 */
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { runPhase } = require('../common.js');

const dist = path.join(__dirname, '..', '..', 'server', 'dist');
const { loadConfig } = require(path.join(dist, 'config'));
const { openPlatform } = require(path.join(dist, 'platform'));
const { OfflineEngine } = require(path.join(dist, 'offline', 'duckdb'));
const { materialize } = require(path.join(dist, 'featurestore', 'materialize'));
const { buildExampleSet } = require(path.join(dist, 'featurestore', 'example-sets'));
const { pushLatestOnline } = require(path.join(dist, 'featurestore', 'online-push'));
const { computeStatistics } = require(path.join(dist, 'featurestore', 'statistics'));
const { LmdbOnlineStore } = require(path.join(__dirname, '..', '..', 'kernel-lib', 'dist', 'online', 'lmdb-store'));

const FEATURES = 10;
const THREADS = 2;

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string' },
    labels: { type: 'string', default: '10000000' },
    entities: { type: 'string', default: '100000' },
    days: { type: 'string', default: '90' },
    views: { type: 'string', default: '5' },
    rows: { type: 'string', default: '2000000' },
    ttl: { type: 'string', default: String(30 * 86400) },
  },
});
const phase = positionals[0];
const data = path.resolve(a.data);
const lake = path.join(data, 'lake');
const views = Number(a.views);
const featureNames = Array.from({ length: FEATURES }, (_, i) => `f${i}`);

const ctx = (log = false) => ({
  jobId: `bench-${phase}-${Date.now()}`,
  progress: async () => undefined,
  log: async (l) => (log ? process.stderr.write(`  ${l}\n`) : undefined),
});

async function platform() {
  const config = loadConfig({ dataDir: path.join(data, 'plinth'), lakeDir: lake, logLevel: 'silent' }, {});
  return openPlatform(config);
}

function report(obj) {
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ phase, ...obj, maxRssMiB: Math.round(maxRssMiB) })}\n`);
}

/** The lake: labels (the spine) and one Parquet table per feature view, written by DuckDB. */
async function gen() {
  // A new lake starts a new platform: nothing left from an earlier run's registry or stores.
  fs.rmSync(data, { recursive: true, force: true });
  fs.mkdirSync(lake, { recursive: true });
  const e = await OfflineEngine.create({ threads: THREADS });
  const N = Number(a.labels);
  const E = Number(a.entities);
  const span = Number(a.days) * 86400;
  const t0 = Date.now();
  // UTC timestamps (TIMESTAMPTZ): what Feast reads without a per-row conversion.
  await e.run("SET TimeZone = 'UTC'");
  // Deterministic pseudo-random numbers from the row number (hash), so reruns give the same data.
  const r = (i, salt) => `(hash(${i}, ${salt}) % 1000000)::DOUBLE / 1000000`;
  await e.run(
    `COPY (SELECT (hash(i, 1) % ${E})::BIGINT AS user_id,
                  timezone('UTC', TIMESTAMP '2026-01-01' + to_seconds((hash(i, 2) % ${span})::BIGINT)) AS ts,
                  (${r('i', 3)} < 0.3)::INT AS y
           FROM range(${N}) t(i)) TO '${path.join(lake, 'labels.parquet')}' (FORMAT parquet)`,
  );
  for (let v = 0; v < views; v++) {
    const R = Number(a.rows);
    const feats = featureNames.map((f, k) => `round(${r('i', 100 * v + k + 10)} * 100, 3) AS ${f}`).join(', ');
    await e.run(
      `COPY (SELECT (hash(i, ${100 * v + 4}) % ${E})::BIGINT AS user_id,
                    timezone('UTC', TIMESTAMP '2026-01-01' + to_seconds((hash(i, ${100 * v + 5}) % ${span})::BIGINT)) AS ts,
                    timezone('UTC', TIMESTAMP '2026-01-01' + to_seconds((hash(i, ${100 * v + 5}) % ${span})::BIGINT + 60)) AS created,
                    ${feats}
             FROM range(${R}) t(i)) TO '${path.join(lake, `fv${v}.parquet`)}' (FORMAT parquet)`,
    );
  }
  e.close();
  report({ seconds: (Date.now() - t0) / 1000, labels: N, entities: E, views, featureRowsPerView: Number(a.rows) });
}

async function setup() {
  const p = await platform();
  const apply = (kind, doc) => p.registry.apply(kind, doc, 'bench');
  await apply('entity', { name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });
  await apply('data-source', { name: 'labels', path: 'labels.parquet', format: 'parquet', timestampColumn: 'ts' });
  await apply('label-view', {
    name: 'clicked',
    entities: ['user'],
    sources: ['labels'],
    sql: 'SELECT user_id, ts, y FROM labels',
    timestampColumn: 'ts',
    labels: [{ name: 'y', type: 'int32' }],
  });
  for (let v = 0; v < views; v++) {
    await apply('data-source', { name: `src${v}`, path: `fv${v}.parquet`, format: 'parquet', timestampColumn: 'ts' });
    await apply('feature-view', {
      name: `fv${v}`,
      entities: ['user'],
      sources: [`src${v}`],
      sql: `SELECT user_id, ts, created, ${featureNames.join(', ')} FROM src${v}`,
      timestampColumn: 'ts',
      createdTimestampColumn: 'created',
      ttlSeconds: Number(a.ttl),
      features: featureNames.map((name) => ({ name, type: 'float64' })),
    });
  }
  const runs = [];
  for (const view of ['clicked', ...Array.from({ length: views }, (_, v) => `fv${v}`)]) {
    const t0 = Date.now();
    const r = await materialize(p, { view }, ctx());
    runs.push({ view, rows: r.rows, onlineWritten: r.onlineWritten, seconds: (Date.now() - t0) / 1000 });
  }
  await p.close();
  const rows = runs.reduce((s, r) => s + r.rows, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  report({ runs, rows, seconds, rowsPerSecond: Math.round(rows / seconds) });
}

/** Online push alone: R distinct entities x 10 features from a DuckDB table into a fresh LMDB. */
async function push() {
  const R = Number(a.rows);
  const dir = path.join(data, 'push-lmdb');
  fs.rmSync(dir, { recursive: true, force: true });
  const online = LmdbOnlineStore.open(dir);
  const e = await OfflineEngine.create({ threads: THREADS });
  await e.run(
    `CREATE TABLE rows AS SELECT i::BIGINT AS user_id, TIMESTAMP '2026-01-01' + to_seconds(i % 86400) AS ts,
            ${featureNames.map((f, k) => `(hash(i, ${k}) % 1000)::DOUBLE / 10 AS ${f}`).join(', ')}
     FROM range(${R}) t(i)`,
  );
  const t0 = process.hrtime.bigint();
  const r = await pushLatestOnline(e, 'rows', online, {
    view: 'push_bench',
    keys: ['user_id'],
    timestampColumn: 'ts',
    features: featureNames,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  e.close();
  await online.close();
  report({ rows: R, written: r.written, seconds, rowsPerSecond: Math.round(r.written / seconds) });
}

async function join() {
  const p = await platform();
  const t0 = Date.now();
  const es = await buildExampleSet(
    p,
    { name: 'bench', labelView: 'clicked', features: Array.from({ length: views }, (_, v) => `fv${v}`) },
    ctx(),
  );
  const seconds = (Date.now() - t0) / 1000;
  const files = es.location.files;
  await p.close();
  report({ seconds, rows: es.rows, files });
}

/** Statistics over R rows x (key, timestamp, 10 features), the computation every materialization runs. */
async function stats() {
  const R = Number(a.rows);
  const e = await OfflineEngine.create({ threads: THREADS });
  await e.run(
    `CREATE TABLE t AS SELECT (hash(i, 1) % 100000)::BIGINT AS user_id, TIMESTAMP '2026-01-01' + to_seconds(i % 7776000) AS ts,
            ${featureNames.map((f, k) => `CASE WHEN hash(i, ${k + 20}) % 50 = 0 THEN NULL ELSE (hash(i, ${k}) % 100000)::DOUBLE / 100 END AS ${f}`).join(', ')}
     FROM range(${R}) t(i)`,
  );
  // The same rows for the reference computation (pandas describe) in the peer's venv.
  await e.run(`COPY t TO '${path.join(data, 'stats.parquet')}' (FORMAT parquet)`);
  const columns = [
    { name: 'user_id', type: 'int64', role: 'key' },
    { name: 'ts', type: 'timestamp', role: 'timestamp' },
    ...featureNames.map((name) => ({ name, type: 'float64', role: 'feature' })),
  ];
  const t0 = Date.now();
  const s = await computeStatistics(e, 't', columns, {
    view: 'bench',
    version: 1,
    jobId: 'bench',
    bytes: 0,
    lastEventTime: null,
  });
  const seconds = (Date.now() - t0) / 1000;
  e.close();
  report({ rows: s.rows, columns: columns.length, seconds });
}

runPhase({ gen, setup, push, join, stats }, phase);
