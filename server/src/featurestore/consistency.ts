import { JSDuckDBValueConverter } from '@duckdb/node-api';
import { encodeEntityKey, type EntityKeyValue, type OnlineStore } from '@plinth/kernel-lib';
import { problem, ProblemError, type ConsistencyReport } from '@plinth/schema';
import { ident, literal, OfflineEngine } from '../offline/duckdb';
import type { ObjectStore } from '../stores/types';
import { localFiles } from '../stores/object/local-cache';
import { readOfflineManifest } from './offline-manifest';
import type { ServedView } from './serving-catalog';
import { toOnlineValue } from './values';

export const DEFAULT_CONSISTENCY_SAMPLE = 1000;
export const MAX_CONSISTENCY_SAMPLE = 100_000;
const MAX_EXAMPLES = 10;
// Entities per online read: one round trip each, small enough to stay a cheap request.
const READ_BATCH = 1000;

interface OfflineLatest {
  key: EntityKeyValue[];
  eventTs: number;
  values: unknown[];
}

/** Same value, as the online store keeps it; NaN equals NaN (a NaN feature is not a mismatch). */
const same = (a: unknown, b: unknown) => a === b || (Number.isNaN(a) && Number.isNaN(b));

/**
 * Compares a deterministic sample of entities' online values with their newest committed
 * offline values (the rows materialization wrote), so a broken online write path, a store
 * restored from an old snapshot or a push that bypassed the offline store shows as a
 * mismatch share. An online value newer than the offline one was pushed or streamed since
 * and is counted apart, not as a mismatch. Entities whose newest offline value is older
 * than the view's TTL are left out: online they expire by design.
 *
 * @example
 * const report = await checkConsistency({ objects, online }, await catalog.view('user_stats'), { sample: 1000 });
 * // report.mismatchShare === 0 right after a materialization
 */
export async function checkConsistency(
  env: { objects: ObjectStore; online: OnlineStore },
  view: ServedView,
  opts: { sample?: number; now?: number } = {},
): Promise<ConsistencyReport> {
  const sample = opts.sample ?? DEFAULT_CONSISTENCY_SAMPLE;
  const name = view.spec.name;
  const manifest = await readOfflineManifest(env.objects, name, view.version);
  if (!manifest || manifest.files.length === 0)
    throw new ProblemError(
      problem(
        409,
        'Nothing to compare',
        `feature view '${name}' (version ${view.version}) has no materialized offline data: materialize it first`,
      ),
    );
  const keys = view.push.joinKeys.map((k) => k.name);
  const features = view.push.featureNames;
  const ts = ident(view.spec.timestampColumn);
  const created = view.spec.createdTimestampColumn;
  const ttl = view.spec.ttlSeconds ?? 0;
  const since = ttl > 0 ? (opts.now ?? Date.now()) - ttl * 1000 : null;

  const engine = await OfflineEngine.create();
  try {
    const cached = await localFiles(env.objects, manifest.files);
    const files = `[${manifest.files.map((k) => literal(cached.get(k) ?? k)).join(', ')}]`;
    const keyList = keys.map(ident).join(', ');
    // The newest row per entity, with the materialization's own tie-break (created time).
    const order = [`${ts} DESC`, ...(created ? [`${ident(created)} DESC NULLS LAST`] : [])].join(', ');
    await engine.run(
      `CREATE TEMP TABLE latest AS SELECT ${keyList}, epoch_ms(${ts}) AS "__t", ${features.map(ident).join(', ')}
       FROM read_parquet(${files}) WHERE ${ts} IS NOT NULL
       QUALIFY row_number() OVER (PARTITION BY ${keyList} ORDER BY ${order}) = 1`,
    );
    const fresh = since === null ? 'true' : `"__t" >= ${since}`;
    const [{ entities, outside }] = (await engine.rows(
      `SELECT count(*) FILTER (WHERE ${fresh}) AS entities, count(*) FILTER (WHERE NOT (${fresh})) AS outside FROM latest`,
    )) as { entities: bigint; outside: bigint }[];
    // Ordered by a hash of the key: a spread-out sample that is the same on every run.
    const result = await engine.conn.stream(
      `SELECT * FROM latest WHERE ${fresh} ORDER BY hash(json_array(${keyList})), json_array(${keyList}) LIMIT ${sample}`,
    );
    const sampled: OfflineLatest[] = [];
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const cols = chunk.convertColumns(JSDuckDBValueConverter) as unknown[][];
      for (let i = 0; i < chunk.rowCount; i++) {
        sampled.push({
          key: keys.map((_, k) => cols[k][i] as EntityKeyValue),
          eventTs: Number(cols[keys.length][i]),
          values: features.map((_, f) => toOnlineValue(cols[keys.length + 1 + f][i])),
        });
      }
    }

    const report: ConsistencyReport = {
      view: name,
      version: view.version,
      entities: Number(entities),
      outsideTtl: Number(outside),
      sampled: sampled.length,
      missingOnline: 0,
      newerOnline: 0,
      olderOnline: 0,
      compared: 0,
      mismatched: 0,
      mismatchShare: 0,
      byFeature: Object.fromEntries(features.map((f) => [f, 0])),
      examples: [],
    };
    // Examples by kind, differing values first: they are the ones worth a look.
    const kinds = { differ: [], older: [], missing: [] } as Record<string, ConsistencyReport['examples']>;
    const example = (kind: string, row: OfflineLatest, feature: string, offline: unknown, online: unknown) => {
      if (kinds[kind].length < MAX_EXAMPLES)
        kinds[kind].push({
          entity: Object.fromEntries(
            keys.map((k, i) => [k, typeof row.key[i] === 'bigint' ? Number(row.key[i]) : row.key[i]]),
          ),
          feature,
          offline,
          online,
        });
    };
    for (let start = 0; start < sampled.length; start += READ_BATCH) {
      const batch = sampled.slice(start, start + READ_BATCH);
      const online = await env.online.read(
        name,
        batch.map((r) => encodeEntityKey(r.key)),
        features,
      );
      batch.forEach((row, i) => {
        const o = online[i];
        if (!o) {
          report.missingOnline++;
          example('missing', row, '(missing)', new Date(row.eventTs).toISOString(), null);
        } else if (o.eventTs > row.eventTs) report.newerOnline++;
        else if (o.eventTs < row.eventTs) {
          report.olderOnline++;
          example('older', row, '(event time)', new Date(row.eventTs).toISOString(), new Date(o.eventTs).toISOString());
        } else {
          report.compared++;
          let differs = false;
          features.forEach((f, j) => {
            if (same(row.values[j], o.values[j])) return;
            report.byFeature[f]++;
            if (!differs) example('differ', row, f, row.values[j], o.values[j]);
            differs = true;
          });
          if (differs) report.mismatched++;
        }
      });
    }
    report.examples = [...kinds.differ, ...kinds.older, ...kinds.missing].slice(0, MAX_EXAMPLES);
    const bad = report.missingOnline + report.olderOnline + report.mismatched;
    report.mismatchShare = report.sampled ? bad / report.sampled : 0;
    return report;
  } finally {
    engine.close();
  }
}
