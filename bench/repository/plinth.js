'use strict';
/**
 * Plinth's side of bench/repository.
 *
 *   node plinth.js load   --data DIR            runs.jsonl -> the run store of `plinth serve --data-dir DIR/plinth`
 *   node plinth.js search --data DIR            the queries against the run store in process (PGlite)
 *   node plinth.js search --data DIR --url URL  the same through POST /api/v1/runs/search
 *
 * Prints JSON lines (bench/repository/report.js reads them); progress goes to stderr.
 */
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { parseArgs } = require('node:util');
/* global fetch */
const { runPhase } = require('../common');

const root = path.resolve(__dirname, '../..');
const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: { data: { type: 'string' }, url: { type: 'string' } },
});
const log = (m) => process.stderr.write(`${m}\n`);
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const metadata = () => require(path.join(root, 'server/dist/stores/metadata'));
const dbDir = () => path.join(a.data, 'plinth', 'metadata');

async function openStore() {
  const { PgliteDriver, SqlMetadataStore } = metadata();
  const driver = await PgliteDriver.open(dbDir());
  const store = new SqlMetadataStore(driver);
  await store.migrate();
  return { driver, store };
}

/** Bulk load: the same rows the API would write, by the thousand (the API's per-run calls would take hours). */
async function load() {
  fs.rmSync(path.join(a.data, 'plinth'), { recursive: true, force: true });
  fs.mkdirSync(dbDir(), { recursive: true });
  const { driver, store } = await openStore();
  const t0 = Date.now();
  const lines = readline.createInterface({ input: fs.createReadStream(path.join(a.data, 'runs.jsonl')) });
  let batch = [];
  let done = 0;
  const flush = async () => {
    if (!batch.length) return;
    const rs = batch;
    batch = [];
    const iso = (ms) => new Date(ms).toISOString();
    await driver.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO runs (id, experiment, name, status, start_time, end_time, created_by, params, tags, metrics)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
                              $7::text[], $8::jsonb[], $9::jsonb[], $10::jsonb[])`,
        [
          rs.map((r) => r.id),
          rs.map((r) => r.experiment),
          rs.map((r) => r.name),
          rs.map((r) => r.status.toLowerCase()),
          rs.map((r) => iso(r.start)),
          rs.map((r) => (r.status === 'RUNNING' ? null : iso(r.start + 600_000))),
          rs.map((r) => r.tags.user),
          rs.map((r) => JSON.stringify(r.params)),
          rs.map((r) => JSON.stringify(r.tags)),
          rs.map((r) =>
            JSON.stringify({
              ...Object.fromEntries(
                Object.entries(r.metrics).map(([k, v]) => [k, { value: v, step: 0, at: iso(r.start + 600_000) }]),
              ),
              loss: { value: r.loss[9], step: 9, at: iso(r.start + 9 * 60_000) },
            }),
          ),
        ],
      );
      const kv = (pick) => rs.flatMap((r) => Object.entries(pick(r)).map(([k, v]) => [r.id, k, v]));
      const params = kv((r) => r.params);
      await tx.query(
        `INSERT INTO run_params (run_id, key, value, num)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[])`,
        [
          params.map((p) => p[0]),
          params.map((p) => p[1]),
          params.map((p) => p[2]),
          params.map((p) => (/^-?\d+(\.\d+)?$/.test(p[2]) ? Number(p[2]) : null)),
        ],
      );
      const tags = kv((r) => r.tags);
      await tx.query(
        `INSERT INTO run_tags (run_id, key, value) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])`,
        [tags.map((t) => t[0]), tags.map((t) => t[1]), tags.map((t) => t[2])],
      );
      // Every point: the final metrics at step 0, the loss at steps 0..9; latest = the last.
      const points = rs.flatMap((r) => [
        ...Object.entries(r.metrics).map(([k, v]) => [r.id, k, 0, v, iso(r.start + 600_000)]),
        ...r.loss.map((v, step) => [r.id, 'loss', step, v, iso(r.start + step * 60_000)]),
      ]);
      await tx.query(
        `INSERT INTO run_metric_history (run_id, key, step, value, at)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::int8[], $4::float8[], $5::timestamptz[])`,
        [
          points.map((p) => p[0]),
          points.map((p) => p[1]),
          points.map((p) => p[2]),
          points.map((p) => p[3]),
          points.map((p) => p[4]),
        ],
      );
      const latest = rs.flatMap((r) => [
        ...Object.entries(r.metrics).map(([k, v]) => [r.id, k, 0, v, iso(r.start + 600_000)]),
        [r.id, 'loss', 9, r.loss[9], iso(r.start + 9 * 60_000)],
      ]);
      await tx.query(
        `INSERT INTO run_metrics (run_id, key, step, value, at)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::int8[], $4::float8[], $5::timestamptz[])`,
        [
          latest.map((p) => p[0]),
          latest.map((p) => p[1]),
          latest.map((p) => p[2]),
          latest.map((p) => p[3]),
          latest.map((p) => p[4]),
        ],
      );
    });
    done += rs.length;
    if (done % 10_000 === 0) log(`  plinth: ${done} runs loaded`);
  };
  for await (const line of lines) {
    if (!line) continue;
    batch.push(JSON.parse(line));
    if (batch.length === 2000) await flush();
  }
  await flush();
  await driver.query('ANALYZE');
  const seconds = (Date.now() - t0) / 1000;
  await store.close();
  emit({ phase: 'load', side: 'plinth', runs: done, seconds });
}

const percentile = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/** Every query x threshold, `repeat` times round-robin, timed one by one. */
async function search() {
  const spec = JSON.parse(fs.readFileSync(path.join(__dirname, 'queries.json'), 'utf8'));
  const experiments = Array.from({ length: 10 }, (_, i) => `exp_${i}`);
  const side = a.url ? 'plinth-http' : 'plinth-store';
  let run;
  let close = async () => {};
  if (a.url) {
    run = async (filter, orderBy) => {
      const res = await fetch(`${a.url}/api/v1/runs/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ experiments, filter, orderBy, maxResults: spec.maxResults }),
      });
      if (!res.ok) throw new Error(`search failed: ${res.status} ${await res.text()}`);
      return (await res.json()).items;
    };
  } else {
    const { store } = await openStore();
    const { parseRunFilter, parseRunOrder } = require(path.join(root, 'server/dist/tracking/run-filter'));
    run = (filter, orderBy) =>
      store.runs.search({
        experiments,
        clauses: parseRunFilter(filter),
        order: parseRunOrder(orderBy),
        limit: spec.maxResults,
        offset: 0,
      });
    close = () => store.close();
  }
  const calls = spec.queries.flatMap((q, qi) =>
    q.t.map((t) => ({ qi, filter: q.filter.replace('{t}', t), orderBy: q.orderBy })),
  );
  for (const c of calls) await run(c.filter, c.orderBy); // warm-up: one of each
  const times = spec.queries.map(() => []);
  const answers = {};
  const t0 = Date.now();
  for (let rep = 0; rep < spec.repeat; rep++) {
    for (const c of calls) {
      const start = process.hrtime.bigint();
      const items = await run(c.filter, c.orderBy);
      times[c.qi].push(Number(process.hrtime.bigint() - start) / 1e6);
      if (rep === 0) answers[`${c.filter} | ${c.orderBy.join(',')}`] = items.map((r) => r.id);
    }
  }
  const t1 = Date.now();
  await close();
  const all = times.flat();
  spec.queries.forEach((q, qi) =>
    emit({
      phase: 'search',
      side,
      query: q.name,
      calls: times[qi].length,
      p50_ms: percentile(times[qi], 50),
      p99_ms: percentile(times[qi], 99),
      t0,
      t1,
    }),
  );
  emit({
    phase: 'search-all',
    side,
    calls: all.length,
    p50_ms: percentile(all, 50),
    p99_ms: percentile(all, 99),
    t0,
    t1,
  });
  fs.writeFileSync(path.join(a.data, `answers-${side}.json`), JSON.stringify(answers));
}

runPhase({ load, search }, positionals[0]);
