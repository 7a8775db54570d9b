import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { schemas } from './generated/schemas';
import type * as T from './generated/types';
import { type FieldError, ProblemError, problem } from './problem';

const BASE = 'https://plinth.dev/schemas/';

/** Every document kind Plinth validates, and the TypeScript type it validates into. */
export interface DocumentTypes {
  entity: T.Entity;
  'data-source': T.DataSource;
  'feature-view': T.FeatureView;
  'label-view': T.LabelView;
  'feature-service': T.FeatureService;
  'example-set': T.ExampleSet;
  'example-set-spec': T.ExampleSetSpec;
  pipeline: T.Pipeline;
  'pipeline-manifest': T.PipelineManifest;
  'model-version': T.ModelVersion;
  'publish-request': T.PublishRequest;
  deployment: T.Deployment;
  'deploy-request': T.DeployRequest;
  'deployment-change': T.DeploymentChange;
  'materialize-request': T.MaterializeRequest;
  statistics: T.DatasetStatistics;
  'quality-report': T.QualityReport;
  'model-file': T.ModelFile;
  'run-create': T.RunCreate;
  'run-log': T.RunLog;
  'run-update': T.RunUpdate;
  'run-search': T.RunSearch;
  'alias-move': T.AliasMove;
  'gate-policy': T.GatePolicy;
  'evaluate-request': T.EvaluateRequest;
  'archive-request': T.ArchiveRequest;
  'model-predict-request': T.ModelPredictRequest;
  'batch-inference-request': T.BatchInferenceRequest;
  'batch-inference-result': T.BatchInferenceResult;
}
export type DocumentKind = keyof DocumentTypes;

const schemaRefs: Record<DocumentKind, string> = {
  entity: 'entity.json',
  'data-source': 'data-source.json',
  'feature-view': 'feature-view.json',
  'label-view': 'label-view.json',
  'feature-service': 'feature-service.json',
  'example-set': 'example-set.json',
  'example-set-spec': 'example-set.json#/$defs/ExampleSetSpec',
  pipeline: 'pipeline.json',
  'pipeline-manifest': 'pipeline-manifest.json',
  'model-version': 'model-version.json',
  'publish-request': 'model-version.json#/$defs/PublishRequest',
  deployment: 'deployment.json',
  'deploy-request': 'deployment.json#/$defs/DeployRequest',
  'deployment-change': 'deployment.json#/$defs/DeploymentChange',
  'materialize-request': 'job.json#/$defs/MaterializeRequest',
  statistics: 'statistics.json',
  'quality-report': 'quality.json',
  'model-file': 'model-file.json',
  'run-create': 'run.json#/$defs/RunCreate',
  'run-log': 'run.json#/$defs/RunLog',
  'run-update': 'run.json#/$defs/RunUpdate',
  'run-search': 'run.json#/$defs/RunSearch',
  'alias-move': 'model-alias.json#/$defs/AliasMove',
  'gate-policy': 'model-alias.json#/$defs/GatePolicy',
  'evaluate-request': 'model-alias.json#/$defs/EvaluateRequest',
  'archive-request': 'model-alias.json#/$defs/ArchiveRequest',
  'model-predict-request': 'model-alias.json#/$defs/ModelPredictRequest',
  'batch-inference-request': 'batch-inference.json#/$defs/BatchInferenceRequest',
  'batch-inference-result': 'batch-inference.json',
};

export const documentKinds = Object.keys(schemaRefs) as DocumentKind[];

let ajv: Ajv2020 | undefined;
const compiled = new Map<DocumentKind, ValidateFunction>();

function getAjv(): Ajv2020 {
  if (!ajv) {
    ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    for (const s of Object.values(schemas)) ajv.addSchema(s as object);
  }
  return ajv;
}

function validator(kind: DocumentKind): ValidateFunction {
  let v = compiled.get(kind);
  if (!v) {
    const ref = schemaRefs[kind];
    if (!ref) throw new Error(`unknown document kind '${String(kind)}'`);
    v = getAjv().getSchema(BASE + ref);
    if (!v) throw new Error(`schema ${ref} is not registered`);
    compiled.set(kind, v);
  }
  return v;
}

/** Turns ajv's errors into one error per field, with the field's JSON Pointer. */
export function toFieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  // A failed oneOf also reports every branch. A branch whose `kind` const failed is not the
  // document's: drop its errors, keeping those of the branch that shares the document's `kind`.
  const KIND_CONST = '/properties/kind/const';
  const wrong = (errors ?? [])
    .filter((e) => e.keyword === 'const' && e.instancePath.endsWith('/kind') && e.schemaPath.endsWith(KIND_CONST))
    .map((e) => ({
      at: e.instancePath.slice(0, -'/kind'.length),
      branch: `${e.schemaPath.slice(0, -KIND_CONST.length)}/`,
      kind: (e.params as { allowedValue: unknown }).allowedValue,
    }));
  const under = (path: string, at: string) => path === at || path.startsWith(`${at}/`);
  const list = (errors ?? []).filter(
    (e) => !wrong.some((w) => under(e.instancePath, w.at) && e.schemaPath.startsWith(w.branch)),
  );
  // Else (no branch left to blame) just the oneOf summary, or the kinds it allows.
  const hasSpecific = (path: string) =>
    list.some((e) => e.instancePath.startsWith(path) && e.keyword !== 'oneOf' && e.keyword !== 'const');
  for (const e of list) {
    let pointer = e.instancePath;
    let detail = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      pointer = `${pointer}/${(e.params as { missingProperty: string }).missingProperty}`;
      detail = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      pointer = `${pointer}/${(e.params as { additionalProperty: string }).additionalProperty}`;
      detail = 'is not a known field';
    } else if (e.keyword === 'enum') {
      detail = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'oneOf' || e.keyword === 'const') {
      if (hasSpecific(pointer) && e.keyword === 'oneOf') continue;
      if (e.keyword === 'const') {
        detail = `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
      } else {
        const kinds = wrong.filter((w) => w.at === pointer).map((w) => JSON.stringify(w.kind));
        if (kinds.length > 0) pointer = `${pointer}/kind`;
        detail = kinds.length > 0 ? `must be one of ${kinds.join(', ')}` : 'does not match any allowed form';
      }
    }
    const key = `${pointer}\u0000${detail}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ pointer, detail });
    }
  }
  return out;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * Validates a document against its JSON Schema.
 *
 * @example
 * const r = validate('entity', { name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });
 * if (!r.ok) console.log(r.errors); // [{ pointer: '/joinKeys/0/type', detail: ... }]
 */
export function validate<K extends DocumentKind>(kind: K, doc: unknown): ValidationResult<DocumentTypes[K]> {
  const v = validator(kind);
  if (v(doc)) return { ok: true, value: doc as DocumentTypes[K] };
  return { ok: false, errors: toFieldErrors(v.errors) };
}

/** Like `validate`, but throws a 400 ProblemError naming every invalid field. */
export function assertValid<K extends DocumentKind>(kind: K, doc: unknown, what: string = kind): DocumentTypes[K] {
  const r = validate(kind, doc);
  if (r.ok) return r.value;
  throw new ProblemError(problem(400, 'Invalid document', `the ${what} is not valid`, r.errors));
}
