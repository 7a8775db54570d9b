import {
  assertValid,
  problem,
  ProblemError,
  type DataSource,
  type Entity,
  type FeatureView,
  type FieldError,
  type LabelView,
} from '@plinth/schema';
import type { MetadataStore, RegistryRecord } from '../stores/types';
import { specHash } from '../util/hash';
import { OfflineEngine, DataSourceError, valueTypeOf } from '../offline/duckdb';

export type DefinitionKind = 'entity' | 'data-source' | 'feature-view' | 'label-view';
type Definition = Entity | DataSource | FeatureView | LabelView;

export interface ApplyOutcome {
  kind: DefinitionKind;
  name: string;
  version: number;
  created: boolean;
}

const unprocessable = (detail: string, errors: FieldError[]) =>
  new ProblemError(problem(422, 'Invalid definition', detail, errors));

export const notFound = (what: string, name: string) =>
  new ProblemError(problem(404, 'Not found', `${what} '${name}' does not exist`));

/**
 * The feature-store registry: validates definitions, checks what they refer to, and stores
 * each change as a new version (unchanged definitions keep theirs).
 */
export class Registry {
  constructor(
    private readonly meta: MetadataStore,
    private readonly lakeDir: string,
  ) {}

  async apply(kind: DefinitionKind, doc: unknown, actor: string): Promise<ApplyOutcome> {
    const spec = assertValid(kind, doc, kind.replace('-', ' ')) as Definition;
    await this.checkReferences(kind, spec);
    const { record, created } = await this.meta.putVersion(kind, spec.name, spec, specHash(spec), actor);
    if (created) {
      await this.meta.audit({
        actor,
        action: `apply:${kind}`,
        target: `${kind}/${spec.name}@${record.version}`,
        detail: null,
      });
    }
    return { kind, name: spec.name, version: record.version, created };
  }

  async get<T>(kind: string, name: string, version?: number): Promise<RegistryRecord<T>> {
    const r = version ? await this.meta.getVersion<T>(kind, name, version) : await this.meta.getLatest<T>(kind, name);
    if (!r) throw notFound(kind.replace('-', ' '), version ? `${name}@${version}` : name);
    return r;
  }

  list<T>(kind: string): Promise<RegistryRecord<T>[]> {
    return this.meta.listLatest<T>(kind);
  }

  async remove(kind: DefinitionKind, name: string, actor: string): Promise<void> {
    if (!(await this.meta.markDeleted(kind, name, actor))) throw notFound(kind.replace('-', ' '), name);
    await this.meta.audit({ actor, action: `delete:${kind}`, target: `${kind}/${name}`, detail: null });
  }

  private async checkReferences(kind: DefinitionKind, spec: Definition): Promise<void> {
    if (kind !== 'feature-view' && kind !== 'label-view') return;
    const view = spec as FeatureView | LabelView;
    const errors: FieldError[] = [];
    const entities: Entity[] = [];
    for (const [i, e] of view.entities.entries()) {
      const r = await this.meta.getLatest<Entity>('entity', e);
      if (r) entities.push(r.spec);
      else errors.push({ pointer: `/entities/${i}`, detail: `entity '${e}' does not exist` });
    }
    const sources: DataSource[] = [];
    for (const [i, s] of (view.sources ?? []).entries()) {
      const r = await this.meta.getLatest<DataSource>('data-source', s);
      if (r) sources.push(r.spec);
      else errors.push({ pointer: `/sources/${i}`, detail: `data source '${s}' does not exist` });
    }
    if (errors.length) throw unprocessable(`${kind} '${view.name}' refers to definitions that do not exist`, errors);
    await this.checkSql(kind, view, entities, sources);
  }

  /** Plans the view's SQL against the lake: it must return the keys, the timestamp and every declared column. */
  private async checkSql(
    kind: DefinitionKind,
    view: FeatureView | LabelView,
    entities: Entity[],
    sources: DataSource[],
  ): Promise<void> {
    const engine = await OfflineEngine.create({ threads: 1 });
    try {
      try {
        await engine.registerSources(sources, this.lakeDir);
      } catch (e) {
        if (e instanceof DataSourceError) {
          const i = (view.sources ?? []).indexOf(e.source);
          throw unprocessable(e.message, [{ pointer: `/sources/${i}`, detail: e.message }]);
        }
        throw e;
      }
      let columns: { name: string; type: string }[];
      try {
        columns = await engine.describe(view.sql);
      } catch (e) {
        const msg = (e as Error).message.split('\n')[0];
        throw unprocessable(`the SQL of ${kind} '${view.name}' does not run: ${msg}`, [
          { pointer: '/sql', detail: msg },
        ]);
      }
      const byName = new Map(columns.map((c) => [c.name, c.type]));
      const errors: FieldError[] = [];
      for (const e of entities) {
        for (const k of e.joinKeys) {
          if (!byName.has(k.name))
            errors.push({ pointer: '/sql', detail: `does not return join key '${k.name}' of entity '${e.name}'` });
        }
      }
      const ts = byName.get(view.timestampColumn);
      if (!ts)
        errors.push({
          pointer: '/timestampColumn',
          detail: `column '${view.timestampColumn}' is not returned by the SQL`,
        });
      else if (valueTypeOf(ts) !== 'timestamp')
        errors.push({
          pointer: '/timestampColumn',
          detail: `column '${view.timestampColumn}' has type ${ts}, not a timestamp`,
        });
      const fields = 'features' in view ? view.features : view.labels;
      const listName = 'features' in view ? 'features' : 'labels';
      for (const [i, f] of fields.entries()) {
        const t = byName.get(f.name);
        if (!t)
          errors.push({ pointer: `/${listName}/${i}/name`, detail: `column '${f.name}' is not returned by the SQL` });
        else if (!compatible(f.type, valueTypeOf(t))) {
          errors.push({ pointer: `/${listName}/${i}/type`, detail: `declared ${f.type} but the SQL returns ${t}` });
        }
      }
      if (errors.length) throw unprocessable(`${kind} '${view.name}' does not match its SQL`, errors);
    } finally {
      engine.close();
    }
  }
}

function compatible(declared: string, actual: string): boolean {
  if (declared === actual) return true;
  const numeric = ['int32', 'int64', 'float32', 'float64', 'bool'];
  return numeric.includes(declared) && numeric.includes(actual);
}
