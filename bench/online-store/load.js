'use strict';
/**
 * HTTP load for bench/online-store, run in its own process against one server at a time
 * (Plinth's control plane or Feast's feature server). Both sides get the very same request
 * bodies (shared.js) and the same load. Prints one JSON line per run.
 *
 *   node load.js throughput --side S --url U --path P --entities N --per K --connections C --duration D
 *       closed loop, autocannon: C connections, each sending its next request when the last answered
 *   node load.js rate       --side S --url U --path P --entities N --per K --rate R --duration D
 *       open loop: one request every 1/R s whatever the answers do (a paced sender, see `rate`)
 *   node load.js answer     --side S --url U --path P --entities N --out FILE
 *       one request of 100 entities, its values per entity written to FILE (the cross-check)
 *   node load.js compare    FILE...   the answers' values compared with the first file's
 *
 * throughput and rate also take --bodies FILE (a JSON list of request bodies, as strings) instead
 * of shared.js's online-feature bodies: bench/inference sends its own (predict requests).
 */
/* global fetch */
const { Buffer } = require('node:buffer');
const fs = require('node:fs');
const http = require('node:http');
const { setTimeout } = require('node:timers');
const { URL } = require('node:url');
const { parseArgs } = require('node:util');
const autocannon = require('autocannon');
const { FEATURES, REFS, bodies } = require('./shared');

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    side: { type: 'string' },
    url: { type: 'string' },
    path: { type: 'string' },
    entities: { type: 'string', default: '100000' },
    per: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '15' },
    out: { type: 'string' },
    warmup: { type: 'string', default: '0' },
    bodies: { type: 'string' },
  },
});
const phase = positionals[0];
const N = Number(a.entities);
const per = Number(a.per);

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const r3 = (x) => Math.round(x * 1000) / 1000;

function emit(obj) {
  process.stdout.write(`${JSON.stringify({ phase, side: a.side, entities: per, ...obj })}\n`);
}

/** The request bodies of a run: --bodies FILE when given, else shared.js's for `per` entities. */
const requestBodies = () =>
  a.bodies ? JSON.parse(fs.readFileSync(a.bodies, 'utf8')) : bodies(N, per, per === 1 ? 20_000 : 2_000);

/** Latency summary (ms) of individually recorded response times. */
function summary(lat) {
  const s = Float64Array.from(lat).sort();
  return { p50_ms: r3(pct(s, 0.5)), p90_ms: r3(pct(s, 0.9)), p99_ms: r3(pct(s, 0.99)), max_ms: r3(s[s.length - 1]) };
}

/**
 * Closed loop with autocannon. Its own latency histogram keeps whole milliseconds, too coarse
 * here, so every response time (autocannon's own float measurement) is also kept in an array.
 */
async function throughput() {
  const list = requestBodies();
  let k = 0;
  const run = (seconds, lat) => {
    const inst = autocannon({
      url: a.url,
      connections: Number(a.connections),
      duration: seconds,
      requests: [
        {
          method: 'POST',
          path: a.path,
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: list[k++ % list.length] }),
        },
      ],
    });
    if (lat) inst.on('response', (_client, status, _bytes, ms) => status < 300 && lat.push(ms));
    return inst;
  };
  await settle();
  if (Number(a.warmup) > 0) await run(Number(a.warmup));
  const lat = [];
  const started = Date.now();
  const t0 = process.hrtime.bigint();
  const r = await run(Number(a.duration), lat);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  emit({
    t0: started,
    t1: Date.now(),
    connections: Number(a.connections),
    seconds: r3(seconds),
    requests: r['2xx'],
    rps: Math.round(r['2xx'] / seconds),
    ...summary(lat),
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  });
}

/**
 * Open loop at a fixed rate. autocannon's rate option lets each connection send its quota of a
 * second back to back and then wait for the next second (bursts, not a steady rate), so this
 * paced sender issues request i at t0 + i/R over keep-alive connections (as many as are busy),
 * never waiting for answers. Latency runs from writing the request to the end of the answer;
 * how late the sender itself was against the schedule is reported as `send_lag_p99_ms`. A
 * server that cannot keep up would pile up requests without end: at MAX_IN_FLIGHT outstanding
 * requests a due request is not sent but counted as `dropped` (the rate was not sustained).
 */
const MAX_IN_FLIGHT = 256;
async function rate() {
  const R = Number(a.rate);
  const list = requestBodies().map((b) => Buffer.from(b));
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  let next = 0;
  const body = () => list[next++ % list.length];
  await settle();
  if (Number(a.warmup) > 0) await paced(agent, body, R, Number(a.warmup));
  const started = Date.now();
  const r = await paced(agent, body, R, Number(a.duration));
  agent.destroy();
  emit({
    t0: started,
    t1: Date.now(),
    target_rps: R,
    seconds: r3(r.seconds),
    requests: r.lat.length,
    achieved_rps: Math.round(r.lat.length / r.seconds),
    ...summary(r.lat),
    send_lag_p99_ms: r3(pct(Float64Array.from(r.lag).sort(), 0.99)),
    max_in_flight: r.maxInFlight,
    dropped: r.dropped,
    non2xx: r.non2xx,
    errors: r.errors,
  });
}

/** Sends R requests a second for `seconds` (request i at t0 + i/R), then waits for the answers. */
async function paced(agent, body, R, seconds) {
  const u = new URL(a.url);
  const total = Math.round(R * seconds);
  const intervalNs = 1e9 / R;
  const r = { lat: [], lag: [], non2xx: 0, errors: 0, maxInFlight: 0, dropped: 0, seconds: 0 };
  let inFlight = 0;
  let sent = 0;
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => {
    const done = () => sent === total && inFlight === 0 && resolve();
    const send = (scheduled) => {
      const b = body();
      sent++;
      if (inFlight >= MAX_IN_FLIGHT) {
        r.dropped++;
        return;
      }
      inFlight++;
      r.maxInFlight = Math.max(r.maxInFlight, inFlight);
      const start = process.hrtime.bigint();
      r.lag.push(Number(start - scheduled) / 1e6);
      const req = http.request(
        {
          agent,
          hostname: u.hostname,
          port: u.port,
          method: 'POST',
          path: a.path,
          headers: { 'content-type': 'application/json', 'content-length': b.length },
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            r.lat.push(Number(process.hrtime.bigint() - start) / 1e6);
            if (res.statusCode >= 300) r.non2xx++;
            inFlight--;
            done();
          });
        },
      );
      req.on('error', () => {
        r.errors++;
        inFlight--;
        done();
      });
      req.end(b);
    };
    const dueAt = (i) => t0 + BigInt(Math.round(i * intervalNs));
    const tick = () => {
      const now = process.hrtime.bigint();
      while (sent < total && dueAt(sent) <= now) send(dueAt(sent));
      if (sent < total) setTimeout(tick, Math.max(0, Number(dueAt(sent) - now) / 1e6));
      else done();
    };
    tick();
  });
  r.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return r;
}

/**
 * A pause before each measured run: the requests a closed-loop run left in flight when it
 * stopped (32 of 100 entities take a one-worker Feast about 3 s) are still being answered,
 * and must not land in the next run.
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5000));

/** One request of 100 entities; its values as {entity id: [50 values]} in FILE. */
async function answer() {
  const ids = JSON.parse(bodies(N, 100, 1, 7)[0]).entities.user_id;
  const one = bodies(N, 1, 1, 7)[0];
  const post = async (body) => {
    const res = await fetch(new URL(a.path, a.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${a.side}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    return text;
  };
  const text = await post(JSON.stringify({ features: REFS, entities: { user_id: ids } }));
  const doc = JSON.parse(text);
  const values = {};
  if (doc.rows) {
    // Plinth: {rows: [{values: {"view:feature": v}, statuses}]}
    doc.rows.forEach((row, i) => (values[ids[i]] = REFS.map((ref) => row.values[ref])));
  } else {
    // Feast: {metadata: {feature_names}, results: [{values: [one per entity], statuses, event_timestamps}]}
    const col = new Map(doc.metadata.feature_names.map((name, j) => [name, doc.results[j].values]));
    ids.forEach((id, i) => (values[id] = FEATURES.map((f) => col.get(f)[i])));
  }
  fs.writeFileSync(a.out, JSON.stringify({ side: a.side, ids, values }));
  emit({ entities: 100, bytes100: Buffer.byteLength(text), bytes1: Buffer.byteLength(await post(one)) });
}

function compare() {
  const [first, ...rest] = positionals.slice(1).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  const sides = [first.side];
  let compared = 0;
  let mismatched = 0;
  let nulls = 0;
  for (const other of rest) {
    sides.push(other.side);
    for (const id of first.ids) {
      const x = first.values[id];
      const y = other.values[id];
      for (let j = 0; j < FEATURES.length; j++) {
        compared++;
        if (x[j] === null || x[j] === undefined) nulls++;
        if (x[j] !== y[j]) mismatched++;
      }
    }
  }
  const id = first.ids[0];
  const sample = Object.fromEntries([first, ...rest].map((s) => [s.side, s.values[id].slice(0, 5)]));
  process.stdout.write(
    `${JSON.stringify({ phase, sides, entities: first.ids.length, compared, mismatched, nulls, sampleEntity: id, sample })}\n`,
  );
}

const phases = { throughput, rate, answer, compare };
if (!phases[phase]) {
  process.stderr.write(`unknown phase '${phase}' (one of ${Object.keys(phases).join(', ')})\n`);
  process.exit(2);
}
Promise.resolve(phases[phase]()).catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
