'use strict';
/**
 * The data and the Plinth setup of bench/online-store, one phase per process. Drives the
 * product's real code paths from server/dist (registry, materialization job, stores). Prints
 * one JSON line: the phase's measurements.
 *
 *   node plinth.js gen   --data DIR --entities N        (the Parquet file both sides read)
 *   node plinth.js setup --data DIR [--online-store URL] (apply + materialize into LMDB, or Redis)
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
const { VIEW, FEATURES } = require('./shared');

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string' },
    entities: { type: 'string', default: '100000' },
    'online-store': { type: 'string' },
  },
});
const phase = positionals[0];
const data = path.resolve(a.data);
const lake = path.join(data, 'lake');

function report(obj) {
  process.stdout.write(`${JSON.stringify({ phase, ...obj })}\n`);
}

/** One row per entity: user_id, event_timestamp and 50 float64 features, written by DuckDB. */
async function gen() {
  // New data, new platform and Feast repository: nothing left from an earlier run.
  fs.rmSync(data, { recursive: true, force: true });
  fs.mkdirSync(lake, { recursive: true });
  const N = Number(a.entities);
  const e = await OfflineEngine.create({ threads: 2 });
  const t0 = Date.now();
  await e.run("SET TimeZone = 'UTC'");
  // Deterministic pseudo-random values from the row number (hash): reruns give the same data.
  const r = (salt) => `round((hash(i, ${salt}) % 1000000)::DOUBLE / 10000, 3)`;
  await e.run(
    `COPY (SELECT i::BIGINT AS user_id,
                  timezone('UTC', TIMESTAMP '2026-01-01' + to_seconds((hash(i, 1) % ${30 * 86400})::BIGINT)) AS event_timestamp,
                  ${FEATURES.map((f, k) => `${r(k + 10)} AS ${f}`).join(', ')}
           FROM range(${N}) t(i)) TO '${path.join(lake, 'users.parquet')}' (FORMAT parquet)`,
  );
  e.close();
  report({ seconds: (Date.now() - t0) / 1000, entities: N, features: FEATURES.length });
}

/** apply (entity, source, view) + a full materialization into the configured online store. */
async function setup() {
  const flags = { dataDir: path.join(data, 'plinth'), lakeDir: lake, logLevel: 'silent' };
  if (a['online-store']) flags.onlineStore = a['online-store'];
  const p = await openPlatform(loadConfig(flags, {}));
  try {
    const apply = (kind, doc) => p.registry.apply(kind, doc, 'bench');
    await apply('entity', { name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });
    await apply('data-source', {
      name: 'users',
      path: 'users.parquet',
      format: 'parquet',
      timestampColumn: 'event_timestamp',
    });
    await apply('feature-view', {
      name: VIEW,
      entities: ['user'],
      sources: ['users'],
      sql: `SELECT user_id, event_timestamp, ${FEATURES.join(', ')} FROM users`,
      timestampColumn: 'event_timestamp',
      features: FEATURES.map((name) => ({ name, type: 'float64' })),
    });
    const ctx = { jobId: `bench-${Date.now()}`, progress: async () => undefined, log: async () => undefined };
    const t0 = Date.now();
    const r = await materialize(p, { view: VIEW }, ctx);
    const seconds = (Date.now() - t0) / 1000;
    const size = await p.online.size(VIEW);
    report({ store: p.online.description, rows: r.rows, onlineWritten: r.onlineWritten, seconds, size });
  } finally {
    await p.close();
  }
}

runPhase({ gen, setup }, phase);
