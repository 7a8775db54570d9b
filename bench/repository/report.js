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
const load = lines.find((l) => l.phase === 'load');
const searches = lines.filter((l) => l.phase === 'search');
const all = Object.fromEntries(lines.filter((l) => l.phase === 'search-all').map((l) => [l.side, l]));
const r1 = (x) => Math.round(x * 10) / 10;
const TARGET_MS = 50;

const rows = [];
for (const side of ['plinth-store', 'plinth-http']) {
  const a = all[side];
  if (!a) continue;
  const via = side === 'plinth-store' ? 'in process' : 'HTTP route';
  rows.push({
    metric: `run search over ${env.runs} runs, ${via}, all queries: p99`,
    unit: 'ms',
    plinth: r1(a.p99_ms),
    peer: null,
    peer_value: null,
    target: TARGET_MS,
    met: a.p99_ms <= TARGET_MS,
  });
  rows.push({
    metric: `run search over ${env.runs} runs, ${via}, all queries: p50`,
    unit: 'ms',
    plinth: r1(a.p50_ms),
    peer: null,
    peer_value: null,
  });
  for (const s of searches.filter((x) => x.side === side))
    rows.push({
      metric: `  ${via}: ${s.query} (p50 / p99, ${s.calls} calls)`,
      unit: 'ms',
      plinth: `${r1(s.p50_ms)} / ${r1(s.p99_ms)}`,
      peer: null,
      peer_value: null,
    });
}
rows.push({
  metric: `bulk load of ${load.runs} runs into the run store`,
  unit: 's',
  plinth: r1(load.seconds),
  peer: null,
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
const md = [
  `# bench/repository (${scale}, ${new Date().toISOString().slice(0, 10)})`,
  '',
  `Run search over ${env.runs} runs (10 experiments; 10 parameters, 7 metrics and 3 tags each; queries in`,
  'bench/repository/queries.json, 100 results per page) on the embedded run store (PGlite), in process and',
  `through POST /api/v1/runs/search, ${env.cpus} cores, Node ${env.node}. Target: p99 <= ${TARGET_MS} ms.`,
  '',
  '| metric | unit | Plinth | target |',
  '| --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.metric.trim()} | ${r.unit} | ${r.plinth} | ${r.target !== undefined ? `<= ${r.target}${r.met ? ' (met)' : ' (**not met**)'}` : ''} |`,
  ),
  '',
  disturbed.length
    ? `Disturbed measurements (other processes used the CPU meanwhile): ${result.disturbed.join('; ')}.`
    : 'No measurement was disturbed: other processes used under a tenth of a core throughout (monitor.js).',
  '',
  "No peer yet: MLflow's tracking store (search_runs on SQLite) is the planned side-by-side.",
  '',
].join('\n');
fs.writeFileSync(path.join(outDir, 'repository.md'), md);
process.stdout.write(md);
