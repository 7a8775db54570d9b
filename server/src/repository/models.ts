import { randomUUID } from 'node:crypto';
import {
  assertValid,
  problem,
  ProblemError,
  type Deployment,
  type ExampleSet,
  type FeatureService,
  type FeatureView,
  type FieldError,
  type ModelVersion,
  type PipelineManifest,
  type PublishRequest,
} from '@plinth/schema';
import type { Platform } from '../platform';
import type { RegistryRecord, VersionArchive } from '../stores/types';
import { sha256, specHash } from '../util/hash';
import { validatePipelineDocument } from '@plinth/kernel-lib';
import { artifactKey, getArtifact } from './artifacts';

/** What the registry stores: a version's immutable part (status, aliases, deployments are read-time). */
export type StoredModelVersion = Omit<ModelVersion, 'version' | 'status' | 'archived' | 'aliases' | 'deployments'>;

/** The mutable state around versions of one model, read once per request. */
export interface ModelState {
  aliases: Map<number, string[]>;
  archived: Map<number, VersionArchive>;
  deployments: Map<number, { deployment: string; endpoint: string }[]>;
}

export async function modelState(p: Platform, name: string): Promise<ModelState> {
  const aliases = new Map<number, string[]>();
  for (const a of await p.meta.models.aliases(name))
    aliases.set(a.version, [...(aliases.get(a.version) ?? []), a.alias]);
  const deployments = new Map<number, { deployment: string; endpoint: string }[]>();
  for (const r of await p.meta.listLatest<Deployment>('deployment')) {
    if (r.spec.model !== name) continue;
    const list = deployments.get(r.spec.version) ?? [];
    list.push({ deployment: r.name, endpoint: r.spec.endpoint });
    deployments.set(r.spec.version, list);
  }
  return { aliases, archived: await p.meta.models.archived(name), deployments };
}

export function modelFromRecord(r: RegistryRecord<StoredModelVersion>, state?: ModelState): ModelVersion {
  const archived = state?.archived.get(r.version);
  return {
    ...r.spec,
    // Versions published before model ids existed get a stable one from their name and number.
    modelId: r.spec.modelId ?? `${r.name}/${r.version}`,
    version: r.version,
    status: archived ? 'archived' : 'ready',
    ...(archived ? { archived } : {}),
    aliases: state?.aliases.get(r.version) ?? [],
    deployments: state?.deployments.get(r.version) ?? [],
  };
}

const invalid = (detail: string, errors: FieldError[]) =>
  new ProblemError(problem(422, 'Invalid model version', detail, errors));

export const NAME_RE = /^[a-z][a-z0-9_]{0,62}$/;

export function checkModelName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new ProblemError(
      problem(400, 'Invalid model name', `'${name}' is not a valid name`, [
        { pointer: '/name', detail: 'must match ^[a-z][a-z0-9_]{0,62}$' },
      ]),
    );
  }
}

/** `view:feature` references a feature service names, with bare views expanded to every feature. */
async function serviceFeatures(p: Platform, service: FeatureService): Promise<Set<string>> {
  const out = new Set<string>();
  for (const ref of service.features) {
    const [view, feature] = ref.split(':');
    if (feature) out.add(ref);
    else
      for (const f of (await p.meta.getLatest<FeatureView>('feature-view', view))?.spec.features ?? [])
        out.add(`${view}:${f.name}`);
  }
  return out;
}

/**
 * Publishes a pipeline as a new version of model `name`. Everything it refers to must exist
 * first (the artifact and manifest bytes, the feature views and their features, the feature
 * service, example set and run), so a version is visible only when all of its parts are stored:
 * the registry record is the last write, and nothing is written when a check fails.
 */
export async function publishModelVersion(
  p: Platform,
  name: string,
  body: unknown,
  actor: string,
): Promise<ModelVersion> {
  checkModelName(name);
  const req: PublishRequest = assertValid('publish-request', body, 'publish request');
  const errors: FieldError[] = [];
  if (!(await p.objects.exists(artifactKey(req.artifact.sha256)))) {
    errors.push({
      pointer: '/artifact/sha256',
      detail: `artifact sha256:${req.artifact.sha256} has not been uploaded`,
    });
  }
  if (req.manifest && !(await p.objects.exists(artifactKey(req.manifest.sha256)))) {
    errors.push({
      pointer: '/manifest/sha256',
      detail: `manifest sha256:${req.manifest.sha256} has not been uploaded`,
    });
  }
  if (req.manifest && errors.length === 0) {
    // The manifest must describe this graph, or the inference tier would trust the wrong interface.
    let described: string | undefined;
    try {
      const m = JSON.parse((await getArtifact(p.objects, req.manifest.sha256)).toString('utf8')) as PipelineManifest;
      described = m.onnx?.sha256;
    } catch {
      described = undefined;
    }
    if (described !== req.artifact.sha256)
      errors.push({
        pointer: '/manifest',
        detail: `manifest sha256:${req.manifest.sha256} describes graph ${described ?? '(none: not a pipeline manifest)'}, not the artifact sha256:${req.artifact.sha256}`,
      });
  }
  const pl = req.pipeline;
  const inputNames = pl.inputs.map((i) => i.name);
  // The compiler's checks (featureNames along the stages, parameters, post-processor, outputs).
  const doc = validatePipelineDocument(pl);
  if (!doc.ok) for (const e of doc.errors) errors.push({ pointer: `/pipeline${e.pointer}`, detail: e.detail });
  const views = new Map<string, number>();
  const online = new Set<string>();
  for (const [i, input] of pl.inputs.entries()) {
    if (input.source.kind !== 'online') continue;
    const ref = `${input.source.view}:${input.source.feature}`;
    online.add(ref);
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
  if (req.featureService) {
    const fs = await p.meta.getVersion<FeatureService>(
      'feature-service',
      req.featureService.name,
      req.featureService.version,
    );
    if (!fs) {
      errors.push({
        pointer: '/featureService',
        detail: `feature service ${req.featureService.name}@${req.featureService.version} does not exist`,
      });
    } else {
      // The pipeline must read exactly what the service serves: no more, no less.
      const served = await serviceFeatures(p, fs.spec);
      for (const [i, input] of pl.inputs.entries()) {
        if (input.source.kind !== 'online') continue;
        const ref = `${input.source.view}:${input.source.feature}`;
        if (!served.has(ref))
          errors.push({
            pointer: `/pipeline/inputs/${i}/source`,
            detail: `input '${input.name}' reads ${ref}, which feature service '${fs.name}' does not serve`,
          });
      }
      for (const ref of served)
        if (!online.has(ref))
          errors.push({
            pointer: '/pipeline/inputs',
            detail: `feature service '${fs.name}' serves ${ref}, but no pipeline input reads it`,
          });
    }
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
  let exampleSet: RegistryRecord<ExampleSet> | null = null;
  if (req.exampleSet) {
    exampleSet = await p.meta.getVersion<ExampleSet>('example-set', req.exampleSet.name, req.exampleSet.version);
    if (!exampleSet)
      errors.push({
        pointer: '/exampleSet',
        detail: `example set ${req.exampleSet.name}@${req.exampleSet.version} does not exist`,
      });
  }
  if (req.run && !(await p.meta.runs.get(req.run.id))) {
    errors.push({ pointer: '/run/id', detail: `run '${req.run.id}' does not exist` });
  }
  if (errors.length) throw invalid(`model '${name}' cannot be published`, errors);

  const stored: StoredModelVersion = {
    ...req,
    name,
    modelId: randomUUID(),
    transformerId: specHash(pl.transformer),
    ...(exampleSet ? { exampleStore: { uri: exampleSet.spec.location.uri } } : {}),
    featureViews: [...views].map(([n, version]) => ({ name: n, version })),
    createdAt: new Date().toISOString(),
    createdBy: actor,
  };
  const { record } = await p.meta.putVersion('model', name, stored, sha256(JSON.stringify(stored)), actor);
  await p.meta.audit({
    actor,
    action: 'publish:model',
    target: `model/${name}@${record.version}`,
    detail: { artifact: req.artifact.sha256, ...(req.run ? { run: req.run.id } : {}) },
  });
  return modelFromRecord(record, await modelState(p, name));
}

const notFound = (detail: string) => new ProblemError(problem(404, 'Not found', detail));

/**
 * Resolves a version reference of model `name`: a number (`3`, `v3`), `latest` (the newest
 * live version), or an alias (`production`). Removed versions are not found.
 */
export async function resolveModelVersion(
  p: Platform,
  name: string,
  ref?: string | number,
): Promise<RegistryRecord<StoredModelVersion>> {
  let r: RegistryRecord<StoredModelVersion> | null;
  const text = ref === undefined ? 'latest' : String(ref);
  if (/^v?[0-9]+$/.test(text)) {
    const version = Number(text.replace(/^v/, ''));
    r = await p.meta.getVersion<StoredModelVersion>('model', name, version);
    if (!r || r.deletedAt) {
      if (!(await p.meta.getLatest('model', name))) throw notFound(`model '${name}' does not exist`);
      throw notFound(`model ${name} has no version ${version}${r?.deletedAt ? ' (it was deleted)' : ''}`);
    }
    return r;
  }
  if (text === 'latest') {
    r = await p.meta.getLatest<StoredModelVersion>('model', name);
    if (!r) throw notFound(`model '${name}' does not exist`);
    return r;
  }
  if (!/^[a-z][a-z0-9_-]{0,62}$/.test(text))
    throw new ProblemError(
      problem(400, 'Invalid version reference', `'${text}' is not a version number, 'latest' or an alias`, [
        { pointer: '/version', detail: 'must be a version number, latest, or an alias name' },
      ]),
    );
  const alias = await p.meta.models.alias(name, text);
  if (!alias) {
    if (!(await p.meta.getLatest('model', name))) throw notFound(`model '${name}' does not exist`);
    throw notFound(`model '${name}' has no alias '${text}' (nor a version of that name)`);
  }
  r = await p.meta.getVersion<StoredModelVersion>('model', name, alias.version);
  if (!r) throw notFound(`alias '${text}' of model '${name}' points at missing version ${alias.version}`);
  return r;
}

/** A version by number, `latest` or alias, with its status, aliases and serving endpoints. */
export async function getModelVersion(p: Platform, name: string, ref?: string | number): Promise<ModelVersion> {
  const r = await resolveModelVersion(p, name, ref);
  return modelFromRecord(r, await modelState(p, name));
}

/** Every live version of a model, oldest first. */
export async function listModelVersions(p: Platform, name: string): Promise<ModelVersion[]> {
  const records = (await p.meta.listVersions<StoredModelVersion>('model', name)).filter((r) => !r.deletedAt);
  if (!records.length) throw notFound(`model '${name}' does not exist`);
  const state = await modelState(p, name);
  return records.map((r) => modelFromRecord(r, state));
}

/** The newest version of every model. */
export async function listModels(p: Platform): Promise<ModelVersion[]> {
  const latest = await p.meta.listLatest<StoredModelVersion>('model');
  return Promise.all(latest.map(async (r) => modelFromRecord(r, await modelState(p, r.name))));
}
