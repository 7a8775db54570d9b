import {
  assertValid,
  problem,
  ProblemError,
  type Deployment,
  type DeploymentRevision,
  type FeatureView,
  type ModelVersion,
  type Sanity,
  type ViewFreshness,
} from '@plinth/schema';
import type { Platform } from '../platform';
import type { RegistryRecord } from '../stores/types';
import { readOfflineManifest } from '../featurestore/offline-manifest';
import { getModelVersion } from '../repository/models';
import { specHash } from '../util/hash';
import type { DeploymentWatch } from './watch';

/** What the inference tier answers to POST /v1/admin/verify (inference/model-cache.ts VerifyResult). */
interface TierVerdict {
  sanity: { examples: number; maxAbsDiff: number; mismatches: string[] };
  views: { view: string; entities: number }[];
}

const conflict = (title: string, detail: string) => new ProblemError(problem(409, title, detail));

/**
 * Asks the inference tier to load the version exactly as it will serve it and replay its
 * reference examples there: the check runs on the target, not on the control plane.
 */
async function verifyOnTier(p: Platform, mv: ModelVersion): Promise<{ sanity: Sanity; views: TierVerdict['views'] }> {
  const url = `${p.config.inferenceUrl}/v1/admin/verify`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(p.config.token ? { authorization: `Bearer ${p.config.token}` } : {}),
      },
      body: JSON.stringify({ model: mv.name, version: mv.version }),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (e) {
    throw new ProblemError(
      problem(
        503,
        'Inference tier unreachable',
        `the sanity test runs on the inference tier, and ${url} did not answer: ${(e as Error).message}`,
      ),
    );
  }
  const body = (await res.json().catch(() => ({}))) as TierVerdict & { detail?: string };
  if (!res.ok)
    throw conflict(
      'Sanity test failed',
      `the inference tier could not load ${mv.name}@${mv.version}: ${body.detail ?? res.status}`,
    );
  const { sanity } = body;
  if (sanity.mismatches.length)
    throw conflict(
      'Sanity test failed',
      `${mv.name}@${mv.version} replayed ${sanity.examples} reference examples on the inference tier with ` +
        `${sanity.mismatches.length} mismatch(es) beyond tolerance: ${sanity.mismatches.join('; ')}`,
    );
  return {
    sanity: { examples: sanity.examples, maxAbsDiff: sanity.maxAbsDiff, tier: p.config.inferenceUrl },
    views: body.views,
  };
}

/**
 * Every online feature view the version reads must be materialized, recent enough (its newest
 * event no older than `maxStalenessSeconds`, by default the view's TTL) and present in the
 * inference tier's online store.
 */
async function checkFreshness(
  p: Platform,
  mv: ModelVersion,
  tierViews: TierVerdict['views'],
  maxStalenessSeconds: number | undefined,
): Promise<ViewFreshness[]> {
  const out: ViewFreshness[] = [];
  for (const fv of mv.featureViews ?? []) {
    const m = await readOfflineManifest(p.objects, fv.name, fv.version);
    if (!m)
      throw conflict(
        'Online features missing',
        `feature view ${fv.name}@${fv.version} read by ${mv.name}@${mv.version} has never been materialized`,
      );
    const spec = (await p.registry.get<FeatureView>('feature-view', fv.name, fv.version)).spec;
    const limit = maxStalenessSeconds ?? (spec.ttlSeconds && spec.ttlSeconds > 0 ? spec.ttlSeconds : null);
    const age = m.lastEventTime ? (Date.now() - Date.parse(m.lastEventTime)) / 1000 : null;
    if (limit !== null && (age === null || age > limit))
      throw conflict(
        'Online features stale',
        `feature view ${fv.name}@${fv.version}: newest materialized event ${m.lastEventTime ?? '(none)'} is ` +
          `${age === null ? 'missing' : `${Math.round(age)} s old`}, over the limit of ${limit} s`,
      );
    const online = tierViews.find((v) => v.view === fv.name);
    if (online && online.entities === 0)
      throw conflict(
        'Online features missing',
        `the inference tier's online store holds no entities for feature view ${fv.name}, which ${mv.name}@${mv.version} reads`,
      );
    out.push({
      view: fv.name,
      version: fv.version,
      lastEventTime: m.lastEventTime,
      materializedAt: m.committedAt,
      ageSeconds: age,
      maxAgeSeconds: limit,
      ...(online ? { onlineEntities: online.entities } : {}),
    });
  }
  return out;
}

function checkName(name: string): void {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name))
    throw new ProblemError(
      problem(400, 'Invalid deployment name', `'${name}' is not a valid name`, [
        { pointer: '/name', detail: 'must match ^[a-z][a-z0-9_]{0,62}$' },
      ]),
    );
}

/** The fields that decide traffic: equal hashes mean a deploy changes nothing. */
const trafficHash = (d: Deployment) =>
  specHash({ model: d.model, version: d.version, alias: d.alias, canary: d.canary, shadow: d.shadow });

/** A deployment state without what stamps it (action, reason, when, who). */
type Traffic = Omit<Deployment, 'action' | 'reason' | 'createdAt' | 'createdBy'>;

/** Stamps a state with its action, reason and author, and stores it unless it changes nothing. */
async function commit(
  p: Platform,
  watch: DeploymentWatch,
  t: Traffic,
  action: NonNullable<Deployment['action']>,
  reason: string | undefined,
  actor: string,
): Promise<Deployment> {
  const d: Deployment = {
    ...t,
    action,
    ...(reason ? { reason } : {}),
    createdAt: new Date().toISOString(),
    createdBy: actor,
  };
  const { record, created } = await p.meta.putVersion('deployment', d.name, d, trafficHash(d), actor);
  if (created) {
    await p.meta.audit({
      actor,
      action: `deployment.${action}`,
      target: `deployment/${d.name}`,
      detail: { model: d.model, version: d.version, canary: d.canary, shadow: d.shadow, reason: d.reason },
    });
    watch.changed();
  }
  return record.spec;
}

async function current(p: Platform, name: string): Promise<Deployment | null> {
  return (await p.meta.getLatest<Deployment>('deployment', name))?.spec ?? null;
}

/**
 * Deploys in one call: resolve the version (or alias), check that its online features are
 * materialized, fresh and in the tier's online store, load it on the inference tier and replay
 * its reference examples there, then switch traffic with one record write (the tier follows
 * within milliseconds). `mode: 'canary'` adds the version beside the current one for a share
 * of requests; `mode: 'shadow'` runs it on copies of requests without answering any.
 */
export async function deploy(
  p: Platform,
  watch: DeploymentWatch,
  name: string,
  body: unknown,
  actor: string,
): Promise<Deployment> {
  checkName(name);
  const req = assertValid('deploy-request', body, 'deploy request');
  if (req.alias && req.version)
    throw new ProblemError(
      problem(400, 'Invalid deploy request', 'give a version or an alias, not both', [
        { pointer: '/alias', detail: 'conflicts with /version' },
      ]),
    );
  const mode = req.mode ?? 'replace';
  if ((mode === 'canary') !== (req.share !== undefined))
    throw new ProblemError(
      problem(400, 'Invalid deploy request', 'share is required with mode canary, and only there', [
        { pointer: '/share', detail: mode === 'canary' ? 'is required' : 'is only for mode canary' },
      ]),
    );
  const mv = await getModelVersion(p, req.model, req.alias ?? req.version);
  if (mv.status === 'archived')
    throw conflict('Version archived', `${mv.name}@${mv.version} is archived; unarchive it to deploy it`);
  const cur = await current(p, name);
  if (mode !== 'replace') {
    if (!cur) throw conflict(`Nothing to ${mode}`, `deployment '${name}' does not exist yet: deploy a version first`);
    if (cur.model !== mv.name)
      throw conflict(`Different model`, `deployment '${name}' serves model '${cur.model}', not '${mv.name}'`);
    if (cur.version === mv.version)
      throw conflict(`Same version`, `deployment '${name}' already serves ${mv.name}@${mv.version}`);
  }
  const verdict = await verifyOnTier(p, mv);
  const freshness = await checkFreshness(p, mv, verdict.views, req.maxStalenessSeconds);
  const alias = req.alias ? { alias: req.alias } : {};
  if (mode === 'replace') {
    const t: Traffic = {
      name,
      model: mv.name,
      version: mv.version,
      ...alias,
      endpoint: `${p.config.inferenceUrl}/v1/predict/${name}`,
      sanity: verdict.sanity,
      freshness,
    };
    return commit(p, watch, t, 'deploy', req.reason, actor);
  }
  const base = withoutStamp(cur as Deployment);
  const t: Traffic =
    mode === 'canary'
      ? { ...base, canary: { version: mv.version, ...alias, share: req.share as number, sanity: verdict.sanity } }
      : { ...base, shadow: { version: mv.version, ...alias, sanity: verdict.sanity } };
  return commit(p, watch, t, mode, req.reason, actor);
}

function withoutStamp(d: Deployment): Traffic {
  const { reason: _r, createdAt: _a, createdBy: _b, action: _c, ...rest } = d;
  return rest;
}

async function requireCurrent(p: Platform, name: string): Promise<Deployment> {
  const cur = await current(p, name);
  if (!cur) throw new ProblemError(problem(404, 'Not found', `deployment '${name}' does not exist`));
  return cur;
}

/**
 * Rolls back in one call: a canary or shadow is ended (the primary stays); otherwise the
 * deployment goes back to the newest earlier state that served a different version. The
 * version is loaded on the tier first, so the switch is instant.
 */
export async function rollback(
  p: Platform,
  watch: DeploymentWatch,
  name: string,
  body: unknown,
  actor: string,
): Promise<Deployment> {
  const req = assertValid('deployment-change', body ?? {}, 'rollback request');
  const cur = await requireCurrent(p, name);
  if (cur.canary || cur.shadow) {
    const { canary: _c, shadow: _s, ...base } = withoutStamp(cur);
    return commit(p, watch, base, 'rollback', req.reason, actor);
  }
  const history = await p.meta.listVersions<Deployment>('deployment', name);
  const before = history.filter((r) => r.spec.version !== cur.version).sort((a, b) => b.version - a.version)[0];
  if (!before)
    throw conflict('Nothing to roll back to', `deployment '${name}' has only ever served ${cur.model}@${cur.version}`);
  const mv = await getModelVersion(p, before.spec.model, before.spec.version);
  await verifyOnTier(p, mv);
  const { canary: _c, shadow: _s, ...base } = withoutStamp(before.spec);
  return commit(p, watch, base, 'rollback', req.reason, actor);
}

/** The canary takes all traffic (it was sanity-tested when it became the canary). */
export async function promoteCanary(
  p: Platform,
  watch: DeploymentWatch,
  name: string,
  body: unknown,
  actor: string,
): Promise<Deployment> {
  const req = assertValid('deployment-change', body ?? {}, 'promote request');
  const cur = await requireCurrent(p, name);
  if (!cur.canary) throw conflict('No canary', `deployment '${name}' has no canary to promote`);
  const { canary: c, shadow: _s, alias: _a, ...base } = withoutStamp(cur);
  const canary = c as NonNullable<Deployment['canary']>;
  const t: Traffic = {
    ...base,
    version: canary.version,
    ...(canary.alias ? { alias: canary.alias } : {}),
    ...(canary.sanity ? { sanity: canary.sanity } : {}),
  };
  return commit(p, watch, t, 'promote', req.reason, actor);
}

/** Every state the deployment has had, newest first. */
export async function deploymentHistory(p: Platform, name: string): Promise<DeploymentRevision[]> {
  const records: RegistryRecord<Deployment>[] = await p.meta.listVersions<Deployment>('deployment', name);
  if (!records.length) throw new ProblemError(problem(404, 'Not found', `deployment '${name}' does not exist`));
  const newest = Math.max(...records.map((r) => r.version));
  return records
    .sort((a, b) => b.version - a.version)
    .map((r) => ({
      revision: r.version,
      deployment: r.spec,
      createdAt: r.createdAt,
      createdBy: r.createdBy,
      live: r.version === newest && !r.deletedAt,
    }));
}
