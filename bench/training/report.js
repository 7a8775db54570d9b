'use strict';
/** Turns a bench/training run (JSON lines) into bench/results/training.{json,md}. */
const fs = require('node:fs');
const path = require('node:path');

const [file, scale, outDir, monitorFile] = process.argv.slice(2);
const { jsonLines, monitorSamples, markDisturbed } = require('../common.js');
const lines = jsonLines(file);

// CPU other processes used while each measurement ran (bench/monitor.js).
const samples = monitorSamples(monitorFile);
const measured = [];
for (const l of lines) {
  if (l.t0 === undefined) continue;
  const threads = (n) => `${n} thread${n > 1 ? 's' : ''}`;
  measured.push({
    m: l,
    label:
      l.phase === 'onnx' ? 'inference, TypeScript predictTreeEnsemble' : `${l.phase}, ${l.side}, ${threads(l.threads)}`,
  });
  for (const x of l.ort ?? []) measured.push({ m: x, label: `inference, onnxruntime-node, ${threads(x.threads)}` });
}
for (const { m } of measured) markDisturbed(m, samples);
const mark = (m) => (m?.disturbed ? ' †' : '');

const one = (pred) => lines.find(pred);
const env = one((l) => l.phase === 'env');
const gen = one((l) => l.phase === 'gen');
if (!env || !gen) throw new Error(`${file}: no env or gen line`);
const result = (phase, side, threads) =>
  one((l) => l.phase === phase && l.side === side && (threads === undefined || l.threads === threads));
const score = (name) => one((l) => l.phase === 'score' && l.name === name) ?? {};
const ok = (l) => Boolean(l) && l.available !== false;
/** Why a Plinth result is missing: "not available (...)" or "failed (...)". */
const why = (l) => (!l ? 'missing' : l.reason ? `not available (${l.reason})` : `failed (${l.error})`);

const round = (x, d) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
const r2 = (x) => round(x, 2);
const r3 = (x) => round(x, 3);
const r4 = (x) => round(x, 4);
const sig = (x, n = 3) => (x === null || x === undefined ? null : Number(x.toPrecision(n)));

const rows = [];
/**
 * One result row. `better`: 'lower' (times, memory, losses) or 'higher' (AUC, rates);
 * `advantage` > 1 means Plinth is better (peer / Plinth, or Plinth / peer). Quality metrics
 * carry `difference` (Plinth - peer) instead.
 */
const row = (metric, unit, plinth, peer, peerValue, better, extra = {}) => {
  const ratioWanted = better && !extra.difference_only;
  const advantage =
    ratioWanted && plinth && peerValue ? r3(better === 'lower' ? peerValue / plinth : plinth / peerValue) : null;
  const { difference_only: _, ...rest } = extra;
  rows.push({ metric, unit, plinth, peer, peer_value: peerValue, advantage, ...rest });
};

const versions = {
  node: env.node,
  python: env.python.replace(/^Python /, ''),
  lightgbm: env.lightgbm,
  'scikit-learn': env.sklearn,
  numpy: env.numpy,
  'onnxruntime-node': env.onnxruntime_node,
};
const lgbName = `lightgbm ${env.lightgbm}`;
const skName = (what) => `scikit-learn ${env.sklearn} ${what}`;
const targets = [];
const target = (what, met, measuredText, gap, from = []) => {
  const d = from.filter((m) => m?.disturbed);
  const note = d.length
    ? ` (disturbed: other processes used up to ${Math.max(...d.map((m) => m.foreign_cpu.max))} cores)`
    : '';
  targets.push({ target: what, met, measured: measuredText + note, gap: met ? null : gap });
};
const headline = [];
/** A Plinth cell: the value, or why there is none; `timed` cells carry the disturbance mark. */
const cellOf = (l, value, timed = false) => (ok(l) ? `${value}${timed ? mark(l) : ''}` : why(l));

// Gradient-boosted trees, against LightGBM, at each thread count.
for (const t of env.gbt_threads) {
  const p = result('gbt', 'plinth', t);
  const q = result('gbt', 'lightgbm', t);
  const ps = score(`gbt-plinth-t${t}`);
  const qs = score(`gbt-lightgbm-t${t}`);
  const what = `GBT, ${gen.train} rows x 28, 100 trees x 31 leaves, ${t} thread${t > 1 ? 's' : ''}`;
  const pv = (f) => (ok(p) ? f() : null);
  row(
    `${what}: fit time`,
    's',
    pv(() => r2(p.seconds)),
    lgbName,
    r2(q.seconds),
    'lower',
    ok(p) ? {} : { note: why(p) },
  );
  row(
    `${what}: validation AUC`,
    'AUC',
    pv(() => r4(ps.auc)),
    lgbName,
    r4(qs.auc),
    'higher',
    {
      difference: pv(() => r4(ps.auc - qs.auc)),
      difference_only: true,
    },
  );
  row(
    `${what}: validation log loss`,
    'nats',
    pv(() => r4(ps.logloss)),
    lgbName,
    r4(qs.logloss),
    'lower',
    {
      difference: pv(() => r4(ps.logloss - qs.logloss)),
      difference_only: true,
    },
  );
  row(
    `${what}: peak RSS during the fit`,
    'MB',
    pv(() => p.peak_rss_mb),
    lgbName,
    q.peak_rss_mb,
    'lower',
    {
      rss_before_mb: pv(() => p.rss_before_mb),
      peer_rss_before_mb: q.rss_before_mb,
    },
  );
  row(
    `${what}: leaves`,
    'leaves',
    pv(() => p.leaves),
    lgbName,
    q.leaves,
    null,
  );
  const ratio = ok(p) ? p.seconds / q.seconds : null;
  headline.push([
    `GBT fit time vs LightGBM, ${t} thread${t > 1 ? 's' : ''} (s)`,
    cellOf(p, r2(p?.seconds), true),
    `${r2(q.seconds)}${mark(q)}`,
    ok(p) ? `${r2(ratio)}x` : '–',
  ]);
  headline.push([
    `GBT validation AUC vs LightGBM, ${t} thread${t > 1 ? 's' : ''}`,
    cellOf(p, r4(ps.auc)),
    String(r4(qs.auc)),
    ok(p) ? `${r4(ps.auc - qs.auc)}` : '–',
  ]);
  headline.push([
    `GBT peak RSS during the fit (RSS before it) vs LightGBM, ${t} thread${t > 1 ? 's' : ''} (MB)`,
    cellOf(p, `${p?.peak_rss_mb} (${p?.rss_before_mb})`),
    `${q.peak_rss_mb} (${q.rss_before_mb})`,
    ok(p) ? `${r2(p.peak_rss_mb / q.peak_rss_mb)}x` : '–',
  ]);
  target(
    `GBT fit time <= 1.5x LightGBM's (${t} thread${t > 1 ? 's' : ''})`,
    ok(p) && ratio <= 1.5,
    ok(p) ? `${r2(p.seconds)} s vs ${r2(q.seconds)} s = ${r2(ratio)}x` : why(p),
    ok(p) ? `${r2(ratio - 1.5)}x over (${r2(p.seconds - 1.5 * q.seconds)} s)` : 'no result',
    [p, q],
  );
  const dAuc = ok(p) ? ps.auc - qs.auc : null;
  target(
    `GBT validation AUC - LightGBM's >= -0.002 (${t} thread${t > 1 ? 's' : ''})`,
    ok(p) && dAuc >= -0.002,
    ok(p) ? `${r4(ps.auc)} vs ${r4(qs.auc)}: ${sig(dAuc)}` : why(p),
    ok(p) ? `${sig(-0.002 - dAuc)} short` : 'no result',
  );
}

// Random forest, against scikit-learn's RandomForestClassifier.
{
  const q = result('rf', 'sklearn');
  const p = result('rf', 'plinth');
  const t = q.threads;
  const ps = score(`rf-plinth-t${t}`);
  const qs = score(`rf-sklearn-t${t}`);
  const peer = skName('RandomForestClassifier');
  const what = `random forest, ${q.rows} rows x 28, ${q.trees} trees, max_features sqrt, ${t} thread${t > 1 ? 's' : ''}`;
  const pv = (f) => (ok(p) ? f() : null);
  row(
    `${what}: fit time`,
    's',
    pv(() => r2(p.seconds)),
    peer,
    r2(q.seconds),
    'lower',
    ok(p) ? {} : { note: why(p) },
  );
  row(
    `${what}: validation AUC`,
    'AUC',
    pv(() => r4(ps.auc)),
    peer,
    r4(qs.auc),
    'higher',
    {
      difference: pv(() => r4(ps.auc - qs.auc)),
      difference_only: true,
    },
  );
  row(
    `${what}: validation accuracy`,
    'fraction',
    pv(() => r4(ps.accuracy)),
    peer,
    r4(qs.accuracy),
    'higher',
    {
      difference: pv(() => r4(ps.accuracy - qs.accuracy)),
      difference_only: true,
    },
  );
  row(
    `${what}: peak RSS during the fit`,
    'MB',
    pv(() => p.peak_rss_mb),
    peer,
    q.peak_rss_mb,
    'lower',
  );
  row(
    `${what}: tree nodes`,
    'nodes',
    pv(() => p.nodes),
    peer,
    q.nodes,
    null,
  );
  headline.push([
    `random forest fit time vs scikit-learn, ${t} thread${t > 1 ? 's' : ''} (s)`,
    cellOf(p, r2(p?.seconds), true),
    `${r2(q.seconds)}${mark(q)}`,
    ok(p) ? `${r2(p.seconds / q.seconds)}x` : '–',
  ]);
  headline.push([
    'random forest validation AUC / accuracy vs scikit-learn',
    cellOf(p, `${r4(ps.auc)} / ${r4(ps.accuracy)}`),
    `${r4(qs.auc)} / ${r4(qs.accuracy)}`,
    ok(p) ? `${r4(ps.auc - qs.auc)} / ${r4(ps.accuracy - qs.accuracy)}` : '–',
  ]);
}

// Logistic regression, against scikit-learn's LogisticRegression (lbfgs).
{
  const q = result('logistic', 'sklearn');
  const p = result('logistic', 'plinth');
  const ps = score('logistic-plinth-t1');
  const qs = score('logistic-sklearn-t1');
  const peer = skName('LogisticRegression(lbfgs)');
  const what = `logistic regression, ${q.rows} rows x 28 standardised, C=1, 1 thread`;
  const pv = (f) => (ok(p) ? f() : null);
  row(
    `${what}: fit time`,
    's',
    pv(() => r3(p.seconds)),
    peer,
    r3(q.seconds),
    'lower',
    ok(p) ? {} : { note: why(p) },
  );
  row(
    `${what}: validation log loss`,
    'nats',
    pv(() => sig(ps.logloss, 6)),
    peer,
    sig(qs.logloss, 6),
    'lower',
    {
      difference: pv(() => sig(ps.logloss - qs.logloss, 3)),
      difference_only: true,
    },
  );
  row(
    `${what}: validation AUC`,
    'AUC',
    pv(() => sig(ps.auc, 6)),
    peer,
    sig(qs.auc, 6),
    'higher',
    {
      difference: pv(() => sig(ps.auc - qs.auc, 3)),
      difference_only: true,
    },
  );
  row(
    `${what}: iterations`,
    'iterations',
    pv(() => p.iterations),
    peer,
    q.iterations,
    null,
  );
  row(
    `${what}: peak RSS during the fit`,
    'MB',
    pv(() => p.peak_rss_mb),
    peer,
    q.peak_rss_mb,
    'lower',
  );
  headline.push([
    'logistic regression fit time vs scikit-learn (lbfgs), 1 thread (s)',
    cellOf(p, r3(p?.seconds), true),
    `${r3(q.seconds)}${mark(q)}`,
    ok(p) ? `${r2(p.seconds / q.seconds)}x` : '–',
  ]);
  headline.push([
    'logistic regression validation log loss vs scikit-learn',
    cellOf(p, sig(ps.logloss, 6)),
    String(sig(qs.logloss, 6)),
    ok(p) ? String(sig(ps.logloss - qs.logloss, 3)) : '–',
  ]);
}

// k-means, against scikit-learn's KMeans (lloyd).
{
  const q = result('kmeans', 'sklearn');
  const p = result('kmeans', 'plinth');
  const ps = score('kmeans-plinth-t1');
  const qs = score('kmeans-sklearn-t1');
  const peer = skName('KMeans(lloyd)');
  const what = `k-means, ${q.rows} rows x 28 standardised, k=${q.k}, n_init=${q.n_init}, 1 thread`;
  const pv = (f) => (ok(p) ? f() : null);
  row(
    `${what}: fit time`,
    's',
    pv(() => r3(p.seconds)),
    peer,
    r3(q.seconds),
    'lower',
    ok(p) ? {} : { note: why(p) },
  );
  row(
    `${what}: inertia`,
    'sum of squares',
    pv(() => sig(ps.inertia, 7)),
    peer,
    sig(qs.inertia, 7),
    'lower',
    {
      ratio: pv(() => sig(ps.inertia / qs.inertia, 5)),
      difference_only: true,
    },
  );
  row(
    `${what}: iterations (best run)`,
    'iterations',
    pv(() => p.iterations),
    peer,
    q.iterations,
    null,
  );
  row(
    `${what}: peak RSS during the fit`,
    'MB',
    pv(() => p.peak_rss_mb),
    peer,
    q.peak_rss_mb,
    'lower',
  );
  headline.push([
    'k-means fit time vs scikit-learn (lloyd), 1 thread (s)',
    cellOf(p, r3(p?.seconds), true),
    `${r3(q.seconds)}${mark(q)}`,
    ok(p) ? `${r2(p.seconds / q.seconds)}x` : '–',
  ]);
  headline.push([
    'k-means inertia vs scikit-learn (ratio Plinth / peer)',
    cellOf(p, sig(ps.inertia, 7)),
    String(sig(qs.inertia, 7)),
    ok(p) ? `${sig(ps.inertia / qs.inertia, 5)}x` : '–',
  ]);
}

// Inference of the exported GBT.
{
  const o = result('onnx', 'plinth');
  const lgbPredict = (t) => one((l) => l.phase === 'gbt-predict' && l.threads === t);
  const ort = (t) => (ok(o) ? (o.ort ?? []).find((x) => x.threads === t) : undefined);
  const what = `GBT inference, ${gen.train} rows x 28, 100 trees`;
  const ts = ok(o) ? Math.round(o.ts_rows_per_s) : null;
  const o1 = ort(1);
  row(
    `${what}: ONNX in onnxruntime-node (1 thread) vs Plinth's TypeScript predictTreeEnsemble`,
    'rows/s',
    o1 ? Math.round(o1.rows_per_s) : null,
    'kernel-lib predictTreeEnsemble (TypeScript, 1 thread)',
    ts,
    'higher',
    ok(o) ? (o1 ? {} : { note: `ONNX: not available (${o.ort_reason})` }) : { note: why(o) },
  );
  for (const t of env.gbt_threads) {
    const l = lgbPredict(t);
    const x = ort(t);
    row(
      `${what}: ONNX in onnxruntime-node vs LightGBM's predict on its own model (${t} thread${t > 1 ? 's' : ''})`,
      'rows/s',
      x ? Math.round(x.rows_per_s) : null,
      `${lgbName} Booster.predict`,
      l ? Math.round(l.rows_per_s) : null,
      'higher',
    );
  }
  row(
    `${what}: max abs difference of the probabilities, ONNX vs TypeScript`,
    'probability',
    o1 ? sig(o1.max_abs_diff, 3) : null,
    null,
    null,
    null,
  );
  const onnxCell = o1 ? `${Math.round(o1.rows_per_s)}${mark(o1)}` : ok(o) ? `not available (${o.ort_reason})` : why(o);
  const l1 = lgbPredict(1);
  headline.push([
    'GBT inference, 1 thread, rows/s: ONNX (onnxruntime-node) vs TypeScript predictTreeEnsemble',
    onnxCell,
    ts === null ? why(o) : `${ts}${mark(o)}`,
    o1 && ts ? `${r2(o1.rows_per_s / ts)}x` : '–',
  ]);
  headline.push([
    "GBT inference, 1 thread, rows/s: ONNX (onnxruntime-node) vs LightGBM's Booster.predict",
    onnxCell,
    `${Math.round(l1.rows_per_s)}${mark(l1)}`,
    o1 ? `${r2(o1.rows_per_s / l1.rows_per_s)}x` : '–',
  ]);
  headline.push([
    'GBT inference: max abs difference of the probabilities, ONNX vs TypeScript',
    o1 ? String(sig(o1.max_abs_diff, 3)) : '–',
    '–',
    '–',
  ]);
}

const disturbed = measured.filter(({ m }) => m.disturbed);
const notes = [
  `Machine: ${env.cpus} cores (${env.cpu}), ${env.memory_gb} GB, shared; each measurement runs alone in its own process, one after another. Versions: ${Object.entries(
    versions,
  )
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}.`,
  `Data (gen.js, seed ${gen.seed}): a synthetic Higgs-like binary set, ${gen.train} training + ${gen.valid} validation rows x 28 float32 features, ${r3(gen.positiveRate)} positives. Eight latent N(0,1) variables drive the label through sin, products, squares, max and |.| terms plus logistic noise; 8 features are the latents (two exp-transformed), 6 noisy linear copies of them, 7 pure noise (angles, log-normals, a 0/1/2 tag, a correlated pair), 7 nonlinear combinations of several latents. One column-major float32 file both sides read; both widen it to float64 (Plinth: Float64Array columns, the trainers' input; Python: one C-ordered float64 matrix).`,
  `Threads: GBT at ${env.gbt_threads.join(' and ')} thread(s) on both sides (Plinth \`threads\`, LightGBM \`num_threads\`); random forest at ${result('rf', 'sklearn').threads} (Plinth \`threads\`, scikit-learn \`n_jobs\`); logistic regression and k-means at 1 (Plinth's trainers take no thread count; scikit-learn's BLAS and OpenMP pools are limited to 1 by threadpoolctl). On the Python side threadpoolctl holds every native pool to that thread count around each fit and prediction.`,
  "GBT parameters, both sides: binary objective, 100 iterations, learning rate 0.1, 31 leaves, max_bin 255, min_data_in_leaf 20, no early stopping, no validation set during the fit. LightGBM: `deterministic=true` with `force_col_wise=true` (LightGBM asks for a fixed histogram layout with deterministic; col-wise is what its own auto-choice picks on this data, here without the cost of its test). Stated on both sides as well: bins placed from a 200,000-row sample, min_sum_hessian_in_leaf 1e-3, lambda_l1 = lambda_l2 = min_gain_to_split = 0, bagging and feature fractions 1; everything else each library's default.",
  'Random forest: 100 trees, max_features sqrt, bootstrap, fully grown, both sides at their (equal) defaults: gini, min_samples_split 2, min_samples_leaf 1, no depth limit, on the first ' +
    `${result('rf', 'sklearn').rows} training rows. Logistic regression: C=1, tol 1e-4 (scikit-learn: lbfgs, max_iter 1000; Plinth: Newton/IRLS, maxIter 100; each converges by its own criterion, iterations are not comparable), on ${result('logistic', 'sklearn').rows} training rows standardised with their mean and population standard deviation. k-means: k-means++ initialisation, Lloyd, n_init ${result('kmeans', 'sklearn').n_init}, max_iter 300, tol 1e-4, on the first ${result('kmeans', 'sklearn').rows} training rows standardised the same way.`,
  "Times: the fit only (GBT: binning included on both sides, Dataset construction inside the clock for LightGBM); data loading, standardisation and prediction are outside it. Quality: validation predictions of both sides written to files and scored by the same scikit-learn functions (roc_auc_score, log_loss, accuracy_score at 0.5); k-means inertia recomputed by the same numpy code from each side's centroids.",
  "Memory: peak resident set (VmHWM) of the side's process while it fitted, reset just before the fit (writing 5 to /proc/self/clear_refs), so it includes the loaded data (training + validation float64: the same size on both sides) and everything the fit allocates; the JSON has the RSS just before the fit too.",
  'Inference: the GBT fitted with every core, on all training rows. ONNX: the graph compilePipeline emits, in onnxruntime-node (PipelineSession, intraOpNumThreads as stated, float32 inputs passed without a copy), one run() over all rows after a 1,000-row warm-up; compilation and session creation not timed. TypeScript: predictTreeEnsemble over all float64 columns after a warm-up. LightGBM: Booster.predict of its own model on the same rows. The max abs difference compares the ONNX probabilities (float32) with the TypeScript ones (float64) row by row.',
  'advantage: how many times better Plinth is (peer / Plinth for times and memory, Plinth / peer for rates); quality rows carry difference = Plinth - peer instead.',
];

// More threads slower than one: say why when the monitor knows. Threads that meet at a barrier
// many times per tree (LightGBM's OpenMP team) all wait for one that another process preempted.
const gbtTimes = (side) => env.gbt_threads.map((t) => result('gbt', side, t)).filter(ok);
for (const [side, name] of [
  ['lightgbm', 'LightGBM'],
  ['plinth', 'Plinth'],
]) {
  const [single, ...more] = gbtTimes(side);
  for (const m of more) {
    if (!single || m.seconds <= single.seconds) continue;
    const cause =
      m.disturbed || single.disturbed
        ? 'other processes were busy meanwhile (†), and threads that wait for each other at every step suffer most from that; the comparison at that thread count says little'
        : samples.length
          ? 'no other process was busy meanwhile, so the threading itself costs more than it gains here'
          : 'other processes were not monitored; on a busy machine, threads that wait for each other at every step suffer most';
    notes.push(
      `${name}'s GBT fit took longer with ${m.threads} threads (${r2(m.seconds)} s) than with 1 (${r2(single.seconds)} s): ${cause}.`,
    );
  }
}

const resultJson = {
  scale,
  when: new Date().toISOString(),
  machine: `${env.cpus} cores (${env.cpu}), ${env.memory_gb} GB, shared`,
  versions,
  threads: { gbt: env.gbt_threads, rf: result('rf', 'sklearn').threads, logistic: 1, kmeans: 1 },
  data: gen,
  disturbed: disturbed.map(({ m, label }) => ({ measurement: label, ...m.foreign_cpu })),
  targets,
  rows,
  notes,
  raw: lines,
};
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'training.json'), `${JSON.stringify(resultJson, null, 2)}\n`);

const cell = (v) => (v === null || v === undefined ? '–' : String(v));
const md = [
  `# bench/training (${scale} run, ${resultJson.when.slice(0, 10)})`,
  '',
  "Plinth's TypeScript trainers (kernel-lib) against LightGBM and scikit-learn on the same synthetic Higgs-like data,",
  'with the same threads and parameters. Produced by `npm run bench:training`; ratios matter more than absolute',
  'times (shared machine).',
  '',
  '## Headline',
  '',
  '| | Plinth | peer | ratio Plinth / peer (times, memory, rates) or difference Plinth - peer (quality) |',
  '| --- | --- | --- | --- |',
  ...headline.map((c) => `| ${c.join(' | ')} |`),
  '',
  ...(samples.length
    ? [
        disturbed.length
          ? `† disturbed: other processes on this shared machine used CPU during that measurement (${disturbed.length} of ${measured.filter(({ m }) => m.foreign_cpu).length} measurements).`
          : 'No measurement was disturbed: other processes used under a tenth of a core throughout (monitor.js).',
        '',
      ]
    : ['Other processes were not monitored (bench/monitor.js wrote nothing).', '']),
  '## Targets',
  '',
  '| target | met | measured | gap |',
  '| --- | --- | --- | --- |',
  ...targets.map((t) => `| ${t.target} | ${t.met ? 'met' : '**not met**'} | ${t.measured} | ${cell(t.gap)} |`),
  '',
  '## Results',
  '',
  '| metric | unit | Plinth | peer | peer value | advantage / difference |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => {
    const last =
      r.difference !== undefined
        ? `${cell(r.difference)} (difference)`
        : r.ratio !== undefined
          ? `${cell(r.ratio)} (ratio)`
          : cell(r.advantage);
    return `| ${r.metric}${r.note ? ` (Plinth ${r.note})` : ''} | ${r.unit} | ${cell(r.plinth)} | ${cell(r.peer)} | ${cell(r.peer_value)} | ${last} |`;
  }),
  '',
  'Notes:',
  '',
  ...notes.map((n) => `- ${n}`),
  '',
  ...(disturbed.length
    ? [
        '## Disturbance',
        '',
        '| measurement | other processes: mean / max cores | busiest then |',
        '| --- | --- | --- |',
        ...disturbed.map(
          ({ m, label }) =>
            `| ${label} | ${m.foreign_cpu.mean} / ${m.foreign_cpu.max} | ${m.foreign_cpu.top.join(', ')} |`,
        ),
        '',
      ]
    : []),
].join('\n');
fs.writeFileSync(path.join(outDir, 'training.md'), md);
process.stdout.write(md);
