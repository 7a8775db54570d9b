import {
  assembleInputs,
  onlineRefs,
  outputRows,
  readOnlineColumns,
  type InputStatus,
  type OnlineFeatureColumns,
  type OutputValue,
} from '@plinth/kernel-lib';
import { problem, ProblemError, type FeatureStatus } from '@plinth/schema';
import type { OnlineStore } from '../stores/types';
import type { LoadedModel } from './model-cache';

export type Instance = Record<string, unknown>;

/** What scoring a list of instances gives: per-row outputs, and per input the statuses and the column fed to the graph. */
export interface Scored {
  outputs: Record<string, OutputValue>[];
  statuses: Record<string, InputStatus[]>;
  columns: Record<string, Float64Array | (string | null)[]>;
}

/**
 * Scores instances with one loaded pipeline: online features are read straight from the
 * online store by each view's join keys (one round trip for all instances), request-time
 * features come from the instance, and a missing value takes the input's declared default
 * (cold start), flagged. Instances that carry every online input by name (the v2 protocol's
 * feature tensors) are scored on those values without an online read.
 */
export async function scoreInstances(m: LoadedModel, online: OnlineStore, instances: Instance[]): Promise<Scored> {
  // With no online inputs at all, both give no columns.
  const cols = m.onlineInputNames.every((n) => n in instances[0])
    ? suppliedColumns(m, instances)
    : await readOnlineColumns(online, m.views, onlineRefs(m.inputs), instances);
  // The same assembly the notebook's LocalPipeline uses: identical inputs, identical outputs.
  const { columns, statuses, errors } = assembleInputs(m.inputs, cols, instances);
  if (errors.length)
    throw new ProblemError(problem(400, 'Invalid instances', 'some request-time features have the wrong type', errors));
  const outputs = outputRows(await m.session.runTyped(columns));
  return { outputs, statuses, columns };
}

/** Online inputs given in the request itself, shaped as an online read would return them. */
function suppliedColumns(m: LoadedModel, instances: Instance[]): OnlineFeatureColumns {
  const online = m.inputs.filter((i) => i.source.kind === 'online');
  const cols = {
    names: [] as string[],
    values: [] as unknown[][],
    statuses: [] as FeatureStatus[][],
  };
  for (const input of online) {
    const src = input.source as { view: string; feature: string };
    const values = instances.map((inst) => inst[input.name] ?? null);
    const bad = values.findIndex((v) => v !== null && typeof v !== (input.type === 'string' ? 'string' : 'number'));
    if (bad >= 0)
      throw new ProblemError(
        problem(400, 'Invalid instances', `input '${input.name}' has the wrong type`, [
          {
            pointer: `/instances/${bad}/${input.name}`,
            detail: `must be a ${input.type === 'string' ? 'string' : 'number'}`,
          },
        ]),
      );
    cols.names.push(`${src.view}:${src.feature}`);
    cols.values.push(values);
    cols.statuses.push(values.map((v) => (v === null ? 'not_found' : 'present')));
  }
  return cols;
}
