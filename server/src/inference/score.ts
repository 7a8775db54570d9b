import {
  assembleInputs,
  onlineRefs,
  outputRows,
  readOnlineFeatures,
  type InputStatus,
  type OnlineResultRow,
  type OutputValue,
} from '@plinth/kernel-lib';
import { problem, ProblemError } from '@plinth/schema';
import type { OnlineStore } from '../stores/types';
import type { LoadedModel } from './model-cache';

export type Instance = Record<string, unknown>;

/** What scoring a list of instances gives: per-row outputs and input statuses, and the columns fed to the graph. */
export interface Scored {
  outputs: Record<string, OutputValue>[];
  statuses: Record<string, InputStatus>[];
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
  const refs = onlineRefs(m.inputs);
  let rows: OnlineResultRow[];
  if (!refs.length) rows = instances.map(() => ({ values: {}, statuses: {} }));
  else if (m.onlineInputNames.every((n) => n in instances[0])) rows = suppliedRows(m, instances);
  else rows = (await readOnlineFeatures(online, m.views, refs, instances)).rows;
  // The same assembly the notebook's LocalPipeline uses: identical inputs, identical outputs.
  const { columns, statuses, errors } = assembleInputs(m.inputs, rows, instances);
  if (errors.length)
    throw new ProblemError(problem(400, 'Invalid instances', 'some request-time features have the wrong type', errors));
  const outputs = outputRows(await m.session.runTyped(columns));
  return { outputs, statuses, columns };
}

/** Online inputs given in the request itself, shaped as an online read would return them. */
function suppliedRows(m: LoadedModel, instances: Instance[]): OnlineResultRow[] {
  const online = m.inputs.filter((i) => i.source.kind === 'online');
  return instances.map((inst, i) => {
    const row: OnlineResultRow = { values: {}, statuses: {} };
    for (const input of online) {
      const src = input.source as { view: string; feature: string };
      const ref = `${src.view}:${src.feature}`;
      const v = inst[input.name];
      if (v !== null && v !== undefined && typeof v !== (input.type === 'string' ? 'string' : 'number'))
        throw new ProblemError(
          problem(400, 'Invalid instances', `input '${input.name}' has the wrong type`, [
            {
              pointer: `/instances/${i}/${input.name}`,
              detail: `must be a ${input.type === 'string' ? 'string' : 'number'}`,
            },
          ]),
        );
      row.values[ref] = (v ?? null) as OnlineResultRow['values'][string];
      row.statuses[ref] = v === null || v === undefined ? 'not_found' : 'present';
    }
    return row;
  });
}
