import { assertValid, problem, ProblemError, type Evaluation, type GatePolicy, type ModelAlias } from '@plinth/schema';
import type { Platform } from '../platform';
import { AliasConflictError } from '../stores/metadata/model-store';
import { evaluateVersions, findExampleSet, refText } from './gate';
import { checkModelName, getModelVersion, modelFromRecord, resolveModelVersion } from './models';

const ALIAS_RE = /^[a-z][a-z0-9_-]{0,62}$/;

export function checkAliasName(alias: string): void {
  if (!ALIAS_RE.test(alias) || /^(latest|v[0-9]+)$/.test(alias)) {
    throw new ProblemError(
      problem(400, 'Invalid alias', `'${alias}' is not a valid alias`, [
        {
          pointer: '/alias',
          detail: "must match ^[a-z][a-z0-9_-]{0,62}$ and not be 'latest' or v<number> (those name versions)",
        },
      ]),
    );
  }
}

/** The outcome of an alias move: the alias now, and the gate's comparison when one ran. */
export interface AliasMoveResult {
  alias: ModelAlias;
  evaluation?: Evaluation;
}

/**
 * Moves `alias` of model `name` to a version, through the alias's gate when it has a policy:
 * the candidate and the version behind the alias are scored on the holdout example set, the
 * comparison is recorded, and the policy decides. A refused move is recorded in the alias's
 * history too (action 'refused') and answered with a 409 naming the reasons; `force` overrides
 * only when the policy allows it. The move itself is compare-and-set against the version the
 * gate compared with, so two concurrent moves cannot both pass on stale comparisons.
 */
export async function moveAlias(
  p: Platform,
  name: string,
  alias: string,
  body: unknown,
  actor: string,
): Promise<AliasMoveResult> {
  checkModelName(name);
  checkAliasName(alias);
  const req = assertValid('alias-move', body, 'alias move');
  const target = await getModelVersion(p, name, req.version);
  if (target.status === 'archived')
    throw new ProblemError(
      problem(
        409,
        'Version archived',
        `${name}@${req.version} is archived; unarchive it before pointing an alias at it`,
        [{ pointer: '/version', detail: 'is archived' }],
      ),
    );
  const current = await p.meta.models.alias(name, alias);
  const policy = await p.meta.models.policy(name, alias);
  const holdout = req.exampleSet ?? policy?.exampleSet;
  if (policy && !holdout)
    throw new ProblemError(
      problem(422, 'Holdout needed', `alias '${alias}' has a gate policy without a holdout example set`, [
        { pointer: '/exampleSet', detail: 'is required: name the holdout example set to evaluate on' },
      ]),
    );
  let evaluation: Evaluation | undefined;
  if (holdout && current?.version !== req.version) {
    const baseline = current ? modelFromRecord(await resolveModelVersion(p, name, current.version)) : null;
    evaluation = await evaluateVersions(p, target, baseline, holdout, actor, {
      alias,
      ...(policy ? { policy } : {}),
    });
    await p.meta.models.saveEvaluation(evaluation);
  }
  let forced = false;
  if (policy && evaluation && !evaluation.passed) {
    if (!req.force || !policy.allowForce) {
      await p.meta.models.recordRefusal({
        model: name,
        alias,
        from: current?.version ?? null,
        to: req.version,
        actor,
        reason: `${req.reason} [gate: ${evaluation.reasons?.join('; ')}]`,
        evaluationId: evaluation.id,
      });
      const why = req.force ? ' (the policy does not allow forcing)' : '';
      throw new ProblemError(
        problem(
          409,
          'Gate failed',
          `${name}@${req.version} may not take alias '${alias}'${why}: ${evaluation.reasons?.join('; ')}. Evaluation ${evaluation.id}`,
          (evaluation.reasons ?? []).map((r) => ({ pointer: `/version`, detail: r })),
        ),
      );
    }
    forced = true;
  }
  try {
    const moved = await p.meta.models.moveAlias({
      model: name,
      alias,
      version: req.version,
      expected: current?.version ?? null,
      actor,
      reason: req.reason,
      forced,
      ...(evaluation ? { evaluationId: evaluation.id } : {}),
    });
    await p.meta.audit({
      actor,
      action: 'alias:model',
      target: `model/${name}@${alias}`,
      detail: { from: current?.version ?? null, to: req.version, forced, evaluation: evaluation?.id ?? null },
    });
    return { alias: moved, ...(evaluation ? { evaluation } : {}) };
  } catch (e) {
    if (e instanceof AliasConflictError) throw new ProblemError(problem(409, 'Alias moved', e.message));
    throw e;
  }
}

/** Removes an alias (recorded in its history). */
export async function removeAlias(
  p: Platform,
  name: string,
  alias: string,
  reason: string,
  actor: string,
): Promise<void> {
  checkAliasName(alias);
  if (!(await p.meta.models.removeAlias(name, alias, actor, reason || 'removed')))
    throw new ProblemError(problem(404, 'Not found', `model '${name}' has no alias '${alias}'`));
  await p.meta.audit({ actor, action: 'unalias:model', target: `model/${name}@${alias}`, detail: { reason } });
}

/** Sets (or with null, removes) the gate policy of an alias; the model must exist. */
export async function setAliasPolicy(
  p: Platform,
  name: string,
  alias: string,
  body: unknown,
  actor: string,
): Promise<GatePolicy | null> {
  checkAliasName(alias);
  await resolveModelVersion(p, name, 'latest');
  const policy = body === null ? null : assertValid('gate-policy', body, 'gate policy');
  if (policy?.exampleSet && !(await findExampleSet(p, policy.exampleSet))) {
    const es = policy.exampleSet;
    throw new ProblemError(
      problem(422, 'Invalid gate policy', `example set ${es.name} does not exist`, [
        {
          pointer: '/exampleSet',
          detail: `example set ${refText(es)} does not exist`,
        },
      ]),
    );
  }
  await p.meta.models.setPolicy(name, alias, policy);
  await p.meta.audit({ actor, action: 'policy:model', target: `model/${name}@${alias}`, detail: policy });
  return policy;
}

/** Aliases of a model, with their policies; 404 when the model does not exist. */
export async function listAliases(p: Platform, name: string): Promise<ModelAlias[]> {
  await resolveModelVersion(p, name, 'latest');
  return p.meta.models.aliases(name);
}
