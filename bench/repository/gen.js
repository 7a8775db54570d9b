'use strict';
/**
 * The runs of bench/repository: N synthetic training runs written once to runs.jsonl, which
 * both sides load (plinth.js into Plinth's run store, mlflow_side.py into MLflow's).
 *
 *   node gen.js --out DIR --runs N [--seed S]
 *
 * Each run: one of 10 experiments, a name, a status (90% FINISHED, 7% FAILED, 3% RUNNING), a
 * start time over 90 days, 10 parameters (model in gbt/logistic/forest, num_leaves, learning_rate,
 * ...), 6 metrics (auc, logloss, accuracy, f1, precision, recall: the latest values) with a
 * 10-step loss history, and 3 tags (team of 20, stage, user). Deterministic for a seed.
 */
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { seededRandom } = require('../common');

const VERSION = 'runs-1';
const { values: a } = parseArgs({
  options: { out: { type: 'string' }, runs: { type: 'string' }, seed: { type: 'string', default: '20261128' } },
});
const n = Number(a.runs);
const seed = Number(a.seed);
fs.mkdirSync(a.out, { recursive: true });
const metaFile = path.join(a.out, 'meta.json');
const meta = { version: VERSION, runs: n, seed, experiments: 10 };
if (fs.existsSync(metaFile) && fs.readFileSync(metaFile, 'utf8') === JSON.stringify(meta)) {
  process.stdout.write(`${JSON.stringify({ phase: 'gen', reused: true, ...meta })}\n`);
  process.exit(0);
}

const rand = seededRandom(seed);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const hex = (k) => Array.from({ length: k }, () => Math.floor(rand() * 16).toString(16)).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
const r4 = (x) => Math.round(x * 1e4) / 1e4;

const t0 = Date.parse('2026-08-30T00:00:00Z');
const out = fs.createWriteStream(path.join(a.out, 'runs.jsonl.tmp'));
const started = Date.now();
(async () => {
  for (let i = 0; i < n; i++) {
    const model = pick(['gbt', 'gbt', 'logistic', 'forest']);
    const quality = rand();
    const auc = r4(0.6 + 0.3 * quality + 0.02 * (rand() - 0.5));
    const run = {
      id: uuid(),
      experiment: `exp_${i % 10}`,
      name: `${model}-${i}`,
      status: rand() < 0.9 ? 'FINISHED' : rand() < 0.7 ? 'FAILED' : 'RUNNING',
      start: t0 + Math.floor((i / n) * 90 * 86_400_000),
      params: {
        model,
        num_leaves: String(pick([15, 31, 63, 127, 255])),
        learning_rate: String(pick([0.01, 0.03, 0.05, 0.1, 0.2])),
        num_iterations: String(pick([100, 200, 500, 1000])),
        feature_fraction: String(pick([0.6, 0.8, 1])),
        C: String(pick([0.01, 0.1, 1, 10])),
        max_depth: String(pick([-1, 6, 8, 12])),
        label: pick(['clicked', 'purchased', 'churned']),
        example_set: `clicks_${Math.floor(rand() * 50)}`,
        seed: String(Math.floor(rand() * 1000)),
      },
      metrics: {
        auc,
        logloss: r4(0.7 - 0.4 * quality + 0.02 * rand()),
        accuracy: r4(0.55 + 0.35 * quality + 0.02 * rand()),
        f1: r4(0.5 + 0.4 * quality * rand()),
        precision: r4(0.5 + 0.45 * rand()),
        recall: r4(0.4 + 0.5 * rand()),
      },
      loss: Array.from({ length: 10 }, (_, k) => r4(0.7 - 0.04 * k * quality - 0.01 * rand())),
      tags: {
        team: `team_${Math.floor(rand() * 20)}`,
        stage: pick(['dev', 'dev', 'candidate', 'prod']),
        user: `u${i % 200}`,
      },
    };
    if (!out.write(`${JSON.stringify(run)}\n`)) await new Promise((r) => out.once('drain', r));
  }
  out.end();
  await new Promise((r) => out.once('finish', r));
  fs.renameSync(path.join(a.out, 'runs.jsonl.tmp'), path.join(a.out, 'runs.jsonl'));
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  process.stdout.write(
    `${JSON.stringify({ phase: 'gen', reused: false, ...meta, seconds: (Date.now() - started) / 1000 })}\n`,
  );
})();
