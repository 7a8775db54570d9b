'use strict';
/** Turns a bench/inference run (JSON lines) into bench/results/inference.{json,md}. */
const fs = require('node:fs');
const path = require('node:path');
const { jsonLines, monitorSamples, markDisturbed } = require('../common');

const [file, scale, outDir, monitorFile] = process.argv.slice(2);
const lines = jsonLines(file);
const samples = monitorSamples(monitorFile);
for (const l of lines) if (l.t0 && l.t1) markDisturbed(l, samples);
const disturbed = lines.filter((l) => l.disturbed);
const mark = (l) => (l?.disturbed ? ' †' : '');
const find = (pred, what) => {
  const l = lines.find(pred);
  if (!l) throw new Error(`${file}: no result for ${what}`);
  return l;
};
const r2 = (x) => Math.round(x * 100) / 100;
const env = find((l) => l.phase === 'env', 'env');
const model = find((l) => l.phase === 'deploy', 'deploy');
const compare = find((l) => l.phase === 'compare', 'compare');
const tputAt = (side, per, connections) =>
  find(
    (l) => l.phase === 'throughput' && l.side === side && l.entities === per && l.connections === connections,
    `throughput ${side} ${per} ${connections}`,
  );
/** A side's max throughput: the best of its runs at each connection count (the half-load rate is half of it). */
const tput = (side, per) =>
  env.connections.map((c) => tputAt(side, per, c)).reduce((best, l) => (l.rps > best.rps ? l : best));
const half = (side, per) =>
  find((l) => l.phase === 'rate' && l.side === side && l.entities === per, `rate ${side} ${per}`);
const raw = (procs, batch) =>
  find((l) => l.phase === 'raw' && l.procs === procs && l.batch === batch, `raw ${procs} ${batch}`);
const predsPerS = (t) => t.rps * t.entities;

const SHAPES = [1, 10];
const plinthSides = [
  ['plinth-lmdb', 'Plinth on LMDB'],
  ['plinth-redis', 'Plinth on Redis'],
  ['plinth-lmdb-nolog', 'Plinth on LMDB, no prediction log'],
];
const peer = `mlflow models serve ${env.mlflow} (${env.workers} worker${env.workers > 1 ? 's' : ''})`;
const ent = (per) => `${per} entit${per === 1 ? 'y' : 'ies'}/request`;
// The ceiling: as many processes as the inference tier had, on batches of 32 (a typical micro-batch).
const ceiling = raw(env.workers, 32);
const rawName = `raw onnxruntime-node, ${env.workers} process${env.workers > 1 ? 'es' : ''}, batches of 32`;

const rows = [];
/** advantage > 1: Plinth is better (peer / Plinth for latencies, Plinth / peer for rates). */
const row = (metric, unit, plinth, peerName, peerValue, better, extra = {}) =>
  rows.push({
    metric,
    unit,
    plinth,
    peer: peerName,
    peer_value: peerValue,
    advantage: plinth && peerValue ? r2(better === 'lower' ? peerValue / plinth : plinth / peerValue) : null,
    ...extra,
  });
for (const per of SHAPES) {
  const m = tput('mlflow', per);
  const mh = half('mlflow', per);
  for (const [side, name] of plinthSides) {
    const p = tput(side, per);
    const ph = half(side, per);
    const what = `${ent(per)}, ${name}`;
    for (const c of env.connections) {
      const [pc, mc] = [tputAt(side, per, c), tputAt('mlflow', per, c)];
      row(`throughput, ${what}, ${c} connections`, 'predictions/s', predsPerS(pc), peer, predsPerS(mc), 'higher');
      row(`throughput, ${what}, ${c} connections: p50`, 'ms', pc.p50_ms, peer, mc.p50_ms, 'lower');
      row(`throughput, ${what}, ${c} connections: p99`, 'ms', pc.p99_ms, peer, mc.p99_ms, 'lower');
    }
    row(
      `max throughput (best of ${env.connections.join(' and ')} connections), ${what}`,
      'predictions/s',
      predsPerS(p),
      peer,
      predsPerS(m),
      'higher',
      { connections: p.connections, peer_connections: m.connections },
    );
    row(
      `half load (each side at half its own max), ${what}: rate`,
      'req/s',
      ph.achieved_rps,
      peer,
      mh.achieved_rps,
      'higher',
    );
    row(`half load, ${what}: p50`, 'ms', ph.p50_ms, peer, mh.p50_ms, 'lower');
    row(`half load, ${what}: p99`, 'ms', ph.p99_ms, peer, mh.p99_ms, 'lower');
    // advantage = served / raw: the ratio the issue's target is about.
    row(`served (max) vs raw ceiling, ${what}`, 'predictions/s', predsPerS(p), rawName, ceiling.preds_per_s, 'higher');
  }
}
for (const l of lines.filter((x) => x.phase === 'raw'))
  row(
    `raw onnxruntime-node in process, ${l.procs} process${l.procs > 1 ? 'es' : ''}, batches of ${l.batch}`,
    'predictions/s',
    l.preds_per_s,
    null,
    null,
    'higher',
    { call_p50_us: l.call_p50_us, call_p99_us: l.call_p99_us },
  );

// Errors anywhere make the run invalid: say so rather than report numbers quietly.
const bad = lines.filter(
  (l) => l.phase !== 'log' && ((l.non2xx ?? 0) > 0 || (l.errors ?? 0) > 0 || (l.timeouts ?? 0) > 0 || l.dropped > 0),
);

// The issue's targets, per Plinth configuration and load shape.
const targets = [];
const target = (what, met, measured, gap, from = []) => {
  const d = from.filter((l) => l.disturbed);
  const note = d.length
    ? ` (disturbed: other processes used up to ${Math.max(...d.map((l) => l.foreign_cpu.max))} cores)`
    : '';
  targets.push({ target: what, met, measured: measured + note, gap: met ? null : gap });
};
for (const per of SHAPES)
  for (const [side, name] of plinthSides) {
    const p = tput(side, per);
    const ph = half(side, per);
    const m = tput('mlflow', per);
    const x = predsPerS(p);
    target(
      `>= 20,000 predictions/s with batching (${name}, ${ent(per)})`,
      x >= 20000,
      `${x} predictions/s (${p.rps} req/s)${env.batching_flags ? '' : '; `plinth infer` has no micro-batching yet'}`,
      `${r2(x / 20000)}x of the target`,
      [p],
    );
    target(
      `p99 <= 10 ms at half load (${name}, ${ent(per)})`,
      ph.p99_ms <= 10 && !ph.dropped,
      `p99 ${ph.p99_ms} ms, p50 ${ph.p50_ms} ms at ${ph.achieved_rps} req/s`,
      `p99 ${r2(ph.p99_ms - 10)} ms over`,
      [ph],
    );
    const vsPeer = x / predsPerS(m);
    target(
      `>= 10x the Python server (${name} vs ${peer}, ${ent(per)})`,
      vsPeer >= 10,
      `${x} vs ${predsPerS(m)} predictions/s = ${r2(vsPeer)}x`,
      `${r2(vsPeer)}x instead of 10x`,
      [p, m],
    );
    const ratio = x / ceiling.preds_per_s;
    target(
      `served/raw >= 0.5 (${name}, ${ent(per)})`,
      ratio >= 0.5,
      `${x} / ${ceiling.preds_per_s} (${rawName}) = ${r2(ratio)}`,
      `${r2(ratio)} instead of 0.5`,
      [p, ceiling],
    );
  }

const notes = [
  `Model: kernel-lib train(), GBT of ${model.trees} trees x ${model.leaves} leaves (binary) on ${model.train_rows} entities x ${model.features} features and a synthetic seeded label (train AUC ${r2(model.train_auc)}), its pipeline's 50 inputs read online from user_stats; published to the control plane and deployed (sanity replay of 32 reference rows: max diff ${model.sanity.maxAbsDiff}). ONNX: ${model.onnx_bytes} bytes, the same artifact bytes on every side.`,
  `Data: bench/online-store's view (${env.entities} entities x 50 float64 features), materialized into LMDB and into one redis-server (${env.redis}, 127.0.0.1, no persistence).`,
  `Plinth: \`plinth infer\` (${env.infer_flags || 'no extra flags'}) on the control plane's deployment, reading the 50 features itself by user_id; body {"instances": [{"user_id": id}, ...]}. ${env.workers_flag ? `${env.workers} worker processes.` : '`--workers` is not in `plinth infer` yet: one process.'} ${env.batching_flags ? 'Micro-batching flags present, defaults used.' : 'No micro-batching yet (no --max-batch / --max-wait-ms): each request is its own session.run.'} Log level warn.`,
  "Plinth on LMDB, no prediction log: the same tier with `--no-prediction-log`, to show what logging every prediction costs. With the log on, the log writer runs at the lowest CPU priority: when the machine is saturated it falls behind and drops rows (counted; see the headline's prediction log row).",
  `Peer: \`mlflow models serve --env-manager local -w ${env.workers}\` (uvicorn, access log off) serving a pyfunc over onnxruntime ${env.onnxruntime_python} with the same session settings as Plinth (1 intra-op and 1 inter-op thread, sequential) and a signature; body: the same entities' 50 feature values as dataframe_split. mlflow.onnx's own flavour feeds 1-D columns and the graph takes [N, 1] inputs, hence the pyfunc. Worker processes: the same number as Plinth's.`,
  `Raw ceiling: raw.js, the same bytes through kernel-lib's PipelineSession (defaults: single-threaded, sequential), Float32Array columns prepared in memory, a closed loop of runTyped for ${env.seconds < 10 ? 'a few' : 'ten'} seconds per batch size in P processes at once (P = 1${env.workers > 1 ? ` and ${env.workers}` : ''}), predictions summed. served/raw = a server's max predictions/s / the ceiling at P = the server's worker count and batches of 32.`,
  `Load: from a separate Node process (bench/online-store/load.js). Max throughput: autocannon ${env.autocannon}, closed loop, ${env.connections.join(' and then ')} keep-alive connections (the best of the two is the side's max: a Python server with few workers does better with fewer), ${env.seconds} s each after a warm-up, latencies at full resolution. Half load: each server at half of its own measured max req/s, open loop (a paced sender issuing request i at t0 + i/R; autocannon's rate option sends each second's quota in a burst), ${env.seconds} s after a warm-up. The same seeded entity ids on every side. The load generator shares the ${env.cpus} cores with the server.`,
  `Cross-check: ${compare.entities} entities predicted by every server, compared with the same graph in process: max |diff| ${JSON.stringify(compare.max_abs_diff)} (the bench fails above 1e-6).`,
  'advantage: how many times better Plinth is (peer / Plinth for latencies, Plinth / peer for rates).',
];

const result = {
  scale,
  when: new Date().toISOString(),
  machine: `${env.cpus} cores, shared`,
  versions: {
    node: env.node,
    python: env.python,
    mlflow: env.mlflow,
    onnxruntime_node: env.onnxruntime_node,
    onnxruntime_python: env.onnxruntime_python,
    autocannon: env.autocannon,
    redis: env.redis,
  },
  workers: env.workers,
  infer_flags: env.infer_flags,
  model,
  compare,
  errors: bad,
  disturbed: disturbed.map((l) => ({ ...l })),
  targets,
  rows,
  notes,
};
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'inference.json'), `${JSON.stringify(result, null, 2)}\n`);

const logOf = (side) => lines.find((l) => l.phase === 'log' && l.side === side);
const cell = (v) => (v === null || v === undefined ? '–' : String(v));
const servers = [...plinthSides, ['mlflow', peer]];
const headline = [
  ...SHAPES.map((per) => [
    `max predictions/s, ${ent(per)} (req/s; connections; p99 ms)`,
    ...servers.map(([s]) => {
      const t = tput(s, per);
      return `${predsPerS(t)} (${t.rps}; ${t.connections}; ${t.p99_ms})${mark(t)}`;
    }),
  ]),
  ...SHAPES.map((per) => [
    `half load, ${ent(per)}: p50 / p99 ms (at req/s)`,
    ...servers.map(([s]) => {
      const h = half(s, per);
      return `${h.p50_ms} / ${h.p99_ms} (${h.achieved_rps}${h.dropped ? `, ${h.dropped} dropped` : ''})${mark(h)}`;
    }),
  ]),
  ...SHAPES.map((per) => [
    `vs ${peer}, ${ent(per)}`,
    ...servers.map(([s]) => `${r2(predsPerS(tput(s, per)) / predsPerS(tput('mlflow', per)))}x`),
  ]),
  ...SHAPES.map((per) => [
    `served / raw ceiling (${ceiling.preds_per_s} predictions/s), ${ent(per)}`,
    ...servers.map(([s]) => `${r2(predsPerS(tput(s, per)) / ceiling.preds_per_s)}`),
  ]),
  // The log writes at the lowest CPU priority: under saturating load it falls behind and drops (counted).
  [
    'prediction log over the whole run: rows written / dropped / still pending, of predictions served',
    ...servers.map(([s]) => {
      const l = logOf(s);
      if (!l) return '–';
      return s.endsWith('-nolog')
        ? `off (${l.predictions} served)`
        : `${l.written} / ${l.dropped} / ${l.pending} of ${l.predictions}`;
    }),
  ],
  [
    'mean micro-batch (instances per onnxruntime run)',
    ...servers.map(([s]) => (logOf(s) ? r2(logOf(s).batch_mean) : '–')),
  ],
];
const rawLines = lines.filter((x) => x.phase === 'raw');
const md = [
  `# bench/inference (${scale} run, ${result.when.slice(0, 10)})`,
  '',
  `A GBT pipeline (${model.trees} trees, ${model.leaves} leaves) reading 50 online features, served by \`plinth infer\` (LMDB, Redis)`,
  `against \`mlflow models serve\` on the same ONNX bytes with the features in the request, and raw onnxruntime-node in process.`,
  'Produced by `npm run bench:inference`; ratios matter more than absolute figures (shared machine).',
  '',
  ...(bad.length
    ? [
        '**Errors in this run (non-2xx, connection errors, timeouts or dropped requests):**',
        '',
        '```',
        ...bad.map((b) => JSON.stringify(b)),
        '```',
        '',
      ]
    : []),
  '## Headline',
  '',
  `| | ${servers.map(([, name]) => name).join(' | ')} |`,
  `| --- | ${servers.map(() => '---').join(' | ')} |`,
  ...headline.map((cells) => `| ${cells.join(' | ')} |`),
  '',
  '| raw onnxruntime-node in process | predictions/s | per call p50 / p99 (us) |',
  '| --- | --- | --- |',
  ...rawLines.map(
    (l) =>
      `| ${l.procs} process${l.procs > 1 ? 'es' : ''}, batches of ${l.batch} | ${l.preds_per_s}${mark(l)} | ${l.call_p50_us} / ${l.call_p99_us} |`,
  ),
  '',
  ...(samples.length
    ? [
        disturbed.length
          ? `† disturbed: other processes on this shared machine used CPU during that measurement (${disturbed.length} of ${lines.filter((l) => l.foreign_cpu).length} measurements; listed under Disturbance).`
          : 'No measurement was disturbed: other processes used under a tenth of a core throughout (monitor.js).',
        '',
      ]
    : []),
  '## Targets',
  '',
  '| target | met | measured | gap |',
  '| --- | --- | --- | --- |',
  ...targets.map((t) => `| ${t.target} | ${t.met ? 'met' : '**not met**'} | ${t.measured} | ${cell(t.gap)} |`),
  '',
  '## Results',
  '',
  '| metric | unit | Plinth | peer | peer value | advantage |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.metric} | ${r.unit} | ${cell(r.plinth)} | ${cell(r.peer)} | ${cell(r.peer_value)} | ${cell(r.advantage)} |`,
  ),
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
          (l) =>
            `| ${[l.phase, l.side, l.entities && `${l.entities} entities/request`, l.target_rps && `${l.target_rps} req/s`, l.batch && `batch ${l.batch}`, l.procs && `${l.procs} proc`].filter(Boolean).join(', ')} | ${l.foreign_cpu.mean} / ${l.foreign_cpu.max} | ${l.foreign_cpu.top.join(', ')} |`,
        ),
        '',
      ]
    : []),
].join('\n');
fs.writeFileSync(path.join(outDir, 'inference.md'), md);
process.stdout.write(md);
