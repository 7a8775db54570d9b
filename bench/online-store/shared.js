'use strict';
/** What both sides of bench/online-store share: the view, its 50 features and the request bodies. */

const { seededRandom } = require('../common');

const VIEW = 'user_stats';
const FEATURES = Array.from({ length: 50 }, (_, i) => `f${i}`);
const REFS = FEATURES.map((f) => `${VIEW}:${f}`);

/** A seeded PRNG (mulberry32, bench/common.js): the same entity ids on every side and every run. */
const prng = seededRandom;

/**
 * `count` request bodies of `perRequest` random entity ids in [0, entities). Plinth's
 * `POST /api/v1/online-features` and Feast's `POST /get-online-features` take the same body:
 * `{"features": ["view:feature", ...], "entities": {"user_id": [...]}}`, so both sides get the
 * very same bytes.
 */
function bodies(entities, perRequest, count, seed = 42) {
  const rnd = prng(seed + perRequest);
  return Array.from({ length: count }, () => {
    const ids = Array.from({ length: perRequest }, () => Math.floor(rnd() * entities));
    return JSON.stringify({ features: REFS, entities: { user_id: ids } });
  });
}

module.exports = { VIEW, FEATURES, REFS, prng, bodies };
