'use strict';
/** Turns a bench/feature-store run (JSON lines) into bench/results/feature-store.{json,md}. */
const fs = require('node:fs');
const path = require('node:path');

const [file, scale, outDir] = process.argv.slice(2);
const lines = fs
  .readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const nth = (phase, i) => lines.filter((l) => l.phase === phase)[i];
const peerGen = nth('gen', 0);
const fullGen = nth('gen', 1);
const peerJoin = nth('join', 0);
const fullJoin = nth('join', 1);
const feast = nth('feast-join', 0);
const compare = nth('compare', 0);
const fullSetup = nth('setup', 1);
const push = nth('push', 0);
const stats = nth('stats', 0);
const pandas = nth('pandas-describe', 0);
const r2 = (x) => Math.round(x * 100) / 100;

const rows = [
  {
    metric: `point-in-time join, ${peerGen.labels} labels x ${peerGen.views} views x 10 features`,
    unit: 's',
    plinth: r2(peerJoin.seconds),
    peer: 'feast (dask offline store)',
    peer_value: r2(feast.seconds),
    ratio: r2(feast.seconds / peerJoin.seconds),
  },
  {
    metric: 'peak memory of that join (process max RSS)',
    unit: 'MiB',
    plinth: peerJoin.maxRssMiB,
    peer: 'feast',
    peer_value: feast.maxRssMiB,
  },
  { metric: 'rows returned by that join', unit: 'rows', plinth: peerJoin.rows, peer: 'feast', peer_value: feast.rows },
  {
    metric: `point-in-time join, ${fullGen.labels} labels x ${fullGen.views} views x 10 features`,
    unit: 's',
    plinth: r2(fullJoin.seconds),
    peer: 'feast',
    peer_value: null,
  },
  { metric: 'peak memory of that join', unit: 'MiB', plinth: fullJoin.maxRssMiB, peer: 'feast', peer_value: null },
  {
    metric: `online push into LMDB (${push.rows} entities x 10 features)`,
    unit: 'rows/s',
    plinth: push.rowsPerSecond,
    peer: null,
    peer_value: null,
    target: 1000000,
  },
  {
    metric: `whole materialization (${fullSetup.rows} rows: SQL, quality, Parquet, statistics, online)`,
    unit: 'rows/s',
    plinth: fullSetup.rowsPerSecond,
    peer: null,
    peer_value: null,
  },
  {
    metric: `statistics over ${stats.rows} rows x ${stats.columns} columns`,
    unit: 's',
    plinth: r2(stats.seconds),
    peer: 'pandas describe + isna + nunique (reference)',
    peer_value: r2(pandas.seconds),
  },
];
const result = {
  scale,
  when: new Date().toISOString(),
  machine: '2 cores, 24 GiB (shared)',
  threads: 2,
  compare,
  rows,
};
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'feature-store.json'), `${JSON.stringify(result, null, 2)}\n`);
const cell = (v) => (v === null || v === undefined ? '–' : String(v));
const md = [
  `# bench/feature-store (${scale} run, ${result.when.slice(0, 10)})`,
  '',
  'Same Parquet files, same 2 threads, same TTL (30 days) and created-timestamp tie-break on both sides.',
  'Produced by `npm run bench:feature-store`; ratios matter more than absolute times (shared machine).',
  '',
  '| metric | unit | Plinth | peer | peer value | peer / Plinth |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.metric} | ${r.unit} | ${cell(r.plinth)} | ${cell(r.peer)} | ${cell(r.peer_value)} | ${cell(r.ratio)} |`,
  ),
  '',
  `Values: of the ${compare.commonRows} label rows both outputs contain, ${compare.mismatchedValues} of ${compare.valuesCompared} joined feature values differ.`,
  '',
  'Notes:',
  '',
  "- Rows: Feast's dask (file) offline store drops a label row when its entity has feature rows but none within",
  '  [label time - TTL, label time] in some view (its merge-then-filter keeps only rows with no feature row at all);',
  '  Plinth keeps every label row, with empty values where nothing is valid. Values are compared on the rows both have.',
  '- Differing values: in this data they all come from full ties (same entity, same event time and the same created',
  '  time): both answers are valid; Plinth takes the later row of the file, deterministically, Feast another one.',
  "- Plinth's time includes writing the example set as zstd Parquet, hashing it and registering the version; Feast's",
  '  ends with the joined pandas DataFrame in memory.',
  '- Full size: Feast was not run. Its dask store merges every label row with every feature row of its entity before',
  '  filtering (10M labels x ~20 feature rows per entity and view: about 200M intermediate rows per view), which at',
  '  the peer size already takes the time and memory above; the full size is beyond this 24 GiB machine.',
  '- Peak memory: the maximum RSS of the process that ran the join (DuckDB is capped at 40% of RAM and spills).',
  '',
].join('\n');
fs.writeFileSync(path.join(outDir, 'feature-store.md'), md);
process.stdout.write(md);
