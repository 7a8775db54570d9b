'use strict';
/**
 * The ceiling of bench/inference: the deployed ONNX bytes run by onnxruntime-node in process,
 * features already in memory (Float32Array columns, no store read, no HTTP, no JSON), through
 * kernel-lib's PipelineSession with its defaults (one intra-op and one inter-op thread,
 * sequential execution: what the inference tier runs). A closed loop of session.runTyped on
 * batches of B rows for S seconds in each of P processes at once (one session each), the rows
 * of every process summed: P = the inference tier's worker processes gives a fair ceiling.
 * Prints one JSON line per batch size.
 *
 *   node raw.js --model FILE --features FILE --batches 1,32 --procs P --seconds S
 */
const { fork } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    features: { type: 'string' },
    batches: { type: 'string', default: '1,32' },
    procs: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '5' },
    child: { type: 'boolean', default: false },
  },
});
const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const r2 = (x) => Math.round(x * 100) / 100;

/** One process: waits for 'go' with a batch size, runs for the given seconds, reports back. */
async function child() {
  const { PipelineSession } = require(path.join(__dirname, '..', '..', 'kernel-lib', 'dist'));
  const session = await PipelineSession.create(fs.readFileSync(a.model));
  const cols = JSON.parse(fs.readFileSync(a.features, 'utf8'));
  const names = Object.keys(cols);
  const rows = cols[names[0]].length;
  /** Batches of b consecutive rows, prepared up front (the features are in memory). */
  const batchesOf = (b) =>
    Array.from({ length: Math.floor(rows / b) }, (_, k) =>
      Object.fromEntries(names.map((n) => [n, Float32Array.from(cols[n].slice(k * b, (k + 1) * b))])),
    );
  process.on('message', async ({ batch, seconds }) => {
    const list = batchesOf(batch);
    for (let i = 0; i < 200; i++) await session.runTyped(list[i % list.length]); // warm-up
    const lat = [];
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(Math.round(seconds * 1e9));
    let calls = 0;
    for (let now = t0; now < end;) {
      await session.runTyped(list[calls++ % list.length]);
      const t = process.hrtime.bigint();
      lat.push(Number(t - now) / 1000);
      now = t;
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    process.send({ calls, rows: calls * batch, wall, lat });
  });
  process.send({ ready: true });
}

async function main() {
  const procs = Number(a.procs);
  const seconds = Number(a.seconds);
  const args = ['--child', '--model', a.model, '--features', a.features];
  const kids = Array.from({ length: procs }, () => fork(path.join(__dirname, 'raw.js'), args));
  const next = (k) => new Promise((resolve) => k.once('message', resolve));
  await Promise.all(kids.map(next));
  for (const batch of a.batches.split(',').map(Number)) {
    const started = Date.now();
    const results = await Promise.all(
      kids.map((k) => {
        const r = next(k);
        k.send({ batch, seconds });
        return r;
      }),
    );
    const lat = Float64Array.from(results.flatMap((r) => r.lat)).sort();
    const rowsPerS = results.reduce((s, r) => s + r.rows / r.wall, 0);
    process.stdout.write(
      `${JSON.stringify({
        phase: 'raw',
        side: 'onnxruntime-node',
        procs,
        batch,
        t0: started,
        t1: Date.now(),
        calls: results.reduce((s, r) => s + r.calls, 0),
        preds_per_s: Math.round(rowsPerS),
        call_p50_us: r2(pct(lat, 0.5)),
        call_p99_us: r2(pct(lat, 0.99)),
      })}\n`,
    );
  }
  for (const k of kids) k.kill();
}

(a.child ? child() : main()).catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
