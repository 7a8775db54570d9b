import type { FeatureStatus, FieldError, PipelineInput } from '@plinth/schema';

export type InputStatus = FeatureStatus | 'default' | 'request';

/** Online feature values of one instance, keyed `view:feature`, as `readOnlineFeatures` returned them. */
export interface OnlineFeatureRow {
  values: Record<string, unknown>;
  statuses: Record<string, FeatureStatus>;
}

export interface AssembledInputs {
  /**
   * One column per pipeline input: numbers (NaN where a value is missing and has no default), or
   * for a `string` input its strings (null where missing without a default), ready for
   * `PipelineSession.run`.
   */
  columns: Record<string, Float64Array | (string | null)[]>;
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
 * that both feed the graph identical values. A missing value takes the input's declared
 * default (cold start), flagged 'default'. Numeric inputs take numbers (booleans as 0/1);
 * `string` inputs take strings, and the graph encodes them (an unknown category becomes the
 * default's code, or NaN). A request value of the wrong type is an error naming
 * `/instances/i/<input>`.
 *
 * @example
 * const { columns, statuses } = assembleInputs(pipeline.inputs, onlineRows, [{ user_id: 7, product_id: 3, country: 'fr' }]);
 */
export function assembleInputs(
  inputs: PipelineInput[],
  online: OnlineFeatureRow[],
  instances: Record<string, unknown>[],
): AssembledInputs {
  const errors: FieldError[] = [];
  const columns: AssembledInputs['columns'] = {};
  const statuses: Record<string, InputStatus>[] = instances.map(() => ({}));
  // Plain loops: this runs for every feature of every instance on the inference tier's hot path.
  const n = instances.length;
  for (const input of inputs) {
    const string = input.type === 'string';
    const numbers = new Float64Array(string ? 0 : n);
    const strings: (string | null)[] = string ? new Array<string | null>(n) : [];
    const ref = input.source.kind === 'online' ? `${input.source.view}:${input.source.feature}` : null;
    const name = input.name;
    const def = input.default;
    for (let i = 0; i < n; i++) {
      let v: unknown;
      const st = statuses[i];
      if (ref !== null) {
        const row = online[i];
        v = row?.values[ref];
        st[name] = row?.statuses[ref] ?? 'not_found';
        // The online store keeps the view's types; a string input reads its value as text.
        if (string && (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')) v = String(v);
      } else {
        v = instances[i][name];
        st[name] = 'request';
        const ok = string ? typeof v === 'string' : typeof v === 'number' || typeof v === 'boolean';
        if (v !== undefined && v !== null && !ok) {
          errors.push({ pointer: `/instances/${i}/${name}`, detail: string ? 'must be a string' : 'must be a number' });
        }
      }
      if (string) {
        if (typeof v !== 'string' || v.length === 0) {
          if (typeof def === 'string') {
            v = def;
            st[name] = 'default';
          } else v = null;
        }
        strings[i] = v as string | null;
        continue;
      }
      if (typeof v === 'boolean') v = v ? 1 : 0;
      if (typeof v !== 'number') {
        if (typeof def === 'number') {
          v = def;
          st[name] = 'default';
        } else v = NaN;
      }
      numbers[i] = v as number;
    }
    columns[name] = string ? strings : numbers;
  }
  return { columns, statuses, errors };
}
