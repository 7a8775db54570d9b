import type { Entity, FeatureView, FieldError, LabelView } from '@plinth/schema';
import { valueTypeOf } from './duckdb';

export type ViewKindLabel = 'feature view' | 'label view';

function compatible(declared: string, actual: string): boolean {
  if (declared === actual) return true;
  const numeric = ['int32', 'int64', 'float32', 'float64', 'bool'];
  return numeric.includes(declared) && numeric.includes(actual);
}

/**
 * What is wrong between a view's declaration and the columns its SQL returns (from DESCRIBE):
 * missing join keys, timestamp or declared columns, and incompatible types. Apply uses it to
 * reject a definition; materialization uses it to name schema drift in the lake since then.
 */
export function viewSchemaErrors(
  view: FeatureView | LabelView,
  entities: Entity[],
  columns: { name: string; type: string }[],
): FieldError[] {
  const byName = new Map(columns.map((c) => [c.name, c.type]));
  const errors: FieldError[] = [];
  for (const e of entities) {
    for (const k of e.joinKeys) {
      if (!byName.has(k.name))
        errors.push({ pointer: '/sql', detail: `does not return join key '${k.name}' of entity '${e.name}'` });
    }
  }
  const timestamp = (pointer: string, column: string) => {
    const t = byName.get(column);
    if (!t) errors.push({ pointer, detail: `column '${column}' is not returned by the SQL` });
    else if (valueTypeOf(t) !== 'timestamp')
      errors.push({ pointer, detail: `column '${column}' has type ${t}, not a timestamp` });
  };
  timestamp('/timestampColumn', view.timestampColumn);
  const created = 'createdTimestampColumn' in view ? view.createdTimestampColumn : undefined;
  if (created) timestamp('/createdTimestampColumn', created);
  const fields = 'features' in view ? view.features : view.labels;
  const listName = 'features' in view ? 'features' : 'labels';
  for (const [i, f] of fields.entries()) {
    const t = byName.get(f.name);
    if (!t) errors.push({ pointer: `/${listName}/${i}/name`, detail: `column '${f.name}' is not returned by the SQL` });
    else if (!compatible(f.type, valueTypeOf(t)))
      errors.push({
        pointer: `/${listName}/${i}/type`,
        detail: `column '${f.name}' is declared ${f.type} but the SQL returns ${t}`,
      });
  }
  return errors;
}
