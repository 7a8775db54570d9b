'use strict';
/** Turns a bench/repository run (JSON lines) into bench/results/repository.{json,md}. */
const fs = require('node:fs');
const path = require('node:path');
const { jsonLines, monitorSamples, markDisturbed } = require('../common');

const [file, scale, outDir, monitorFile] = process.argv.slice(2);
const lines = jsonLines(file);
const samples = monitorSamples(monitorFile);
for (const l of lines) if (l.t0 && l.t1) markDisturbed(l, samples);
const env = lines.find((l) => l.phase === 'env');
const loads = Object.fromEntries(lines.filter((l) => l.phase === 'load').map((l) => [l.side, l]));
const searches = lines.filter((l) => l.phase === 'search');
const all = Object.fromEntries(lines.filter((l) => l.phase === 'search-all').map((l) => [l.side, l]));
const model = lines.find((l) => l.phase === 'model');
const publishes = Object.fromEntries(lines.filter((l) => l.phase === 'publish').map((l) => [l.side, l]));
const modelLoads = Object.fromEntries(lines.filter((l) => l.phase === 'model-load').map((l) => [l.side, l]));
const r1 = (x) => Math.round(x * 10) / 10;
const r2 = (x) => Math.round(x * 100) / 100;
const TARGET_MS = 50;
const peerName = `mlflow ${env.mlflow} (SQLite, MlflowClient.search_runs)`;
const mlflow = all.mlflow;

// Same answers? The first page of every query, id by id, Plinth (in process) vs MLflow.
const dataDir = path.join(path.dirname(file), scale);
const readAnswers = (side) => {
  const f = path.join(dataDir, `answers-${side}.json`);
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null;
};
const ours = readAnswers('plinth-store');
const theirs = readAnswers('mlflow');
let same = null;
if (ours && theirs) {
  let total = 0;
  let equal = 0;
  for (const [k, ids] of Object.entries(ours)) {
    const other = theirs[k] ?? [];
    total += Math.max(ids.length, other.length);
    ids.forEach((id, i) => (equal += other[i] === id ? 1 : 0));
  }
  same = { total, equal };
}

const rows = [];
for (const side of ['plinth-store', 'plinth-http']) {
  const a = all[side];
  if (!a) continue;
  const via = side === 'plinth-store' ? 'in process' : 'HTTP route';
  const peer = side === 'plinth-store' && mlflow;
  for (const p of [99, 50])
    rows.push({
      metric: `run search over ${env.runs} runs, ${via}, all queries: p${p}`,
      unit: 'ms',
      plinth: r1(a[`p${p}_ms`]),
      peer: peer ? peerName : null,
      peer_value: peer ? r1(mlflow[`p${p}_ms`]) : null,
      ...(peer ? { advantage: r2(mlflow[`p${p}_ms`] / a[`p${p}_ms`]) } : {}),
      ...(p === 99 ? { target: TARGET_MS, met: a.p99_ms <= TARGET_MS } : {}),
    });
  for (const s of searches.filter((x) => x.side === side)) {
    const m = peer ? searches.find((x) => x.side === 'mlflow' && x.query === s.query) : null;
    rows.push({
      metric: `${via}: ${s.query} (p50 / p99, ${s.calls} calls)`,
      unit: 'ms',
      plinth: `${r1(s.p50_ms)} / ${r1(s.p99_ms)}`,
      peer: m ? peerName : null,
      peer_value: m ? `${r1(m.p50_ms)} / ${r1(m.p99_ms)}` : null,
    });
  }
}
rows.push({
  metric: `bulk load of ${env.runs} runs (direct SQL on both sides)`,
  unit: 's',
  plinth: r1(loads.plinth.seconds),
  peer: loads.mlflow ? peerName : null,
  peer_value: loads.mlflow ? r1(loads.mlflow.seconds) : null,
});
// Publish and load a 500-tree model, both sides on the same ONNX bytes.
const mlflowModels = `mlflow ${env.mlflow} (SQLite registry, local artifacts; mlflow.onnx / mlflow.pyfunc)`;
for (const [what, by] of [
  ['publish', publishes],
  ['load', modelLoads],
]) {
  const ours = by.plinth;
  if (!ours) continue;
  const peer = by.mlflow;
  for (const p of [50, 99])
    rows.push({
      metric: `${what} a ${model?.trees ?? 500}-tree model (${ours.calls} calls): p${p}`,
      unit: 'ms',
      plinth: r1(ours[`p${p}_ms`]),
      peer: peer ? mlflowModels : null,
      peer_value: peer ? r1(peer[`p${p}_ms`]) : null,
      ...(peer ? { advantage: r2(peer[`p${p}_ms`] / ours[`p${p}_ms`]) } : {}),
    });
}
const pa = modelLoads.plinth?.predictions;
const pb = modelLoads.mlflow?.predictions;
if (pa && pb)
  rows.push({
    metric: `same model loaded on both sides: predictions of ${pa.length} rows, largest difference`,
    unit: '',
    plinth: Math.max(...pa.map((v, i) => Math.abs(v - (pb[i] ?? NaN)))),
    peer: mlflowModels,
    peer_value: null,
  });
if (same)
  rows.push({
    metric: 'same first pages: result ids equal, position by position (Plinth in process vs MLflow)',
    unit: 'ids',
    plinth: `${same.equal} of ${same.total}`,
    peer: peerName,
    peer_value: null,
  });
const disturbed = lines.filter((l) => l.disturbed);
const result = {
  scale,
  env,
  rows,
  disturbed: disturbed.map((l) => `${l.phase} ${l.side ?? ''} ${l.query ?? ''}`.trim()),
};
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'repository.json'), `${JSON.stringify(result, null, 2)}\n`);
const cell = (r) => (r.peer_value === null || r.peer_value === undefined ? '–' : r.peer_value);
const md = [
  `# bench/repository (${scale}, ${new Date().toISOString().slice(0, 10)})`,
  '',
  `Run search over ${env.runs} runs (10 experiments; 10 parameters, 7 metrics and 3 tags each; the queries of`,
  'bench/repository/queries.json, the first page of 100 runs) on the embedded run store (PGlite), in process and',
  `through POST /api/v1/runs/search, and on ${peerName} in process, on the same runs.`,
  `${env.cpus} cores, Node ${env.node}, ${env.python}. Target: p99 <= ${TARGET_MS} ms on the embedded store.`,
  '',
  ...(model && publishes.plinth
    ? [
        `Publish and load a GBT of ${model.trees} trees (${model.leaves} leaves, ${model.features} features; trained by kernel-lib on`,
        `${model.rows} generated rows), compiled to ONNX (${Math.round(model.onnx_bytes / 1024)} KiB; a new graph per call, the same bytes on`,
        'both sides): Plinth publishes through the control plane (PUT the artifact, POST the version with its pipeline',
        `document of ${Math.round(model.pipeline_json_bytes / 1024)} KiB) and loads with kernel-lib's loadPipeline (version, artifact, sha256 check,`,
        `onnxruntime-node ${env.onnxruntime_node} session); MLflow logs the graph in a run and registers it (mlflow.onnx.log_model`,
        'with registered_model_name; the run started outside the timing) and loads it (mlflow.pyfunc.load_model of',
        `models:/name/version: artifacts copied, onnxruntime ${env.onnxruntime_python} session).` +
          (publishes.mlflow ? ` Stored bytes identical: ${publishes.mlflow.same_bytes ? 'yes' : 'NO'}.` : ''),
        '',
      ]
    : []),
  '| metric | unit | Plinth | peer | advantage (peer / Plinth) | target |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.metric} | ${r.unit} | ${r.plinth} | ${cell(r)} | ${r.advantage ?? ''} | ${
        r.target !== undefined ? `<= ${r.target}${r.met ? ' (met)' : ' (**not met**)'}` : ''
      } |`,
  ),
  '',
  disturbed.length
    ? `Disturbed measurements (other processes used the CPU meanwhile): ${result.disturbed.join('; ')}.`
    : 'No measurement was disturbed: other processes used under a tenth of a core throughout (monitor.js).',
  '',
].join('\n');
fs.writeFileSync(path.join(outDir, 'repository.md'), md);
process.stdout.write(md);
