import {
  assertValid,
  DEFINITION_SECTIONS,
  registryKinds,
  validate,
  problem,
  ProblemError,
  type DataSource,
  type Entity,
  type FeatureService,
  type FeatureView,
  type FieldError,
  type LabelView,
  type CatalogRef,
} from '@plinth/schema';
import type { MetadataStore, RegistryRecord } from '../stores/types';
import { specHash } from '../util/hash';
import { jsonDiff } from '../util/json-diff';
import { findDuplicates } from './catalog';
import { OfflineEngine, DataSourceError, valueTypeOf } from '../offline/duckdb';
import { viewSchemaErrors } from '../offline/view-schema';
import { parseSchedule } from '../util/schedule';

export type DefinitionKind = 'entity' | 'data-source' | 'feature-view' | 'label-view' | 'feature-service';
type Definition = Entity | DataSource | FeatureView | LabelView | FeatureService;
type Lookup = (kind: string, name: string) => Promise<Definition | null>;

/** A set of definitions, as `plinth apply` files and notebooks send them. */
export interface Definitions {
  entities?: unknown[];
  dataSources?: unknown[];
  featureViews?: unknown[];
  labelViews?: unknown[];
  featureServices?: unknown[];
}

// Dependencies first, in the order applyDefinitions applies them.
const planOrder = DEFINITION_SECTIONS.map(
  ([section, plural]) => [section, registryKinds[plural].kind] as [keyof Definitions, DefinitionKind],
);

export interface PlannedChange {
  kind: DefinitionKind;
  name: string;
  action: 'create' | 'update' | 'unchanged';
  /** The version an update replaces; null for a create. */
  currentVersion: number | null;
  /** JSON Pointers of the fields an update changes. */
  changes: string[];
}

export interface ApplyOutcome {
  kind: DefinitionKind;
  name: string;
  version: number;
  created: boolean;
  duplicates?: CatalogRef[];
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
    // The same definition under another name is flagged, not refused: teams may need both.
    const duplicates =
      kind === 'feature-view' || kind === 'label-view'
        ? await findDuplicates(this.meta, kind, spec as FeatureView)
        : [];
    return { kind, name: spec.name, version: record.version, created, ...(duplicates.length ? { duplicates } : {}) };
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
    if (kind === 'feature-view') {
      // A live feature service naming the view would break every example set built from it.
      const users = (await this.meta.listLatest<FeatureService>('feature-service'))
        .filter((s) => s.spec.features.some((ref) => ref.split(':')[0] === name))
        .map((s) => `'${s.name}'`);
      if (users.length) {
        throw new ProblemError(
          problem(
            409,
            'Still in use',
            `feature view '${name}' is used by feature service ${users.join(', ')}: change or remove the service first`,
          ),
        );
      }
    }
    if (!(await this.meta.markDeleted(kind, name, actor))) throw notFound(kind.replace('-', ' '), name);
    await this.meta.audit({ actor, action: `delete:${kind}`, target: `${kind}/${name}`, detail: null });
  }

  /**
   * What `apply` would do with a set of definitions, without storing anything: per document
   * create, update (with the changed fields) or unchanged. Definitions may refer to each
   * other (a new view on a new entity); every error of every document is reported at once.
   */
  async plan(defs: Definitions): Promise<PlannedChange[]> {
    const docs = planOrder.flatMap(([section, kind]) =>
      (defs[section] ?? []).map((doc, i) => ({ section, kind, doc, i })),
    );
    const errors: FieldError[] = [];
    const valid: { kind: DefinitionKind; spec: Definition; at: string }[] = [];
    const planned = new Map<string, Definition>();
    for (const { section, kind, doc, i } of docs) {
      const at = `/${section}/${i}`;
      const r = validate(kind, doc);
      if (!r.ok) errors.push(...r.errors.map((e) => ({ ...e, pointer: at + e.pointer })));
      else {
        const spec = r.value as Definition;
        if (planned.has(`${kind}/${spec.name}`))
          errors.push({ pointer: `${at}/name`, detail: `${kind} '${spec.name}' is defined twice` });
        planned.set(`${kind}/${spec.name}`, spec);
        valid.push({ kind, spec, at });
      }
    }
    const lookup: Lookup = async (kind, name) =>
      planned.get(`${kind}/${name}`) ?? (await this.meta.getLatest<Definition>(kind, name))?.spec ?? null;
    for (const { kind, spec, at } of valid) {
      try {
        await this.checkReferences(kind, spec, lookup);
      } catch (e) {
        if (!(e instanceof ProblemError)) throw e;
        errors.push(...(e.problem.errors ?? []).map((f) => ({ ...f, pointer: at + f.pointer })));
      }
    }
    if (errors.length) throw unprocessable('some definitions cannot be applied', errors);
    return Promise.all(
      valid.map(async ({ kind, spec }) => {
        const current = await this.meta.getLatest<Definition>(kind, spec.name);
        if (!current) return { kind, name: spec.name, action: 'create', currentVersion: null, changes: [] };
        const changes = jsonDiff(current.spec, spec);
        return {
          kind,
          name: spec.name,
          action: specHash(current.spec) === specHash(spec) ? 'unchanged' : 'update',
          currentVersion: current.version,
          changes,
        };
      }),
    );
  }

  private async checkReferences(kind: DefinitionKind, spec: Definition, lookup?: Lookup): Promise<void> {
    const find =
      lookup ?? (async (k: string, n: string) => (await this.meta.getLatest<Definition>(k, n))?.spec ?? null);
    if (kind === 'feature-service') return checkFeatureService(spec as FeatureService, find);
    if (kind !== 'feature-view' && kind !== 'label-view') return;
    const view = spec as FeatureView | LabelView;
    const errors: FieldError[] = [];
    const entities: Entity[] = [];
    for (const [i, e] of view.entities.entries()) {
      const r = (await find('entity', e)) as Entity | null;
      if (r) entities.push(r);
      else errors.push({ pointer: `/entities/${i}`, detail: `entity '${e}' does not exist` });
    }
    const sources: DataSource[] = [];
    for (const [i, s] of (view.sources ?? []).entries()) {
      const r = (await find('data-source', s)) as DataSource | null;
      if (r) sources.push(r);
      else errors.push({ pointer: `/sources/${i}`, detail: `data source '${s}' does not exist` });
    }
    if (view.schedule) {
      try {
        parseSchedule(view.schedule);
      } catch (e) {
        errors.push({ pointer: '/schedule', detail: `not a cron expression: ${(e as Error).message}` });
      }
    }
    if (errors.length) throw unprocessable(`${kind} '${view.name}' has invalid fields or missing references`, errors);
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
      const errors = viewSchemaErrors(view, entities, columns);
      errors.push(...qualityErrors(view, byName, entities));
      if ('stream' in view && view.stream) errors.push(...streamErrors(view.stream));
      if (errors.length) throw unprocessable(`${kind} '${view.name}' does not match its SQL`, errors);
    } finally {
      engine.close();
    }
  }
}

/** Every view a feature service names must exist (registered or in the same plan), with every named feature. */
async function checkFeatureService(service: FeatureService, find: Lookup): Promise<void> {
  const errors: FieldError[] = [];
  for (const [i, ref] of service.features.entries()) {
    const [viewName, feature] = ref.split(':');
    const view = (await find('feature-view', viewName)) as FeatureView | null;
    if (!view) errors.push({ pointer: `/features/${i}`, detail: `feature view '${viewName}' does not exist` });
    else if (feature && !view.features.some((f) => f.name === feature))
      errors.push({ pointer: `/features/${i}`, detail: `feature view '${viewName}' has no feature '${feature}'` });
  }
  if (errors.length)
    throw unprocessable(`feature service '${service.name}' refers to features that do not exist`, errors);
}

/** A stream names where to read: a Redis URL for Redis Streams, host:port brokers for Kafka. */
function streamErrors(stream: NonNullable<FeatureView['stream']>): FieldError[] {
  const errors: FieldError[] = [];
  if (stream.kind === 'redis') {
    if (!stream.url) errors.push({ pointer: '/stream/url', detail: 'is required for a Redis stream' });
    else if (!/^rediss?:\/\/[^/]/.test(stream.url) || !URL.canParse(stream.url))
      errors.push({ pointer: '/stream/url', detail: `must be a redis:// or rediss:// URL, got '${stream.url}'` });
    if (stream.brokers) errors.push({ pointer: '/stream/brokers', detail: 'is for Kafka streams only' });
  } else {
    if (!stream.brokers) errors.push({ pointer: '/stream/brokers', detail: 'is required for a Kafka stream' });
    for (const [i, b] of (stream.brokers ?? []).entries()) {
      const port = Number(/^[^\s:/]+:(\d+)$/.exec(b)?.[1]);
      if (!(port >= 1 && port <= 65535))
        errors.push({ pointer: `/stream/brokers/${i}`, detail: `must be host:port, got '${b}'` });
    }
    if (stream.url) errors.push({ pointer: '/stream/url', detail: 'is for Redis streams only' });
  }
  if (stream.deadLetter === stream.topic)
    errors.push({ pointer: '/stream/deadLetter', detail: 'must differ from the topic it collects from' });
  return errors;
}

/** Data quality rules must name columns the view materializes; range and mean need numbers. */
function qualityErrors(
  view: FeatureView | LabelView,
  sqlColumns: Map<string, string>,
  entities: Entity[],
): FieldError[] {
  const errors: FieldError[] = [];
  const fields = 'features' in view ? view.features : view.labels;
  const created = 'createdTimestampColumn' in view ? view.createdTimestampColumn : undefined;
  const kept = new Set([
    ...entities.flatMap((e) => e.joinKeys.map((k) => k.name)),
    view.timestampColumn,
    ...(created ? [created] : []),
    ...fields.map((f) => f.name),
  ]);
  const numeric = ['int32', 'int64', 'float32', 'float64'];
  for (const [i, rule] of (view.quality?.rules ?? []).entries()) {
    const pointer = `/quality/rules/${i}/column`;
    const column = 'column' in rule ? rule.column : undefined;
    if (rule.kind === 'change' && rule.metric === 'mean' && !column) {
      errors.push({ pointer, detail: "is required when metric is 'mean'" });
      continue;
    }
    if (!column || (rule.kind === 'change' && rule.metric !== 'mean')) continue;
    const t = sqlColumns.get(column);
    if (!t) errors.push({ pointer, detail: `column '${column}' is not returned by the SQL` });
    else if (!kept.has(column))
      errors.push({
        pointer,
        detail: `column '${column}' is not a join key, timestamp or declared column of the view`,
      });
    else if ((rule.kind === 'range' || rule.kind === 'change') && !numeric.includes(valueTypeOf(t)))
      errors.push({ pointer, detail: `${rule.kind} needs a numeric column; '${column}' has type ${t}` });
  }
  return errors;
}
