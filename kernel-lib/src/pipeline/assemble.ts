import type { FeatureStatus, FieldError, PipelineInput } from '@plinth/schema';

export type InputStatus = FeatureStatus | 'default' | 'request';

/** Online feature values of one instance, keyed `view:feature`, as `readOnlineFeatures` returned them. */
export interface OnlineFeatureRow {
  values: Record<string, unknown>;
  statuses: Record<string, FeatureStatus>;
}

export interface AssembledInputs {
  /** One column per pipeline input, NaN where a value is missing and has no default. */
  columns: Record<string, Float64Array>;
  statuses: Record<string, InputStatus>[];
  errors: FieldError[];
}

/** The `view:feature` references a pipeline reads from the online store. */
export function onlineRefs(inputs: PipelineInput[]): { view: string; feature: string }[] {
  return inputs.flatMap((i) =>
    i.source.kind === 'online' ? [{ view: i.source.view, feature: i.source.feature }] : [],
  );
}

/**
 * Builds the pipeline's input columns from online rows and request-time values: the one
 * place that decides what a pipeline sees, shared by notebooks and the inference tier so
 * that both feed the graph identical numbers. A missing value takes the input's declared
 * default (cold start), flagged 'default'.
 *
 * @example
 * const { columns, statuses } = assembleInputs(pipeline.inputs, onlineRows, [{ user_id: 7, product_id: 3 }]);
 */
export function assembleInputs(
  inputs: PipelineInput[],
  online: OnlineFeatureRow[],
  instances: Record<string, unknown>[],
): AssembledInputs {
  const errors: FieldError[] = [];
  const columns: Record<string, Float64Array> = {};
  const statuses: Record<string, InputStatus>[] = instances.map(() => ({}));
  for (const input of inputs) {
    const col = new Float64Array(instances.length);
    instances.forEach((inst, i) => {
      let v: unknown;
      if (input.source.kind === 'online') {
        const ref = `${input.source.view}:${input.source.feature}`;
        v = online[i]?.values[ref];
        statuses[i][input.name] = online[i]?.statuses[ref] ?? 'not_found';
      } else {
        v = inst[input.name];
        statuses[i][input.name] = 'request';
        if (v !== undefined && v !== null && typeof v !== 'number' && typeof v !== 'boolean') {
          errors.push({ pointer: `/instances/${i}/${input.name}`, detail: 'must be a number' });
        }
      }
      if (typeof v === 'boolean') v = v ? 1 : 0;
      if (typeof v !== 'number') {
        if (input.default !== undefined && input.default !== null) {
          v = input.default;
          statuses[i][input.name] = 'default';
        } else v = NaN;
      }
      col[i] = v as number;
    });
    columns[input.name] = col;
  }
  return { columns, statuses, errors };
}
