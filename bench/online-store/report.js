'use strict';
/** Turns a bench/online-store run (JSON lines) into bench/results/online-store.{json,md}. */
const fs = require('node:fs');
const path = require('node:path');

const [file, scale, outDir, monitorFile] = process.argv.slice(2);
const { jsonLines, monitorSamples, markDisturbed } = require('../common.js');
const lines = jsonLines(file);

// CPU other processes used while each measurement ran (bench/monitor.js).
const samples = monitorSamples(monitorFile);
for (const l of lines) if (l.t0 !== undefined) markDisturbed(l, samples);
const disturbed = lines.filter((l) => l.disturbed);
const mark = (l) => (l.disturbed ? ' †' : '');
const find = (pred, what) => {
  const l = lines.find(pred);
  if (!l) throw new Error(`${file}: no result for ${what}`);
  return l;
};
const env = find((l) => l.phase === 'env', 'env');
const gen = find((l) => l.phase === 'gen', 'gen');
const direct = (side, store, api, entities) =>
  find(
    (l) =>
      l.phase === 'direct' && l.side === side && l.store === store && l.api.startsWith(api) && l.entities === entities,
    `direct ${side} ${store} ${api} ${entities}`,
  );
const tput = (side, entities) =>
  find((l) => l.phase === 'throughput' && l.side === side && l.entities === entities, `throughput ${side} ${entities}`);
const rate = (side, entities, r) =>
  find(
    (l) => l.phase === 'rate' && l.side === side && l.entities === entities && l.target_rps === r,
    `rate ${side} ${entities} ${r}`,
  );
const setupOf = (store) => find((l) => l.phase === 'setup' && l.store.startsWith(store), `setup ${store}`);
const compare = find((l) => l.phase === 'compare', 'compare');
const answers = Object.fromEntries(lines.filter((l) => l.phase === 'answer').map((l) => [l.side, l]));
const r2 = (x) => (x === null || x === undefined ? null : Math.round(x * 100) / 100);
const us2 = (x) => r2(x);

const rows = [];
/** `better`: 'lower' for latencies and times, 'higher' for rates. advantage > 1: Plinth is better. */
const row = (metric, unit, plinth, peer, peerValue, better, extra = {}) => {
  const advantage =
    plinth && peerValue ? r2(better === 'lower' ? peerValue / plinth : plinth / peerValue) : (extra.advantage ?? null);
  rows.push({ metric, unit, plinth, peer, peer_value: peerValue, advantage, ...extra });
};

// kernel-lib direct (in process), against Feast's in-process FeatureStore.get_online_features.
const feastDirect = (n) => direct('feast', 'redis', 'FeatureStore', n);
for (const n of [1, 100]) {
  const f = feastDirect(n);
  for (const [store, api] of [
    ['lmdb', 'LmdbOnlineStore.read'],
    ['lmdb', 'readOnlineFeatures'],
    ['redis', 'RedisOnlineStore.read'],
    ['redis', 'readOnlineFeatures'],
  ]) {
    const d = direct('plinth', store, api, n);
    for (const q of ['p50', 'p99'])
      row(
        `direct ${api} (${store === 'lmdb' ? 'LMDB' : 'Redis'}), ${n} entit${n === 1 ? 'y' : 'ies'} x 50 features, ${q}`,
        'us',
        us2(d[`${q}_us`]),
        'feast get_online_features in process (Redis)',
        us2(f[`${q}_us`]),
        'lower',
      );
  }
}
{
  const d = direct('plinth', 'lmdb', 'LmdbOnlineStore.readSync', 1);
  row('direct LmdbOnlineStore.readSync (LMDB), 1 entity x 50 features, p50', 'us', us2(d.p50_us), null, null, 'lower');
  row('direct LmdbOnlineStore.readSync (LMDB), 1 entity x 50 features, p99', 'us', us2(d.p99_us), null, null, 'lower');
}

// HTTP: each Plinth control plane against Feast's feature server with one worker (one process
// each); Feast with two workers as extra rows.
const plinthSides = [
  ['plinth-lmdb', 'Plinth on LMDB'],
  ['plinth-redis', 'Plinth on Redis'],
];
const feastSides = [
  ['feast-1w', 'feast serve, 1 worker'],
  ['feast-2w', 'feast serve, 2 workers'],
];
for (const n of [1, 100]) {
  for (const [fs_, fname] of feastSides) {
    const f = tput(fs_, n);
    for (const [ps, pname] of plinthSides) {
      const p = tput(ps, n);
      const what = `HTTP max throughput, ${n} entit${n === 1 ? 'y' : 'ies'} x 50 features, ${env.connections} connections (${pname})`;
      row(`${what}`, 'req/s', p.rps, fname, f.rps, 'higher');
      row(`${what}: p50 latency`, 'ms', p.p50_ms, fname, f.p50_ms, 'lower');
      row(`${what}: p99 latency`, 'ms', p.p99_ms, fname, f.p99_ms, 'lower');
    }
  }
}
for (const [n, r] of [
  [1, 1000],
  [1, 100],
  [100, 10],
]) {
  for (const [fs_, fname] of feastSides) {
    const f = rate(fs_, n, r);
    const sustained = (x) => x.dropped === 0 && x.achieved_rps >= 0.98 * r;
    for (const [ps, pname] of plinthSides) {
      const p = rate(ps, n, r);
      const what = `HTTP at a fixed ${r} req/s, ${n} entit${n === 1 ? 'y' : 'ies'} x 50 features (${pname})`;
      const note = {
        achieved_rps: p.achieved_rps,
        peer_achieved_rps: f.achieved_rps,
        ...(sustained(f) ? {} : { peer_note: `not sustained: ${f.achieved_rps} req/s answered, ${f.dropped} dropped` }),
        ...(sustained(p) ? {} : { note: `not sustained: ${p.achieved_rps} req/s answered, ${p.dropped} dropped` }),
      };
      row(`${what}: p50 latency`, 'ms', p.p50_ms, fname, f.p50_ms, 'lower', note);
      row(`${what}: p99 latency`, 'ms', p.p99_ms, fname, f.p99_ms, 'lower', note);
    }
  }
}
const lmdbSetup = setupOf('LMDB');
const redisSetup = setupOf('Redis');
const feastSetup = find((l) => l.phase === 'feast-setup', 'feast-setup');
row(
  `materialize ${gen.entities} entities x 50 features into LMDB (Plinth: offline + online + statistics)`,
  's',
  r2(lmdbSetup.seconds),
  'feast materialize into Redis (online only)',
  r2(feastSetup.seconds),
  'lower',
);
row(
  `materialize ${gen.entities} entities x 50 features into Redis (Plinth: offline + online + statistics)`,
  's',
  r2(redisSetup.seconds),
  'feast materialize into Redis (online only)',
  r2(feastSetup.seconds),
  'lower',
);

// Errors anywhere make the run invalid: say so loudly rather than report numbers.
const bad = lines.filter((l) => (l.non2xx ?? 0) > 0 || (l.errors ?? 0) > 0 || (l.timeouts ?? 0) > 0);

// Targets of the issue.
const lmdbRead = direct('plinth', 'lmdb', 'LmdbOnlineStore.read', 1);
const targets = [];
const target = (what, met, measured, gap, from = []) => {
  const d = from.filter((l) => l.disturbed);
  const note = d.length
    ? ` (disturbed: other processes used up to ${Math.max(...d.map((l) => l.foreign_cpu.max))} cores)`
    : '';
  targets.push({ target: what, met, measured: measured + note, gap: met ? null : gap });
};
target(
  'direct LMDB read (1 entity x 50 features) p99 <= 50 us',
  lmdbRead.p99_us <= 50,
  `LmdbOnlineStore.read p99 ${r2(lmdbRead.p99_us)} us (p50 ${r2(lmdbRead.p50_us)} us)`,
  `${r2(lmdbRead.p99_us - 50)} us over`,
  [lmdbRead],
);
for (const [ps, pname] of plinthSides) {
  const p = rate(ps, 1, 1000);
  const ok = p.p99_ms <= 2 && p.dropped === 0 && p.achieved_rps >= 980;
  target(
    `HTTP single-entity p99 <= 2 ms at 1,000 requests/s (${pname})`,
    ok,
    `p99 ${p.p99_ms} ms, p50 ${p.p50_ms} ms at ${p.achieved_rps} req/s answered`,
    `p99 ${r2(p.p99_ms - 2)} ms over (${r2(p.p99_ms / 2)}x the target)`,
    [p],
  );
}
for (const n of [1, 100]) {
  const f = tput('feast-1w', n);
  for (const [ps, pname] of plinthSides) {
    const p = tput(ps, n);
    const x = p.rps / f.rps;
    const ok = x >= 5 && p.p99_ms <= f.p99_ms;
    target(
      `>= 5x Feast's throughput at equal or better p99, ${n} entit${n === 1 ? 'y' : 'ies'} (${pname} vs feast serve, 1 worker)`,
      ok,
      `${p.rps} vs ${f.rps} req/s = ${r2(x)}x; p99 ${p.p99_ms} vs ${f.p99_ms} ms`,
      x < 5 ? `${r2(x)}x instead of 5x` : `p99 ${r2(p.p99_ms - f.p99_ms)} ms worse`,
      [p, f],
    );
  }
}

const notes = [
  `Data: one Parquet file, ${gen.entities} entities (user_id) x 50 float64 features, one row per entity, generated by DuckDB; both sides read it, materialize it into the online store and serve it; no TTL on either side.`,
  `One redis-server (${env.redis}, 127.0.0.1, no persistence) holds Plinth's and Feast's data side by side. Plinth on LMDB reads the LMDB environment its materialization wrote.`,
  "Processes: Plinth's control plane (`plinth serve`, the real server, job runner included) is one Node process; Feast's feature server (`feast serve`: gunicorn + uvicorn) runs with 1 worker for the like-for-like rows, and with 2 workers as extra rows. The machine has " +
    `${env.cpus} cores shared by the server, redis-server and the load generator.`,
  'Server settings: Plinth `--log-level warn` (no per-request log); Feast `--no-access-log` and `--max-requests 0` (gunicorn otherwise restarts the worker every ~1000 requests, a pause with one worker). Everything else default on both sides.',
  `Requests: the same bytes to both: {"features": [50 x "user_stats:fN"], "entities": {"user_id": [...]}}, from a fixed list of random entity ids (shared.js, seeded). Responses differ in shape: Plinth answers a row per entity with values and statuses (${answers['plinth-lmdb']?.bytes1} B for 1 entity, ${answers['plinth-lmdb']?.bytes100} B for 100), Feast a column per feature with values, statuses and event times (${answers['feast-1w']?.bytes1} B, ${answers['feast-1w']?.bytes100} B).`,
  `Max throughput: autocannon 8, closed loop, ${env.connections} keep-alive connections, ${env.seconds} s per run (after a warm-up), from a separate Node process; latencies are autocannon's per-response times kept at full resolution (its own histogram rounds to whole ms).`,
  "Fixed rate: an open-loop paced sender (load.js) issues request i at t0 + i/R over keep-alive connections and never waits for answers (autocannon's rate option sends each second's quota in a burst). Latency from writing the request to the end of the answer. A server that cannot keep up gets at most 256 outstanding requests; further due requests are counted as dropped and the row is marked not sustained, its latencies are then queueing times.",
  'Direct: kernel-lib in a separate Node process, LMDB opened read-only, each call timed with process.hrtime.bigint after a warm-up. Feast in process: FeatureStore.get_online_features(...).to_dict(), timed with perf_counter_ns, on the same entity-id lists.',
  `Cross-check: one request of the same 100 entities to every server; of ${compare.compared} values compared with Plinth on LMDB, ${compare.mismatched} differ (entity ${compare.sampleEntity}, first 5 features: ${JSON.stringify(compare.sample)}).`,
  'advantage: how many times better Plinth is (peer / Plinth for latencies and times, Plinth / peer for throughput).',
];

const result = {
  scale,
  when: new Date().toISOString(),
  machine: `${env.cpus} cores, shared`,
  versions: { node: env.node, python: env.python, feast: env.feast, redis: env.redis },
  entities: gen.entities,
  features: 50,
  compare,
  errors: bad,
  disturbed: disturbed.map((l) => ({ ...l })),
  targets,
  rows,
  notes,
};
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'online-store.json'), `${JSON.stringify(result, null, 2)}\n`);

const cell = (v) => (v === null || v === undefined ? '–' : String(v));

// One table of the headline figures, a column per server.
const servers = [...plinthSides, ...feastSides];
const pair = (x, y) => `${x} / ${y}`;
const sustainedCell = (x) =>
  (x.dropped === 0 && x.achieved_rps >= 0.98 * x.target_rps
    ? pair(x.p50_ms, x.p99_ms)
    : `${pair(x.p50_ms, x.p99_ms)} (not sustained: ${x.achieved_rps} req/s)`) + mark(x);
const headline = [
  [
    'direct read, 1 entity: p50 / p99 (us)',
    ...['lmdb', 'redis'].map((s) => {
      const d = direct('plinth', s, s === 'lmdb' ? 'LmdbOnlineStore.read' : 'RedisOnlineStore.read', 1);
      return pair(us2(d.p50_us), us2(d.p99_us)) + mark(d);
    }),
    `${pair(us2(feastDirect(1).p50_us), us2(feastDirect(1).p99_us))} (in process)${mark(feastDirect(1))}`,
    '–',
  ],
  [
    'direct read, 100 entities: p50 / p99 (us)',
    ...['lmdb', 'redis'].map((s) => {
      const d = direct('plinth', s, s === 'lmdb' ? 'LmdbOnlineStore.read' : 'RedisOnlineStore.read', 100);
      return pair(us2(d.p50_us), us2(d.p99_us)) + mark(d);
    }),
    `${pair(us2(feastDirect(100).p50_us), us2(feastDirect(100).p99_us))} (in process)${mark(feastDirect(100))}`,
    '–',
  ],
  ['HTTP, 1 entity at 1000 req/s: p50 / p99 (ms)', ...servers.map(([s]) => sustainedCell(rate(s, 1, 1000)))],
  ['HTTP, 1 entity at 100 req/s: p50 / p99 (ms)', ...servers.map(([s]) => sustainedCell(rate(s, 1, 100)))],
  ['HTTP, 100 entities at 10 req/s: p50 / p99 (ms)', ...servers.map(([s]) => sustainedCell(rate(s, 100, 10)))],
  ...[1, 100].map((n) => [
    `HTTP max throughput, ${n} entit${n === 1 ? 'y' : 'ies'}: req/s (p99 ms)`,
    ...servers.map(([s]) => `${tput(s, n).rps} (${tput(s, n).p99_ms})${mark(tput(s, n))}`),
  ]),
  ...[1, 100].map((n) => [
    `throughput vs feast serve, 1 worker, ${n} entit${n === 1 ? 'y' : 'ies'}`,
    ...servers.map(([s]) => `${r2(tput(s, n).rps / tput('feast-1w', n).rps)}x`),
  ]),
];
const md = [
  `# bench/online-store (${scale} run, ${result.when.slice(0, 10)})`,
  '',
  `Online reads of ${gen.entities} entities x 50 float64 features: Plinth's kernel-lib directly and its control plane over HTTP,`,
  "against Feast's Python feature server on the same data in the same redis-server, under the same load.",
  'Produced by `npm run bench:online-store`; ratios matter more than absolute times (shared machine).',
  '',
  ...(bad.length
    ? [
        '**Errors in this run (non-2xx, connection errors or timeouts):**',
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
  ...(samples.length
    ? [
        disturbed.length
          ? `† disturbed: other processes on this shared machine used CPU during that measurement (${disturbed.length} of ${lines.filter((l) => l.foreign_cpu).length} measurements; listed under Disturbance).`
          : `No measurement was disturbed: other processes used under a tenth of a core throughout (monitor.js).`,
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
  ...rows.map((r) => {
    const flags = [r.note && `Plinth ${r.note}`, r.peer_note && `peer ${r.peer_note}`].filter(Boolean).join('; ');
    return `| ${r.metric}${flags ? ` (${flags})` : ''} | ${r.unit} | ${cell(r.plinth)} | ${cell(r.peer)} | ${cell(r.peer_value)} | ${cell(r.advantage)} |`;
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
          (l) =>
            `| ${[l.phase, l.side, l.store, l.api, `${l.entities} entities`, l.target_rps && `${l.target_rps} req/s`].filter(Boolean).join(', ')} | ${l.foreign_cpu.mean} / ${l.foreign_cpu.max} | ${l.foreign_cpu.top.join(', ')} |`,
        ),
        '',
      ]
    : []),
].join('\n');
fs.writeFileSync(path.join(outDir, 'online-store.md'), md);
process.stdout.write(md);
