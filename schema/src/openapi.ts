import { schemas } from './generated/schemas';

/** Component key of each schema file: `feature-view.json` -> `FeatureView`. */
function componentKey(file: string): string {
  return file
    .replace(/\.json$/, '')
    .split('-')
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}

/** Rewrites cross-file `$ref`s so every schema lives under #/components/schemas. */
function rewriteRefs(node: unknown, file: string): unknown {
  if (Array.isArray(node)) return node.map((n) => rewriteRefs(n, file));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$id' || k === '$schema') continue;
    if (k === '$ref' && typeof v === 'string') {
      const [target, fragment = ''] = v.split('#');
      const key = componentKey(target || file);
      out.$ref = `#/components/schemas/${key}${fragment}`;
    } else {
      out[k] = rewriteRefs(v, file);
    }
  }
  return out;
}

const ref = (file: string, def?: string) => ({
  $ref: `#/components/schemas/${componentKey(file)}${def ? `/$defs/${def}` : ''}`,
});
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const problemResponse = {
  description: 'Problem (RFC 9457)',
  content: { 'application/problem+json': { schema: ref('problem.json') } },
};
const items = (schema: object) => ({
  type: 'object',
  required: ['items'],
  properties: { items: { type: 'array', items: schema } },
});
const record = (schema: object) => ({
  type: 'object',
  required: ['name', 'version', 'spec', 'createdAt', 'createdBy'],
  properties: {
    name: { type: 'string' },
    version: { type: 'integer' },
    spec: schema,
    createdAt: { type: 'string', format: 'date-time' },
    createdBy: { type: 'string' },
  },
});
const applyResult = {
  type: 'object',
  required: ['kind', 'name', 'version', 'created'],
  properties: {
    kind: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'integer' },
    created: { type: 'boolean', description: 'false when the definition was unchanged' },
  },
};
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const refParam = {
  name: 'ref',
  in: 'path',
  required: true,
  description: 'A version number, `latest` or an alias',
  schema: { type: 'string' },
};
const aliasParam = { name: 'alias', in: 'path', required: true, schema: { type: 'string' } };

interface Op {
  operationId: string;
  summary: string;
  body?: object;
  bodyContentType?: string;
  ok: [number, object | null];
  params?: object[];
}

function op(o: Op): object {
  const responses: Record<string, object> = {
    [o.ok[0]]: o.ok[1] ? { description: 'OK', ...json(o.ok[1]) } : { description: 'OK' },
    '4XX': problemResponse,
  };
  return {
    operationId: o.operationId,
    summary: o.summary,
    ...(o.params ? { parameters: o.params } : {}),
    ...(o.body
      ? { requestBody: { required: true, content: { [o.bodyContentType ?? 'application/json']: { schema: o.body } } } }
      : {}),
    responses,
  };
}

/** The registry kinds served under /api/v1/<plural>. */
export const registryKinds = {
  entities: { kind: 'entity', file: 'entity.json', title: 'Entity' },
  'data-sources': { kind: 'data-source', file: 'data-source.json', title: 'DataSource' },
  'feature-views': { kind: 'feature-view', file: 'feature-view.json', title: 'FeatureView' },
  'label-views': { kind: 'label-view', file: 'label-view.json', title: 'LabelView' },
  'feature-services': { kind: 'feature-service', file: 'feature-service.json', title: 'FeatureService' },
} as const;
export type RegistryPath = keyof typeof registryKinds;

/** The OpenAPI 3.1 document of the control plane; its schemas are schema/schemas/*.json. */
export function buildOpenApi(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, object>> = {
    '/api/v1/health': {
      get: op({ operationId: 'health', summary: 'Liveness', ok: [200, { type: 'object' }] }),
    },
    '/api/v1/openapi.json': {
      get: op({ operationId: 'openapi', summary: 'This document', ok: [200, { type: 'object' }] }),
    },
  };
  for (const [plural, k] of Object.entries(registryKinds)) {
    paths[`/api/v1/${plural}`] = {
      get: op({
        operationId: `list${k.title}s`,
        summary: `Latest version of every ${k.kind}`,
        ok: [200, items(record(ref(k.file)))],
      }),
    };
    paths[`/api/v1/${plural}/{name}`] = {
      put: op({
        operationId: `apply${k.title}`,
        summary: `Create or update a ${k.kind}; unchanged definitions keep their version`,
        params: [nameParam],
        body: ref(k.file),
        ok: [200, applyResult],
      }),
      get: op({
        operationId: `get${k.title}`,
        summary: `Latest (or ?version=N) ${k.kind}`,
        params: [nameParam, { name: 'version', in: 'query', schema: { type: 'integer' } }],
        ok: [200, record(ref(k.file))],
      }),
      delete: op({
        operationId: `delete${k.title}`,
        summary: `Remove a ${k.kind}; versions stay readable`,
        params: [nameParam],
        ok: [204, null],
      }),
    };
    paths[`/api/v1/${plural}/{name}/versions`] = {
      get: op({
        operationId: `list${k.title}Versions`,
        summary: `Every version of a ${k.kind}`,
        params: [nameParam],
        ok: [200, items(record(ref(k.file)))],
      }),
    };
  }
  for (const plural of ['feature-views', 'label-views'] as const) {
    const k = registryKinds[plural];
    paths[`/api/v1/${plural}/{name}/statistics`] = {
      get: op({
        operationId: `get${k.title}Statistics`,
        summary: `Statistics of the newest materialization of a ${k.kind} (latest or ?version=N); ?history=true: every run's, newest first`,
        params: [
          nameParam,
          { name: 'version', in: 'query', schema: { type: 'integer' } },
          { name: 'history', in: 'query', schema: { type: 'boolean' } },
        ],
        ok: [200, { oneOf: [ref('statistics.json'), items(ref('statistics.json'))] }],
      }),
    };
    paths[`/api/v1/${plural}/{name}/quality`] = {
      get: op({
        operationId: `get${k.title}Quality`,
        summary: `Data quality report of the newest materialization of a ${k.kind} (latest or ?version=N); ?history=true: every run's, newest first`,
        params: [
          nameParam,
          { name: 'version', in: 'query', schema: { type: 'integer' } },
          { name: 'history', in: 'query', schema: { type: 'boolean' } },
        ],
        ok: [200, { oneOf: [ref('quality.json'), items(ref('quality.json'))] }],
      }),
    };
  }
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  Object.assign(paths, {
    '/api/v1/plan': {
      post: op({
        operationId: 'plan',
        summary:
          'What applying these definitions would change: create, update (with changed fields) or unchanged; nothing is written',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            entities: { type: 'array', items: ref('entity.json') },
            dataSources: { type: 'array', items: ref('data-source.json') },
            featureViews: { type: 'array', items: ref('feature-view.json') },
            labelViews: { type: 'array', items: ref('label-view.json') },
            featureServices: { type: 'array', items: ref('feature-service.json') },
          },
        },
        ok: [
          200,
          {
            type: 'object',
            required: ['changes'],
            properties: { changes: { type: 'array', items: { type: 'object' } } },
          },
        ],
      }),
    },
    '/api/v1/materializations': {
      post: op({
        operationId: 'materialize',
        summary: 'Materialize a feature or label view (a job)',
        body: ref('job.json', 'MaterializeRequest'),
        ok: [202, ref('job.json')],
      }),
    },
    '/api/v1/batch-predictions': {
      post: op({
        operationId: 'batchPredict',
        summary:
          'Score a model version over an example set or an entity list into Parquet parts (and optionally the online store), resumable in chunks (a job; its result is the manifest)',
        body: ref('batch-inference.json', 'BatchInferenceRequest'),
        ok: [202, ref('job.json')],
      }),
    },
    '/api/v1/jobs': {
      get: op({ operationId: 'listJobs', summary: 'Jobs, newest first', ok: [200, items(ref('job.json'))] }),
    },
    '/api/v1/jobs/{id}': {
      get: op({ operationId: 'getJob', summary: 'One job', params: [idParam], ok: [200, ref('job.json')] }),
      patch: op({
        operationId: 'updateJob',
        summary: "Report a leased job's progress, result or failure (workers)",
        params: [idParam],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { enum: ['queued', 'running', 'succeeded', 'failed'] },
            progress: { type: 'number', minimum: 0, maximum: 1 },
            result: {},
            error: { type: ['string', 'null'] },
          },
        },
        ok: [200, ref('job.json')],
      }),
    },
    '/api/v1/jobs/lease': {
      post: op({
        operationId: 'leaseJob',
        summary: 'Lease the oldest queued job of the given kinds (workers); 204 when there is none',
        body: {
          type: 'object',
          required: ['owner', 'kinds'],
          properties: {
            owner: { type: 'string' },
            kinds: { type: 'array', items: { type: 'string' } },
            leaseSeconds: { type: 'integer', minimum: 1, maximum: 86400 },
          },
        },
        ok: [200, ref('job.json')],
      }),
    },
    '/api/v1/jobs/{id}/logs': {
      post: op({
        operationId: 'appendJobLogs',
        summary: 'Append log lines to a job (workers)',
        params: [idParam],
        body: {
          type: 'object',
          required: ['lines'],
          properties: { lines: { type: 'array', items: { type: 'string' } } },
        },
        ok: [204, null],
      }),
      get: op({
        operationId: 'getJobLogs',
        summary: 'Log lines of a job',
        params: [idParam],
        ok: [200, { type: 'object', properties: { lines: { type: 'array', items: { type: 'string' } } } }],
      }),
    },
    '/api/v1/example-sets': {
      get: op({
        operationId: 'listExampleSets',
        summary: 'Latest version of every example set',
        ok: [200, items(ref('example-set.json'))],
      }),
      post: op({
        operationId: 'buildExampleSet',
        summary: 'Build a new example set version with a point-in-time join (a job)',
        body: ref('example-set.json', 'ExampleSetSpec'),
        ok: [202, ref('job.json')],
      }),
    },
    '/api/v1/example-sets/{name}/versions': {
      post: op({
        operationId: 'registerExampleSet',
        summary: 'Register an example set a worker built (its manifest)',
        params: [nameParam],
        body: ref('example-set.json'),
        ok: [201, { type: 'object' }],
      }),
    },
    '/api/v1/example-sets/{name}': {
      get: op({
        operationId: 'getExampleSet',
        summary: 'Latest (or ?version=N) example set manifest',
        params: [nameParam],
        ok: [200, ref('example-set.json')],
      }),
    },
    '/api/v1/online-features': {
      post: op({
        operationId: 'getOnlineFeatures',
        summary: 'Read features of N entities from the online store',
        body: {
          type: 'object',
          required: ['features', 'entities'],
          properties: {
            features: { type: 'array', items: { type: 'string', description: 'view:feature' } },
            entities: { type: 'object', additionalProperties: { type: 'array' }, description: 'join key -> values' },
          },
        },
        ok: [200, { type: 'object' }],
      }),
    },
    '/api/v1/artifacts/sha256/{sha256}': {
      put: op({
        operationId: 'putArtifact',
        summary: 'Store an artifact by its content hash (verified)',
        params: [{ name: 'sha256', in: 'path', required: true, schema: { type: 'string' } }],
        body: { type: 'string', contentMediaType: 'application/octet-stream' },
        bodyContentType: 'application/octet-stream',
        ok: [201, ref('model-version.json', 'Artifact')],
      }),
      get: op({
        operationId: 'getArtifact',
        summary: 'Download an artifact (verified against its hash)',
        params: [{ name: 'sha256', in: 'path', required: true, schema: { type: 'string' } }],
        ok: [200, { type: 'string', contentMediaType: 'application/octet-stream' }],
      }),
    },
    '/api/v1/runs': {
      post: op({
        operationId: 'createRun',
        summary: 'Start a tracked run',
        body: ref('run.json', 'RunCreate'),
        ok: [201, ref('run.json')],
      }),
    },
    '/api/v1/runs/search': {
      post: op({
        operationId: 'searchRuns',
        summary: "Search runs: filter (metrics.auc > 0.8 AND params.model = 'gbt'), order, page",
        body: ref('run.json', 'RunSearch'),
        ok: [200, ref('run.json', 'RunSearchResult')],
      }),
    },
    '/api/v1/runs/{id}': {
      get: op({ operationId: 'getRun', summary: 'A run', params: [idParam], ok: [200, ref('run.json')] }),
      patch: op({
        operationId: 'updateRun',
        summary: 'Finish (status, end time) or rename a run',
        params: [idParam],
        body: ref('run.json', 'RunUpdate'),
        ok: [200, ref('run.json')],
      }),
      delete: op({ operationId: 'deleteRun', summary: 'Delete a run (soft)', params: [idParam], ok: [204, null] }),
    },
    '/api/v1/runs/{id}/log': {
      post: op({
        operationId: 'logRun',
        summary: 'Log parameters, metrics by step, tags and artifacts in one batch',
        params: [idParam],
        body: ref('run.json', 'RunLog'),
        ok: [200, { type: 'object' }],
      }),
    },
    '/api/v1/runs/{id}/metrics/{key}': {
      get: op({
        operationId: 'getMetricHistory',
        summary: "A metric's points by step",
        params: [idParam, { name: 'key', in: 'path', required: true, schema: { type: 'string' } }],
        ok: [200, ref('run.json', 'MetricHistory')],
      }),
    },
    '/api/v1/models': {
      get: op({
        operationId: 'listModels',
        summary: 'Newest version of every model',
        ok: [200, items(ref('model-version.json'))],
      }),
    },
    '/api/v1/models/{name}/versions': {
      get: op({
        operationId: 'listModelVersions',
        summary: 'Versions of a model',
        params: [nameParam],
        ok: [200, items(ref('model-version.json'))],
      }),
      post: op({
        operationId: 'publishModelVersion',
        summary: 'Publish a pipeline as a new model version',
        params: [nameParam],
        body: ref('model-version.json', 'PublishRequest'),
        ok: [201, ref('model-version.json')],
      }),
    },
    '/api/v1/models/{name}/versions/{ref}': {
      get: op({
        operationId: 'getModelVersion',
        summary: 'One model version, by number, `latest` or alias',
        params: [nameParam, refParam],
        ok: [200, ref('model-version.json')],
      }),
      delete: op({
        operationId: 'deleteModelVersion',
        summary: 'Delete a version (refused while an alias or a deployment uses it)',
        params: [nameParam, refParam],
        ok: [204, null],
      }),
    },
    '/api/v1/models/{name}/versions/{ref}/archive': {
      post: op({
        operationId: 'archiveModelVersion',
        summary: 'Archive a version (refused while an alias or a deployment uses it)',
        params: [nameParam, refParam],
        body: ref('model-alias.json', 'ArchiveRequest'),
        ok: [200, ref('model-version.json')],
      }),
    },
    '/api/v1/models/{name}/versions/{ref}/unarchive': {
      post: op({
        operationId: 'unarchiveModelVersion',
        summary: 'Make an archived version usable again',
        params: [nameParam, refParam],
        ok: [200, ref('model-version.json')],
      }),
    },
    '/api/v1/models/{name}/versions/{ref}/lineage': {
      get: op({
        operationId: 'getModelLineage',
        summary: 'Lake sources -> feature views -> example set -> run -> version -> aliases and deployments',
        params: [nameParam, refParam],
        ok: [200, ref('model-version.json', 'ModelLineage')],
      }),
    },
    '/api/v1/models/{name}/versions/{ref}/predict': {
      post: op({
        operationId: 'predictWithModelVersion',
        summary: 'Run a version in the control plane on input columns',
        params: [nameParam, refParam],
        body: ref('model-alias.json', 'ModelPredictRequest'),
        ok: [200, ref('model-alias.json', 'ModelPredictResponse')],
      }),
    },
    '/api/v1/models/{name}/versions/{ref}/evaluate': {
      post: op({
        operationId: 'evaluateModelVersion',
        summary: 'Score a version (and optionally another to compare) on a holdout example set; recorded',
        params: [nameParam, refParam],
        body: ref('model-alias.json', 'EvaluateRequest'),
        ok: [201, ref('model-alias.json', 'Evaluation')],
      }),
    },
    '/api/v1/models/{name}/evaluations': {
      get: op({
        operationId: 'listModelEvaluations',
        summary: 'Recorded evaluations (gate comparisons), newest first',
        params: [nameParam],
        ok: [200, items(ref('model-alias.json', 'Evaluation'))],
      }),
    },
    '/api/v1/models/{name}/evaluations/{id}': {
      get: op({
        operationId: 'getModelEvaluation',
        summary: 'One recorded evaluation',
        params: [nameParam, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        ok: [200, ref('model-alias.json', 'Evaluation')],
      }),
    },
    '/api/v1/models/{name}/aliases': {
      get: op({
        operationId: 'listModelAliases',
        summary: 'Aliases of a model, with their gate policies',
        params: [nameParam],
        ok: [200, items(ref('model-alias.json'))],
      }),
    },
    '/api/v1/models/{name}/aliases/{alias}': {
      get: op({
        operationId: 'getModelAlias',
        summary: 'One alias',
        params: [nameParam, aliasParam],
        ok: [200, ref('model-alias.json')],
      }),
      put: op({
        operationId: 'moveModelAlias',
        summary: "Point an alias at a version, through the alias's gate policy (409 when the gate fails)",
        params: [nameParam, aliasParam],
        body: ref('model-alias.json', 'AliasMove'),
        ok: [200, { type: 'object' }],
      }),
      delete: op({
        operationId: 'removeModelAlias',
        summary: 'Remove an alias (recorded in its history)',
        params: [nameParam, aliasParam, { name: 'reason', in: 'query', schema: { type: 'string' } }],
        ok: [204, null],
      }),
    },
    '/api/v1/models/{name}/aliases/{alias}/policy': {
      get: op({
        operationId: 'getAliasPolicy',
        summary: "An alias's gate policy",
        params: [nameParam, aliasParam],
        ok: [200, ref('model-alias.json', 'GatePolicy')],
      }),
      put: op({
        operationId: 'setAliasPolicy',
        summary: "Set an alias's gate policy",
        params: [nameParam, aliasParam],
        body: ref('model-alias.json', 'GatePolicy'),
        ok: [200, ref('model-alias.json', 'GatePolicy')],
      }),
      delete: op({
        operationId: 'removeAliasPolicy',
        summary: "Remove an alias's gate policy",
        params: [nameParam, aliasParam],
        ok: [204, null],
      }),
    },
    '/api/v1/models/{name}/alias-history': {
      get: op({
        operationId: 'getAliasHistory',
        summary: 'Who moved which alias when and why (set, removed, refused by the gate)',
        params: [nameParam, { name: 'alias', in: 'query', schema: { type: 'string' } }],
        ok: [200, items(ref('model-alias.json', 'AliasEvent'))],
      }),
    },
    '/api/v1/deployments': {
      get: op({
        operationId: 'listDeployments',
        summary: 'Active deployments',
        ok: [200, items(ref('deployment.json'))],
      }),
    },
    '/api/v1/deployments/{name}': {
      put: op({
        operationId: 'deploy',
        summary: 'Deploy a model version (sanity-tested) under a name',
        params: [nameParam],
        body: ref('deployment.json', 'DeployRequest'),
        ok: [200, ref('deployment.json')],
      }),
      get: op({
        operationId: 'getDeployment',
        summary: 'One deployment',
        params: [nameParam],
        ok: [200, ref('deployment.json')],
      }),
    },
  });
  const components: Record<string, unknown> = {};
  for (const [file, s] of Object.entries(schemas)) components[componentKey(file)] = rewriteRefs(s, file);
  return {
    openapi: '3.1.0',
    info: { title: 'Plinth control plane', version, description: 'Feature store, model repository and deployments.' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }, {}],
  };
}
