import { assertValid, problem, ProblemError, type Deployment } from '@plinth/schema';
import { PipelineSession } from '@plinth/kernel-lib';
import type { Platform } from '../platform';
import { readOfflineManifest } from '../featurestore/offline-manifest';
import { getArtifact } from '../repository/artifacts';
import { getModelVersion } from '../repository/models';
import { specHash } from '../util/hash';

/** Largest |difference| allowed between a replayed reference output and the stored one. */
export const SANITY_TOLERANCE = 1e-5;

/**
 * Deploys a model version under `name`: the artifact must verify, every online feature view
 * it reads must have been materialized, and its reference examples must replay within
 * tolerance. Only then does the deployment record change (the inference tier follows it).
 */
export async function deploy(p: Platform, name: string, body: unknown, actor: string): Promise<Deployment> {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) {
    throw new ProblemError(
      problem(400, 'Invalid deployment name', `'${name}' is not a valid name`, [
        { pointer: '/name', detail: 'must match ^[a-z][a-z0-9_]{0,62}$' },
      ]),
    );
  }
  const req = assertValid('deploy-request', body, 'deploy request');
  if (req.alias && req.version)
    throw new ProblemError(
      problem(400, 'Invalid deploy request', 'give a version or an alias, not both', [
        { pointer: '/alias', detail: 'conflicts with /version' },
      ]),
    );
  const mv = await getModelVersion(p, req.model, req.alias ?? req.version);
  if (mv.status === 'archived')
    throw new ProblemError(
      problem(409, 'Version archived', `${mv.name}@${mv.version} is archived; unarchive it to deploy it`),
    );
  const bytes = await getArtifact(p.objects, mv.artifact.sha256);
  for (const fv of mv.featureViews ?? []) {
    const m = await readOfflineManifest(p.objects, fv.name, fv.version);
    if (!m) {
      throw new ProblemError(
        problem(
          409,
          'Online features missing',
          `feature view ${fv.name}@${fv.version} read by ${mv.name}@${mv.version} has never been materialized`,
        ),
      );
    }
  }
  let sanity: Deployment['sanity'] = { examples: 0, maxAbsDiff: 0 };
  if (mv.referenceExamples) {
    const session = await PipelineSession.create(bytes);
    // Values as stored: numbers (null = NaN) for float inputs, strings (null = missing) for string inputs.
    const stored = mv.referenceExamples as { inputs: Record<string, unknown[]>; outputs: Record<string, unknown[]> };
    const inputs = Object.fromEntries(
      Object.entries(stored.inputs).map(([k, v]) => [
        k,
        session.inputTypes[k] === 'string'
          ? v.map((x) => (typeof x === 'string' ? x : null))
          : v.map((x) => (typeof x === 'number' ? x : NaN)),
      ]),
    );
    const outputs = await session.runTyped(inputs);
    let maxAbsDiff = 0;
    let examples = 0;
    for (const [out, expected] of Object.entries(stored.outputs)) {
      const got = outputs[out]?.data as ArrayLike<number | string> | undefined;
      if (!got) throw new ProblemError(problem(409, 'Sanity test failed', `the pipeline has no output '${out}'`));
      expected.forEach((e, i) => {
        // Strings (labels, item ids, class names) must be equal; numbers within the tolerance.
        if (typeof e === 'string' || typeof got[i] === 'string') {
          if (e !== got[i])
            throw new ProblemError(
              problem(
                409,
                'Sanity test failed',
                `replayed output '${out}' [${i}] is ${JSON.stringify(got[i])}, expected ${JSON.stringify(e)}`,
              ),
            );
        } else maxAbsDiff = Math.max(maxAbsDiff, Math.abs(((e as number | null) ?? NaN) - (got[i] as number)) || 0);
      });
      examples = expected.length;
    }
    if (maxAbsDiff > SANITY_TOLERANCE) {
      throw new ProblemError(
        problem(
          409,
          'Sanity test failed',
          `replayed reference outputs differ by up to ${maxAbsDiff} (tolerance ${SANITY_TOLERANCE})`,
        ),
      );
    }
    sanity = { examples, maxAbsDiff };
  }
  const d: Deployment = {
    name,
    model: mv.name,
    version: mv.version,
    ...(req.alias ? { alias: req.alias } : {}),
    endpoint: `${p.config.inferenceUrl}/v1/predict/${name}`,
    sanity,
    createdAt: new Date().toISOString(),
    createdBy: actor,
  };
  // Re-deploying what is already live changes nothing (same hash, same record).
  const { record, created } = await p.meta.putVersion(
    'deployment',
    name,
    d,
    specHash({ ...d, createdAt: '', createdBy: '' }),
    actor,
  );
  if (created)
    await p.meta.audit({
      actor,
      action: 'deploy',
      target: `deployment/${name}`,
      detail: { model: mv.name, version: mv.version },
    });
  return record.spec;
}
