import {
  assertValid,
  problem,
  ProblemError,
  type FeatureView,
  type FieldError,
  type ModelVersion,
  type PublishRequest,
} from '@plinth/schema';
import type { Platform } from '../platform';
import type { RegistryRecord } from '../stores/types';
import { sha256 } from '../util/hash';
import { artifactKey } from './artifacts';

export type StoredModelVersion = Omit<ModelVersion, 'version'>;

export const modelFromRecord = (r: RegistryRecord<StoredModelVersion>): ModelVersion => ({
  ...r.spec,
  version: r.version,
});

const invalid = (detail: string, errors: FieldError[]) =>
  new ProblemError(problem(422, 'Invalid model version', detail, errors));

/**
 * Publishes a pipeline as a new version of model `name`. Everything it refers to must exist
 * first (the artifact, the feature views and their features), so a version is visible only
 * when all of its parts are stored.
 */
export async function publishModelVersion(
  p: Platform,
  name: string,
  body: unknown,
  actor: string,
): Promise<ModelVersion> {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) {
    throw new ProblemError(
      problem(400, 'Invalid model name', `'${name}' is not a valid name`, [
        { pointer: '/name', detail: 'must match ^[a-z][a-z0-9_]{0,62}$' },
      ]),
    );
  }
  const req: PublishRequest = assertValid('publish-request', body, 'publish request');
  const errors: FieldError[] = [];
  if (!(await p.objects.exists(artifactKey(req.artifact.sha256)))) {
    errors.push({
      pointer: '/artifact/sha256',
      detail: `artifact sha256:${req.artifact.sha256} has not been uploaded`,
    });
  }
  const pl = req.pipeline;
  const inputNames = pl.inputs.map((i) => i.name);
  if (JSON.stringify(pl.model.featureNames) !== JSON.stringify(inputNames)) {
    errors.push({
      pointer: '/pipeline/model/featureNames',
      detail: `must equal the input names in order (${inputNames.join(', ')})`,
    });
  }
  for (const [s, stage] of pl.transformer.entries()) {
    if (JSON.stringify(stage.featureNames) !== JSON.stringify(inputNames)) {
      errors.push({
        pointer: `/pipeline/transformer/${s}/featureNames`,
        detail: 'must equal the input names in order',
      });
    }
  }
  const views = new Map<string, number>();
  for (const [i, input] of pl.inputs.entries()) {
    if (input.source.kind !== 'online') continue;
    const v = await p.meta.getLatest<FeatureView>('feature-view', input.source.view);
    if (!v)
      errors.push({
        pointer: `/pipeline/inputs/${i}/source/view`,
        detail: `feature view '${input.source.view}' does not exist`,
      });
    else if (!v.spec.features.some((f) => f.name === (input.source as { feature: string }).feature)) {
      errors.push({
        pointer: `/pipeline/inputs/${i}/source/feature`,
        detail: `feature view '${v.name}' has no feature '${input.source.feature}'`,
      });
    } else if (v.spec.online === false) {
      errors.push({
        pointer: `/pipeline/inputs/${i}/source/view`,
        detail: `feature view '${v.name}' is not served online`,
      });
    } else views.set(v.name, v.version);
  }
  const ref = req.referenceExamples;
  if (ref) {
    const lengths = new Set([...Object.values(ref.inputs), ...Object.values(ref.outputs)].map((a) => a.length));
    if (lengths.size > 1)
      errors.push({ pointer: '/referenceExamples', detail: 'every input and output needs the same number of values' });
    for (const n of inputNames)
      if (!(n in ref.inputs))
        errors.push({
          pointer: `/referenceExamples/inputs/${n}`,
          detail: 'is required (one value per example for every pipeline input)',
        });
  }
  if (req.exampleSet && !(await p.meta.getVersion('example-set', req.exampleSet.name, req.exampleSet.version))) {
    errors.push({
      pointer: '/exampleSet',
      detail: `example set ${req.exampleSet.name}@${req.exampleSet.version} does not exist`,
    });
  }
  if (errors.length) throw invalid(`model '${name}' cannot be published`, errors);

  const stored: StoredModelVersion = {
    ...req,
    name,
    featureViews: [...views].map(([n, version]) => ({ name: n, version })),
    createdAt: new Date().toISOString(),
    createdBy: actor,
  };
  const { record } = await p.meta.putVersion('model', name, stored, sha256(JSON.stringify(stored)), actor);
  await p.meta.audit({
    actor,
    action: 'publish:model',
    target: `model/${name}@${record.version}`,
    detail: { artifact: req.artifact.sha256 },
  });
  return modelFromRecord(record);
}

export async function getModelVersion(p: Platform, name: string, version?: number): Promise<ModelVersion> {
  const r = version
    ? await p.meta.getVersion<StoredModelVersion>('model', name, version)
    : await p.meta.getLatest<StoredModelVersion>('model', name);
  if (!r)
    throw new ProblemError(
      problem(404, 'Not found', version ? `model ${name} has no version ${version}` : `model '${name}' does not exist`),
    );
  return modelFromRecord(r);
}
