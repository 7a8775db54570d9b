import type { FeatureStatus, FieldError, PipelineInput } from '@plinth/schema';

export type InputStatus = FeatureStatus | 'default' | 'request';

/** Online feature values of one instance, keyed `view:feature`, as `readOnlineFeatures` returned them. */
export interface OnlineFeatureRow {
  values: Record<string, unknown>;
  statuses: Record<string, FeatureStatus>;
}

/** Online feature values of many instances by column, as `readOnlineColumns` returns them. */
export interface OnlineFeatureColumns {
  /** `view:feature` of each column. */
  names: readonly string[];
  /** Per column, per instance. */
  values: readonly (readonly unknown[])[];
  statuses: readonly (readonly FeatureStatus[])[];
}

export interface AssembledInputs {
  /**
   * One column per pipeline input: numbers (NaN where a value is missing and has no default), or
   * for a `string` input its strings (null where missing without a default), ready for
   * `PipelineSession.run`.
   */
  columns: Record<string, Float64Array | (string | null)[]>;
  /** Per input, per instance: where the value came from. `statusRow` gives one instance's. */
  statuses: Record<string, InputStatus[]>;
  errors: FieldError[];
}

/**
 * The input statuses of instance `i`, as the predict route answers them.
 *
 * @example
 * const { statuses } = assembleInputs(pipeline.inputs, online, instances);
 * statusRow(statuses, 0); // { user_ctr: 'present', country: 'request', price: 'default' }
 */
export function statusRow(statuses: Record<string, InputStatus[]>, i: number): Record<string, InputStatus> {
  const row: Record<string, InputStatus> = {};
  for (const name in statuses) row[name] = statuses[name][i];
  return row;
}

/** Rows of `readOnlineFeatures` (or the online-features API) as columns of the references `names`. */
function columnsOfRows(rows: readonly OnlineFeatureRow[], names: string[]): OnlineFeatureColumns {
  return {
    names,
    values: names.map((ref) => rows.map((r) => r.values[ref])),
    statuses: names.map((ref) => rows.map((r) => r.statuses[ref] ?? 'not_found')),
  };
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
 * `/instances/i/<input>`. Online values come as rows (`readOnlineFeatures`, the
 * online-features API) or, cheaper, as columns (`readOnlineColumns`).
 *
 * @example
 * const { columns, statuses } = assembleInputs(pipeline.inputs, onlineRows, [{ user_id: 7, product_id: 3, country: 'fr' }]);
 */
export function assembleInputs(
  inputs: PipelineInput[],
  online: readonly OnlineFeatureRow[] | OnlineFeatureColumns,
  instances: Record<string, unknown>[],
): AssembledInputs {
  const refOf = (input: PipelineInput) =>
    input.source.kind === 'online' ? `${input.source.view}:${input.source.feature}` : null;
  const cols = isRows(online)
    ? columnsOfRows(
        online,
        inputs.map(refOf).filter((r): r is string => r !== null),
      )
    : online;
  const at = new Map(cols.names.map((name, j) => [name, j]));
  const errors: FieldError[] = [];
  const columns: AssembledInputs['columns'] = {};
  const statuses: AssembledInputs['statuses'] = {};
  // Plain loops: this runs for every feature of every instance on the inference tier's hot path.
  const n = instances.length;
  for (const input of inputs) {
    const string = input.type === 'string';
    const numbers = new Float64Array(string ? 0 : n);
    const strings: (string | null)[] = string ? new Array<string | null>(n) : [];
    const st = new Array<InputStatus>(n);
    const ref = refOf(input);
    const j = ref === null ? undefined : at.get(ref);
    const values = j === undefined ? undefined : cols.values[j];
    const found = j === undefined ? undefined : cols.statuses[j];
    const name = input.name;
    const def = input.default;
    for (let i = 0; i < n; i++) {
      let v: unknown;
      if (ref !== null) {
        v = values?.[i];
        st[i] = found?.[i] ?? 'not_found';
        // The online store keeps the view's types; a string input reads its value as text.
        if (string && (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')) v = String(v);
      } else {
        v = instances[i][name];
        st[i] = 'request';
        const ok = string ? typeof v === 'string' : typeof v === 'number' || typeof v === 'boolean';
        if (v !== undefined && v !== null && !ok) {
          errors.push({ pointer: `/instances/${i}/${name}`, detail: string ? 'must be a string' : 'must be a number' });
        }
      }
      if (string) {
        if (typeof v !== 'string' || v.length === 0) {
          if (typeof def === 'string') {
            v = def;
            st[i] = 'default';
          } else v = null;
        }
        strings[i] = v as string | null;
        continue;
      }
      if (typeof v === 'boolean') v = v ? 1 : 0;
      if (typeof v !== 'number') {
        if (typeof def === 'number') {
          v = def;
          st[i] = 'default';
        } else v = NaN;
      }
      numbers[i] = v as number;
    }
    columns[name] = string ? strings : numbers;
    statuses[name] = st;
  }
  return { columns, statuses, errors };
}

function isRows(online: readonly OnlineFeatureRow[] | OnlineFeatureColumns): online is readonly OnlineFeatureRow[] {
  return Array.isArray(online);
}
