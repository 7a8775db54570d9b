'use strict';
/**
 * kernel-lib direct reads, in a process of their own (as the inference tier or a notebook reads
 * the store the control plane writes): LMDB opened read-only at the platform's path, and Redis.
 * Every call is timed on its own with process.hrtime.bigint. Prints one JSON line per
 * (store, API, entities per call).
 *
 *   node direct.js --lmdb DIR --redis URL --entities N --calls C
 */
const path = require('node:path');
const { parseArgs } = require('node:util');
const online = require(path.join(__dirname, '..', '..', 'kernel-lib', 'dist', 'online'));
const { VIEW, FEATURES, REFS, prng } = require('./shared');

const { values: a } = parseArgs({
  options: {
    lmdb: { type: 'string' },
    redis: { type: 'string' },
    entities: { type: 'string', default: '100000' },
    // Single-entity LMDB calls measured; the other cases scale from it (see below).
    calls: { type: 'string', default: '200000' },
  },
});
const N = Number(a.entities);
const CALLS = Number(a.calls);

// The serving description readOnlineFeatures takes, built from the same definitions plinth.js applies.
const views = new Map([
  [
    VIEW,
    online.servingView(
      { name: VIEW, entities: ['user'], features: FEATURES.map((name) => ({ name, type: 'float64' })) },
      [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
    ),
  ],
]);
const refs = online.parseFeatureRefs(REFS);

/** `count` lists of `per` random entity ids (keys and instances), from a fixed seed. */
function requests(per, count) {
  const rnd = prng(1000 + per);
  return Array.from({ length: count }, () => {
    const ids = Array.from({ length: per }, () => Math.floor(rnd() * N));
    return { keys: ids.map((id) => online.encodeEntityKey([id])), instances: ids.map((user_id) => ({ user_id })) };
  });
}

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

/** Warm-up, then `calls` individually timed calls of `fn` over the prepared requests. */
async function measure(label, per, calls, fn) {
  const reqs = requests(per, Math.min(calls, 10_000));
  const check = await fn(reqs[0]);
  if (check.length !== per || !check.every((r) => r && r.values.length === FEATURES.length))
    throw new Error(`${label.store} ${label.api}: expected ${per} rows of ${FEATURES.length} values`);
  for (let i = 0; i < Math.min(calls / 5, 20_000); i++) await fn(reqs[i % reqs.length]);
  const lat = new Float64Array(calls);
  const started = Date.now();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const s = process.hrtime.bigint();
    await fn(reqs[i % reqs.length]);
    lat[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort();
  const r2 = (x) => Math.round(x * 100) / 100;
  process.stdout.write(
    `${JSON.stringify({
      phase: 'direct',
      side: 'plinth',
      ...label,
      entities: per,
      calls,
      t0: started,
      t1: Date.now(),
      p50_us: r2(pct(lat, 0.5)),
      p99_us: r2(pct(lat, 0.99)),
      p999_us: r2(pct(lat, 0.999)),
      entities_per_s: Math.round((calls * per) / wall),
    })}\n`,
  );
}

/** readOnlineFeatures' rows as arrays, so that `measure` can check them like store rows. */
const asRows = (res) => res.rows.map((r) => ({ values: Object.values(r.values).filter((v) => v !== null) }));

async function main() {
  if (a.lmdb) {
    const store = online.LmdbOnlineStore.open(path.resolve(a.lmdb), { readOnly: true });
    const lmdb = (api) => ({ store: 'lmdb', api });
    await measure(lmdb('LmdbOnlineStore.read'), 1, CALLS, (r) => store.read(VIEW, r.keys, FEATURES));
    await measure(lmdb('LmdbOnlineStore.readSync'), 1, CALLS, async (r) => store.readSync(VIEW, r.keys, FEATURES));
    await measure(lmdb('readOnlineFeatures'), 1, CALLS, async (r) =>
      asRows(await online.readOnlineFeatures(store, views, refs, r.instances)),
    );
    await measure(lmdb('LmdbOnlineStore.read'), 100, CALLS / 10, (r) => store.read(VIEW, r.keys, FEATURES));
    await measure(lmdb('readOnlineFeatures'), 100, CALLS / 10, async (r) =>
      asRows(await online.readOnlineFeatures(store, views, refs, r.instances)),
    );
    await store.close();
  }
  if (a.redis) {
    const store = await online.RedisOnlineStore.connect({ url: a.redis });
    const redis = (api) => ({ store: 'redis', api });
    // A Redis read is a network round trip (tens of microseconds): a tenth of the LMDB calls.
    await measure(redis('RedisOnlineStore.read'), 1, CALLS / 10, (r) => store.read(VIEW, r.keys, FEATURES));
    await measure(redis('readOnlineFeatures'), 1, CALLS / 10, async (r) =>
      asRows(await online.readOnlineFeatures(store, views, refs, r.instances)),
    );
    await measure(redis('RedisOnlineStore.read'), 100, CALLS / 40, (r) => store.read(VIEW, r.keys, FEATURES));
    await measure(redis('readOnlineFeatures'), 100, CALLS / 40, async (r) =>
      asRows(await online.readOnlineFeatures(store, views, refs, r.instances)),
    );
    await store.close();
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
