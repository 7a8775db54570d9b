'use strict';
/**
 * Plinth's side of bench/repository.
 *
 *   node plinth.js load   --data DIR            runs.jsonl -> the run store of `plinth serve --data-dir DIR/plinth`
 *   node plinth.js search --data DIR            the queries against the run store in process (PGlite)
 *   node plinth.js search --data DIR --url URL  the same through POST /api/v1/runs/search
 *   node plinth.js model  --data DIR --reps N   trains the 500-tree GBT once (DIR/model), compiles its graphs
 *   node plinth.js publish --data DIR --url URL publishes it N times through the control plane, then loads each version
 *
 * Prints JSON lines (bench/repository/report.js reads them); progress goes to stderr.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { parseArgs } = require('node:util');
/* global fetch */
const { runPhase, seededRandom } = require('../common');

const root = path.resolve(__dirname, '../..');
const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string' },
    url: { type: 'string' },
    reps: { type: 'string', default: '20' },
    rows: { type: 'string', default: '20000' },
  },
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

// ---- publish and load a 500-tree model ----

/** The model of the publish/load steps; a DIR/model whose meta.json matches is reused. */
const MODEL = { version: 'gbt500-1', name: 'bench_gbt500', trees: 500, leaves: 31, features: 28, seed: 42 };
const modelDir = () => path.join(a.data, 'model');
const graphFile = (i) => path.join(modelDir(), `graph-${i}.onnx`);
const sha256Hex = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');
const kernelLib = () => require(path.join(root, 'kernel-lib/dist'));

/**
 * Trains a binary GBT of 500 trees with 31 leaves on 28 generated features (kernel-lib's train(),
 * as a notebook would), makes its pipeline document (every feature a request-time input: the
 * control plane has no feature views here) and compiles one ONNX graph per repetition, warm-up
 * first: the same graph each time but for a `bench.repetition` metadata entry, so that every
 * publish stores new bytes on both sides (Plinth would not store identical bytes twice). Both
 * sides publish exactly these files. Also writes 8 rows (check.json) both sides predict after loading.
 */
async function model() {
  const reps = Number(a.reps);
  const rows = Number(a.rows);
  const meta = { ...MODEL, rows, reps };
  const dir = modelDir();
  const metaFile = path.join(dir, 'meta.json');
  if (fs.existsSync(metaFile) && fs.readFileSync(metaFile, 'utf8') === JSON.stringify(meta)) {
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'info.json'), 'utf8'));
    emit({ phase: 'model', reused: true, ...info });
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const { train, pipelineSpec, compilePipelineDocument } = kernelLib();
  const { tableFromArrays } = require('apache-arrow');
  const rand = seededRandom(MODEL.seed);
  const names = Array.from({ length: MODEL.features }, (_, j) => `f${String(j).padStart(2, '0')}`);
  const columns = names.map(() => Float64Array.from({ length: rows }, () => rand() * 2 - 1));
  // A label the trees need many splits for: a sum of sines of every feature, plus noise.
  const label = Float64Array.from({ length: rows }, (_, i) => {
    let z = 0;
    columns.forEach((c, j) => (z += Math.sin(3 * c[i] * (1 + (j % 3))) / (1 + j / 4)));
    return z + 0.5 * (rand() - 0.5) > 0 ? 1 : 0;
  });
  const t0 = Date.now();
  log(`  plinth: training a GBT of ${MODEL.trees} trees (${MODEL.leaves} leaves) on ${rows} rows x ${names.length}`);
  const result = train({
    data: tableFromArrays({ ...Object.fromEntries(names.map((n, j) => [n, columns[j]])), label }),
    label: 'label',
    features: names,
    model: 'gbt',
    params: { numIterations: MODEL.trees, numLeaves: MODEL.leaves, seed: MODEL.seed },
    display: false,
  });
  const trainSeconds = (Date.now() - t0) / 1000;
  const spec = pipelineSpec(MODEL.name, result, { requestFeatures: names });
  fs.writeFileSync(path.join(dir, 'pipeline.json'), JSON.stringify(spec));
  const check = Object.fromEntries(names.map((n, j) => [n, Array.from(columns[j].subarray(0, 8))]));
  fs.writeFileSync(path.join(dir, 'check.json'), JSON.stringify(check));
  let bytes = 0;
  for (let i = 0; i <= reps; i++) {
    const { onnx } = compilePipelineDocument(spec, { 'model.name': MODEL.name, 'bench.repetition': String(i) });
    fs.writeFileSync(graphFile(i), onnx);
    bytes = onnx.length;
  }
  const trees = result.model.trees;
  const info = {
    trees: trees.length,
    leaves: Math.max(...trees.map((t) => t.feature.filter((j) => j === -1).length)), // -1: a leaf
    features: names.length,
    rows,
    reps,
    onnx_bytes: bytes,
    pipeline_json_bytes: fs.statSync(path.join(dir, 'pipeline.json')).size,
    train_auc: result.metrics.train.auc,
    train_seconds: trainSeconds,
  };
  fs.writeFileSync(path.join(dir, 'info.json'), JSON.stringify(info));
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  emit({ phase: 'model', reused: false, ...info });
}

/**
 * Publishes the model's graphs through the running control plane (the typed client: the artifact
 * by its sha256, then the version with its pipeline document), one version per repetition after
 * a warm-up, then loads each version back as a notebook does (kernel-lib's loadPipeline: the
 * version, the artifact, its sha256 checked, an onnxruntime session) and predicts check.json.
 */
async function publish() {
  const { connect } = kernelLib();
  const p = connect({ url: a.url });
  const dir = modelDir();
  const info = JSON.parse(fs.readFileSync(path.join(dir, 'info.json'), 'utf8'));
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'pipeline.json'), 'utf8'));
  const check = JSON.parse(fs.readFileSync(path.join(dir, 'check.json'), 'utf8'));
  const name = `${MODEL.name}_${Date.now().toString(36)}`;
  const versions = [];
  const publishMs = [];
  const t0 = Date.now();
  for (let i = 0; i <= info.reps; i++) {
    const bytes = fs.readFileSync(graphFile(i));
    const start = process.hrtime.bigint();
    const sha256 = sha256Hex(bytes);
    await p.client.putArtifact(sha256, bytes);
    const mv = await p.client.publishModelVersion(name, {
      pipeline: spec,
      artifact: { sha256, bytes: bytes.length, format: 'onnx' },
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (i > 0) publishMs.push(ms); // 0 is the warm-up
    versions.push(mv.version);
  }
  const t1 = Date.now();
  const loadMs = [];
  let predictions;
  for (let i = 0; i <= info.reps; i++) {
    const start = process.hrtime.bigint();
    const pipeline = await p.loadPipeline(name, versions[i]);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (i > 0) loadMs.push(ms);
    if (i === info.reps) predictions = Array.from((await pipeline.run(check)).probability);
    await pipeline.session.dispose?.();
  }
  const t2 = Date.now();
  const stats = (xs) => ({ calls: xs.length, p50_ms: percentile(xs, 50), p99_ms: percentile(xs, 99) });
  emit({ phase: 'publish', side: 'plinth', model: name, bytes: info.onnx_bytes, ...stats(publishMs), t0, t1 });
  emit({ phase: 'model-load', side: 'plinth', model: name, ...stats(loadMs), predictions, t0: t1, t1: t2 });
}

runPhase({ load, search, model, publish }, positionals[0]);
