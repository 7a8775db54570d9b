import { assertValid } from '@plinth/schema';
import { materialize } from '../featurestore/materialize';
import { buildExampleSet } from '../featurestore/example-sets';
import { batchInference, pinnedRequest } from '../inference/batch-inference';
import type { JobEnv } from './queue';
import type { JobHandler } from './runner';

/** The job kinds Plinth runs, the same in the control plane and in `plinth worker`. */
export function jobHandlers(env: JobEnv): Record<string, JobHandler> {
  return {
    materialize: (params, ctx) => materialize(env, assertValid('materialize-request', params), ctx),
    'example-set': (params, ctx) => buildExampleSet(env, assertValid('example-set-spec', params), ctx),
    'batch-inference': (params, ctx) =>
      batchInference(env, pinnedRequest(assertValid('batch-inference-request', params)), ctx),
  };
}
