'use strict';
/**
 * Plinth's side of bench/training: the compiled kernel-lib's trainers on the data gen.js wrote.
 *
 *   node --expose-gc plinth.js PHASE --data DIR [options]
 *
 * Phases (one per process; each prints one JSON line on stdout, progress on stderr): gbt, rf,
 * logistic, kmeans, onnx. Validation predictions and k-means centroids go to DIR/out, where
 * peer.py's `score` phase scores them with the same code as the peer's.
 *
 * A trainer that is missing or not implemented yet makes its phase print
 * {"available": false, "reason"} and exit 0; any other failure prints {"error"} (and the stack
 * on stderr) and exits 0 too, so one broken step does not throw away a long run's other
 * results. The report shows both.
 *
 * Memory: the peak resident set of this process during the fit (VmHWM, reset just before it by
 * writing 5 to /proc/self/clear_refs), worker threads included, as peer.py measures it.
 */
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { runPhase } = require('../common.js');

const dist = path.join(__dirname, '..', '..', 'kernel-lib', 'dist');
const FEATURES = 28;

const [phase, ...rest] = process.argv.slice(2);
const { values: a } = parseArgs({
  args: rest,
  options: {
    data: { type: 'string' },
    threads: { type: 'string', default: '1' },
    'model-threads': { type: 'string', default: '1' },
    'ort-threads': { type: 'string', default: '1' },
    rows: { type: 'string', default: '0' },
    trees: { type: 'string', default: '100' },
    k: { type: 'string', default: '8' },
    'n-init': { type: 'string', default: '3' },
    seed: { type: 'string', default: '42' },
  },
});
const threads = Number(a.threads);
const seed = Number(a.seed);
const log = (msg) => process.stderr.write(`${msg}\n`);
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const outDir = path.join(a.data, 'out');

class NotAvailable extends Error {}

/** `name` exported by kernel-lib's dist/`file`, or NotAvailable. */
function need(file, name) {
  let mod;
  try {
    mod = require(path.join(dist, file));
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND') throw new NotAvailable(`kernel-lib/dist/${file} is not built`);
    throw e;
  }
  if (typeof mod[name] !== 'function') throw new NotAvailable(`kernel-lib/dist/${file} has no ${name}`);
  return mod[name];
}

/** Runs a phase body; reports "not available" or the error as a result line rather than failing. */
function guarded(name, body) {
  return async () => {
    try {
      await body();
    } catch (e) {
      const notImplemented = e instanceof NotAvailable || /not implemented|not supported yet/i.test(e.message);
      log(`${name} (plinth): ${notImplemented ? 'not available' : 'FAILED'}: ${e.stack ?? e}`);
      emit({
        phase: name,
        side: 'plinth',
        threads,
        available: false,
        [notImplemented ? 'reason' : 'error']: e.message,
      });
    }
  };
}

function meta() {
  return JSON.parse(fs.readFileSync(path.join(a.data, 'meta.json'), 'utf8'));
}

/** Rows [start, end) as float64 columns (the trainers' input) and float64 0/1 labels. */
function load(start, end, { float32 = false } = {}) {
  const { rows } = meta();
  const n = end - start;
  const fd = fs.openSync(path.join(a.data, 'data.f32'), 'r');
  const buf = new Float32Array(n);
  const read = (j) => {
    const bytes = new Uint8Array(buf.buffer);
    let done = 0;
    while (done < bytes.length)
      done += fs.readSync(fd, bytes, done, bytes.length - done, (j * rows + start) * 4 + done);
    return float32 ? Float32Array.from(buf) : Float64Array.from(buf);
  };
  const columns = Array.from({ length: FEATURES }, (_, j) => read(j));
  const y = read(FEATURES);
  fs.closeSync(fd);
  return { columns, y };
}

const featureNames = Array.from({ length: FEATURES }, (_, j) => `f${String(j).padStart(2, '0')}`);

function statusKb(key) {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) : null;
}

/** RSS before the measured step and its peak while it ran (MB); the same method as peer.py. */
function memory() {
  globalThis.gc?.();
  let reset = true;
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    reset = false; // the peak then also covers loading the data
  }
  const before = statusKb('VmRSS');
  return () => {
    const peak = reset ? statusKb('VmHWM') : process.resourceUsage().maxRSS;
    return { rss_before_mb: mb(before), peak_rss_mb: mb(peak), peak_reset: reset };
  };
}
const mb = (kb) => Math.round((kb / 1024) * 10) / 10;

/** Times `fn` (awaited: a trainer may return a promise), with epoch ms for the monitor. */
async function timed(fn) {
  const t0 = Date.now();
  const start = process.hrtime.bigint();
  const value = await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { value, seconds, t0, t1: Date.now() };
}

function savePred(name, p) {
  fs.mkdirSync(outDir, { recursive: true });
  const f64 = Float64Array.from(p);
  fs.writeFileSync(path.join(outDir, `${name}.f64`), new Uint8Array(f64.buffer));
}

/** Mean and population standard deviation per column (as scikit-learn's StandardScaler). */
function standardiser(columns) {
  return columns.map((c) => {
    let mean = 0;
    for (let i = 0; i < c.length; i++) mean += c[i];
    mean /= c.length;
    let v = 0;
    for (let i = 0; i < c.length; i++) v += (c[i] - mean) ** 2;
    const std = Math.sqrt(v / c.length);
    return { mean, scale: std > 0 ? std : 1 };
  });
}
const standardise = (columns, s) => columns.map((c, j) => c.map((v) => (v - s[j].mean) / s[j].scale));

const leafCount = (model) => model.trees.reduce((sum, t) => sum + t.feature.filter((f) => f < 0).length, 0);
const nodeCount = (model) => model.trees.reduce((sum, t) => sum + t.feature.length, 0);

async function gbt() {
  const fitGbt = need('train/gbt', 'fitGbt');
  const predict = need('train/predict', 'predict');
  const m = meta();
  const train = load(0, m.train);
  const valid = load(m.train, m.rows);
  const trees = Number(a.trees);
  log(`plinth fitGbt: ${m.train} rows x ${FEATURES}, ${trees} trees, ${threads} thread(s)`);
  let done = 0;
  const mem = memory();
  // Binning is part of fitGbt, as Dataset construction is part of LightGBM's fit.
  const fit = await timed(() =>
    fitGbt({
      featureNames,
      columns: train.columns,
      y: train.y,
      objective: 'binary',
      numIterations: trees,
      learningRate: 0.1,
      numLeaves: 31,
      maxBin: 255,
      minDataInLeaf: 20,
      // Stated although they are the defaults: peer.py passes LightGBM the same values.
      binSampleCount: 200000,
      minSumHessianInLeaf: 1e-3,
      lambdaL1: 0,
      lambdaL2: 0,
      minGainToSplit: 0,
      baggingFraction: 1,
      featureFraction: 1,
      threads,
      seed,
      onIteration: (info) => {
        done = info?.iteration ?? done + 1;
        if (done % 10 === 0) log(`  plinth: tree ${done}/${trees}`);
      },
    }),
  );
  const memory_ = mem();
  const { model } = fit.value;
  const p = await timed(() => predict(model, valid.columns).probability);
  savePred(`gbt-plinth-t${threads}`, p.value);
  fs.writeFileSync(path.join(outDir, `gbt-plinth-t${threads}.json`), JSON.stringify(model));
  emit({
    phase: 'gbt',
    side: 'plinth',
    threads,
    rows: m.train,
    trees: model.trees.length,
    leaves: leafCount(model),
    seconds: fit.seconds,
    predict_rows: m.valid,
    predict_seconds: p.seconds,
    t0: fit.t0,
    t1: fit.t1,
    ...memory_,
  });
}

async function rf() {
  const fitRandomForest = need('train/forest', 'fitRandomForest');
  const predict = need('train/predict', 'predict');
  const m = meta();
  const rows = Number(a.rows);
  const train = load(0, rows);
  const valid = load(m.train, m.rows);
  const trees = Number(a.trees);
  log(`plinth fitRandomForest: ${rows} rows x ${FEATURES}, ${trees} trees, ${threads} thread(s)`);
  const mem = memory();
  const fit = await timed(() =>
    fitRandomForest({
      featureNames,
      columns: train.columns,
      y: train.y,
      task: 'classification',
      nEstimators: trees,
      maxFeatures: 'sqrt',
      threads,
      seed,
      onTree: (n) => {
        if (n % 10 === 0) log(`  plinth: tree ${n}/${trees}`);
      },
    }),
  );
  const memory_ = mem();
  const { model } = fit.value;
  savePred(`rf-plinth-t${threads}`, predict(model, valid.columns).probability);
  emit({
    phase: 'rf',
    side: 'plinth',
    threads,
    rows,
    trees: model.trees.length,
    nodes: nodeCount(model),
    seconds: fit.seconds,
    t0: fit.t0,
    t1: fit.t1,
    ...memory_,
  });
}

async function logistic() {
  const fitLogisticRegression = need('train/logistic', 'fitLogisticRegression');
  const predictProba = need('train/logistic', 'predictProba');
  const m = meta();
  const rows = Number(a.rows);
  const raw = load(0, rows);
  // Standardised with the training rows' mean and population std, before the clock starts.
  const s = standardiser(raw.columns);
  const columns = standardise(raw.columns, s);
  raw.columns = null;
  const valid = standardise(load(m.train, m.rows).columns, s);
  log(`plinth fitLogisticRegression: ${rows} rows x ${FEATURES}, 1 thread`);
  let iterations = 0;
  const mem = memory();
  const fit = await timed(() =>
    fitLogisticRegression({
      featureNames,
      columns,
      y: raw.y,
      C: 1,
      maxIter: 100,
      tol: 1e-4,
      onIteration: () => iterations++,
    }),
  );
  const memory_ = mem();
  savePred('logistic-plinth-t1', predictProba(fit.value, valid));
  emit({
    phase: 'logistic',
    side: 'plinth',
    threads: 1,
    rows,
    iterations,
    seconds: fit.seconds,
    t0: fit.t0,
    t1: fit.t1,
    ...memory_,
  });
}

async function kmeans() {
  const fitKMeans = need('train/kmeans', 'fitKMeans');
  const rows = Number(a.rows);
  const k = Number(a.k);
  const nInit = Number(a['n-init']);
  const raw = load(0, rows);
  const columns = standardise(raw.columns, standardiser(raw.columns));
  raw.columns = null;
  log(`plinth fitKMeans(lloyd): ${rows} rows x ${FEATURES}, k=${k}, nInit=${nInit}, 1 thread`);
  const mem = memory();
  const fit = await timed(() =>
    fitKMeans({ featureNames, columns, k, nInit, maxIter: 300, tol: 1e-4, algorithm: 'lloyd', seed }),
  );
  const memory_ = mem();
  const { model, inertia, iterations } = fit.value;
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'kmeans-plinth-t1.json'), JSON.stringify({ centroids: model.centroids }));
  emit({
    phase: 'kmeans',
    side: 'plinth',
    threads: 1,
    rows,
    k,
    n_init: nInit,
    iterations,
    inertia,
    seconds: fit.seconds,
    t0: fit.t0,
    t1: fit.t1,
    ...memory_,
  });
}

/**
 * The GBT model the gbt phase fitted, scored on the training rows two ways: the compiled ONNX
 * graph in onnxruntime-node (float32 inputs, as an inference caller holding float32 data
 * passes them: no copy) and the TypeScript reference predictor (float64 columns). Compilation
 * and session creation are timed apart; each is warmed up on 1,000 rows first.
 */
async function onnx() {
  const predictTreeEnsemble = need('train/tree-ensemble', 'predictTreeEnsemble');
  const file = path.join(outDir, `gbt-plinth-t${a['model-threads']}.json`);
  if (!fs.existsSync(file)) throw new NotAvailable(`no Plinth GBT model (${path.basename(file)}): its fit failed`);
  const model = JSON.parse(fs.readFileSync(file, 'utf8'));
  const m = meta();
  const rows = m.train;
  const { columns } = load(0, rows);
  const head = columns.map((c) => c.subarray(0, 1000));
  predictTreeEnsemble(model, head);
  log(`plinth predictTreeEnsemble (TypeScript): ${rows} rows, ${model.trees.length} trees`);
  const ts = await timed(() => predictTreeEnsemble(model, columns).probability);
  const line = {
    phase: 'onnx',
    side: 'plinth',
    rows,
    trees: model.trees.length,
    ts_seconds: ts.seconds,
    ts_rows_per_s: rows / ts.seconds,
    t0: ts.t0,
    t1: ts.t1,
    ort: [],
  };
  try {
    const compilePipeline = need('onnx/compile', 'compilePipeline');
    const { PipelineSession } = require(path.join(dist, 'onnx', 'runtime'));
    const compiled = await timed(() =>
      compilePipeline({ inputs: featureNames.map((name) => ({ name })), stages: [], model }),
    );
    line.compile_seconds = compiled.seconds;
    line.onnx_bytes = compiled.value.length;
    const feeds = (cols) => Object.fromEntries(featureNames.map((name, j) => [name, Float32Array.from(cols[j])]));
    const all = feeds(columns);
    for (const t of [...new Set([1, Number(a['ort-threads'])])]) {
      const created = await timed(() => PipelineSession.create(compiled.value, { intraOpNumThreads: t }));
      const session = created.value;
      await session.run(feeds(head));
      log(`plinth onnxruntime-node: ${rows} rows, ${t} thread(s)`);
      const run = await timed(() => session.run(all));
      const p = run.value.probability;
      let maxAbsDiff = 0;
      for (let i = 0; i < rows; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(p[i] - ts.value[i]));
      line.ort.push({
        threads: t,
        session_seconds: created.seconds,
        seconds: run.seconds,
        rows_per_s: rows / run.seconds,
        max_abs_diff: maxAbsDiff,
        t0: run.t0,
        t1: run.t1,
      });
      await session.dispose?.();
    }
  } catch (e) {
    if (!(e instanceof NotAvailable || /not implemented|not supported yet/i.test(e.message))) throw e;
    log(`onnx (plinth): compiling or running the graph is not available: ${e.message}`);
    line.ort_available = false;
    line.ort_reason = e.message;
  }
  emit(line);
}

runPhase(
  {
    gbt: guarded('gbt', gbt),
    rf: guarded('rf', rf),
    logistic: guarded('logistic', logistic),
    kmeans: guarded('kmeans', kmeans),
    onnx: guarded('onnx', onnx),
  },
  phase,
);
