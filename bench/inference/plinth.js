'use strict';
/**
 * Plinth's side of bench/inference, one phase per process. The data is bench/online-store's
 * (its plinth.js gen + setup: the `user_stats` view, f0..f49 by user_id, in LMDB and Redis).
 *
 *   node plinth.js deploy  --data DIR --url CP --entities N --rows R --requests K
 *       trains the GBT (100 trees, 31 leaves) on R entities' features and a synthetic label,
 *       publishes it as a pipeline reading the 50 features online, deploys it, writes the
 *       artifact's bytes (model.onnx), the request bodies of both sides and the cross-check entities
 *   node plinth.js answer  --data DIR --side S --url U   the cross-check entities' predictions from a server
 *   node plinth.js compare --data DIR                    every side's answers against in-process onnxruntime-node
 *
 * Prints JSON lines (report.js reads them); progress goes to stderr.
 */
/* global fetch */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { runPhase, seededRandom } = require('../common');
const { VIEW, FEATURES } = require('../online-store/shared');

const root = path.resolve(__dirname, '../..');
const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string' },
    url: { type: 'string' },
    side: { type: 'string' },
    entities: { type: 'string', default: '100000' },
    rows: { type: 'string', default: '20000' },
    requests: { type: 'string', default: '20000' },
  },
});
const phase = positionals[0];
const data = path.resolve(a.data ?? '.');
const emit = (o) => process.stdout.write(`${JSON.stringify({ phase, ...o })}\n`);
const log = (m) => process.stderr.write(`${m}\n`);
const kernelLib = () => require(path.join(root, 'kernel-lib/dist'));

const MODEL = { name: 'bench_inference_gbt', trees: 100, leaves: 31, seed: 7 };
const DEPLOYMENT = 'bench_inference';
/** Entities per request of the two load shapes: one (what micro-batching is for) and ten. */
const SHAPES = [1, 10];
/** Entities whose predictions every side must agree on. */
const CHECK_ENTITIES = 40;
const file = (name) => path.join(data, 'inference', name);

/** The features of every entity as columns (row i = user_id i), read from the lake file the views materialized. */
async function featureColumns(n) {
  const { OfflineEngine } = require(path.join(root, 'server/dist/offline/duckdb'));
  const e = await OfflineEngine.create({ threads: 2 });
  const rows = await e.rows(
    `SELECT user_id, ${FEATURES.join(', ')} FROM '${path.join(data, 'lake', 'users.parquet')}' ORDER BY user_id`,
  );
  e.close();
  if (rows.length !== n) throw new Error(`expected ${n} entities in the lake, found ${rows.length}`);
  rows.forEach((r, i) => {
    if (Number(r.user_id) !== i) throw new Error(`user_id ${r.user_id} at row ${i}: expected 0..N-1`);
  });
  return FEATURES.map((f) => Float64Array.from(rows, (r) => r[f]));
}

/**
 * A binary label the trees need many splits for: a weighted sum of the (centred) features and of
 * sines of a few of them, plus seeded noise. Features are in [0, 100).
 */
function syntheticLabel(columns, rows) {
  const rand = seededRandom(MODEL.seed);
  const w = FEATURES.map(() => rand() * 2 - 1);
  return Float64Array.from({ length: rows }, (_, i) => {
    let z = 0;
    for (let j = 0; j < FEATURES.length; j++) {
      const x = (columns[j][i] - 50) / 50;
      z += w[j] * x + (j % 5 === 0 ? Math.sin(4 * x) / 2 : 0);
    }
    return z + (rand() - 0.5) * 2 > 0 ? 1 : 0;
  });
}

/** `count` lists of `per` seeded random entity ids: the same ids for every side and every run. */
function idLists(n, per, count) {
  const rnd = seededRandom(1000 + per);
  return Array.from({ length: count }, () => Array.from({ length: per }, () => Math.floor(rnd() * n)));
}

/** The features of some entities as the peer's request: MLflow's dataframe_split, 50 values per row. */
const mlflowBody = (columns, ids) =>
  JSON.stringify({ dataframe_split: { columns: FEATURES, data: ids.map((id) => columns.map((c) => c[id])) } });
const plinthBody = (ids) => JSON.stringify({ instances: ids.map((user_id) => ({ user_id })) });

async function deploy() {
  const { train, pipelineSpec, connect } = kernelLib();
  const { tableFromArrays } = require('apache-arrow');
  const n = Number(a.entities);
  const trainRows = Math.min(n, Number(a.rows));
  fs.mkdirSync(file(''), { recursive: true });
  const columns = await featureColumns(n);
  const label = syntheticLabel(columns, trainRows);
  const table = tableFromArrays({
    ...Object.fromEntries(FEATURES.map((f, j) => [f, columns[j].subarray(0, trainRows)])),
    label,
  });
  log(`  training a GBT of ${MODEL.trees} trees (${MODEL.leaves} leaves) on ${trainRows} rows x ${FEATURES.length}`);
  const t0 = Date.now();
  const result = train({
    data: table,
    label: 'label',
    features: FEATURES,
    model: 'gbt',
    params: { numIterations: MODEL.trees, numLeaves: MODEL.leaves, seed: MODEL.seed },
    display: false,
  });
  const trainSeconds = (Date.now() - t0) / 1000;
  // Trained on an in-memory table (no example set), so the sources a notebook would get from the
  // example set's metadata are given here: every feature is read online from user_stats.
  const sourced = { ...result, sources: Object.fromEntries(FEATURES.map((f) => [f, `${VIEW}:${f}`])) };
  const spec = pipelineSpec(MODEL.name, sourced);
  const p = connect({ url: a.url });
  const reference = tableFromArrays(Object.fromEntries(FEATURES.map((f, j) => [f, columns[j].slice(0, 32)])));
  const mv = await p.publish(MODEL.name, spec, sourced, { referenceData: reference });
  const d = await p.client.deploy(DEPLOYMENT, { model: mv.name, version: mv.version });
  // The peer serves the very bytes the inference tier loads: the stored artifact.
  const bytes = await p.client.getArtifact(mv.artifact.sha256);
  if (crypto.createHash('sha256').update(bytes).digest('hex') !== mv.artifact.sha256)
    throw new Error('artifact sha256 mismatch');
  fs.writeFileSync(file('model.onnx'), bytes);

  // Request bodies, the same entity ids on every side: Plinth gets the ids (it reads the features
  // itself), MLflow the same entities' 50 values (dataframe_split), the raw ceiling the values in memory.
  const count = Number(a.requests);
  for (const per of SHAPES) {
    const lists = idLists(n, per, per === 1 ? count : Math.ceil(count / per));
    fs.writeFileSync(file(`bodies-plinth-${per}.json`), JSON.stringify(lists.map(plinthBody)));
    fs.writeFileSync(file(`bodies-mlflow-${per}.json`), JSON.stringify(lists.map((ids) => mlflowBody(columns, ids))));
  }
  const rawIds = idLists(n, 1, 4096).flat();
  fs.writeFileSync(
    file('raw-features.json'),
    JSON.stringify(Object.fromEntries(FEATURES.map((f, j) => [f, rawIds.map((id) => columns[j][id])]))),
  );
  const checkIds = idLists(n, CHECK_ENTITIES, 1)[0];
  fs.writeFileSync(
    file('check.json'),
    JSON.stringify({
      ids: checkIds,
      features: Object.fromEntries(FEATURES.map((f, j) => [f, checkIds.map((id) => columns[j][id])])),
    }),
  );
  const trees = result.model.trees;
  emit({
    model: mv.name,
    version: mv.version,
    deployment: d.name,
    sanity: d.sanity,
    trees: trees.length,
    leaves: Math.max(...trees.map((t) => t.feature.filter((j) => j === -1).length)), // -1: a leaf
    features: FEATURES.length,
    train_rows: trainRows,
    train_seconds: trainSeconds,
    train_auc: result.metrics.train.auc,
    positive_rate: label.reduce((s, x) => s + x, 0) / trainRows,
    onnx_bytes: bytes.length,
    sha256: mv.artifact.sha256,
  });
}

/** The check entities' probabilities from one server, 10 entities per request. */
async function answer() {
  const check = JSON.parse(fs.readFileSync(file('check.json'), 'utf8'));
  const mlflow = a.side.startsWith('mlflow');
  const out = [];
  for (let i = 0; i < check.ids.length; i += 10) {
    const ids = check.ids.slice(i, i + 10);
    const body = mlflow
      ? JSON.stringify({
          dataframe_split: {
            columns: FEATURES,
            data: ids.map((_, k) => FEATURES.map((f) => check.features[f][i + k])),
          },
        })
      : plinthBody(ids);
    const res = await fetch(mlflow ? `${a.url}/invocations` : `${a.url}/v1/predict/${DEPLOYMENT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${a.side}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    const doc = JSON.parse(text);
    // MLflow: {"predictions": [p, ...]}; Plinth: {"predictions": [{"outputs": {"probability": p}, ...}]}
    for (const p of doc.predictions) out.push(mlflow ? Number(p) : p.outputs.probability);
  }
  fs.writeFileSync(file(`answer-${a.side}.json`), JSON.stringify(out));
  emit({ side: a.side, entities: out.length, first: out.slice(0, 3) });
}

/** Every side's answers against the same graph run in process on the same features; fails above 1e-6. */
async function compare() {
  const { PipelineSession } = kernelLib();
  const check = JSON.parse(fs.readFileSync(file('check.json'), 'utf8'));
  const session = await PipelineSession.create(fs.readFileSync(file('model.onnx')));
  const expected = Array.from((await session.run(check.features)).probability);
  const sides = fs
    .readdirSync(file(''))
    .filter((f) => /^answer-.*\.json$/.test(f))
    .map((f) => f.slice(7, -5));
  const diffs = {};
  for (const side of sides) {
    const got = JSON.parse(fs.readFileSync(file(`answer-${side}.json`), 'utf8'));
    if (got.length !== expected.length) throw new Error(`${side}: ${got.length} answers, expected ${expected.length}`);
    diffs[side] = Math.max(...got.map((g, i) => Math.abs(g - expected[i])));
  }
  const worst = Math.max(...Object.values(diffs));
  emit({ entities: expected.length, sides, max_abs_diff: diffs, ok: worst <= 1e-6, sample: expected.slice(0, 3) });
  if (!(worst <= 1e-6)) throw new Error(`predictions differ by up to ${worst} (> 1e-6): ${JSON.stringify(diffs)}`);
}

runPhase({ deploy, answer, compare }, phase);
