import type {
  CatalogEntry,
  CatalogQuery,
  CatalogRef,
  DataSource,
  Deployment,
  Entity,
  FeatureService,
  FeatureServiceLineage,
  FeatureView,
  LabelView,
  Lineage,
} from '@plinth/schema';
import type { MetadataStore, RegistryRecord } from '../stores/types';
import type { StoredExampleSet } from '../featurestore/example-sets';
import type { StoredModelVersion } from '../repository/models';
import { viewFingerprint } from './fingerprint';

type CatalogKind = CatalogRef['kind'];
export const CATALOG_KINDS: CatalogKind[] = ['feature-view', 'label-view', 'entity', 'data-source', 'feature-service'];
type Doc = FeatureView | LabelView | Entity | DataSource | FeatureService;

const isView = (kind: CatalogKind) => kind === 'feature-view' || kind === 'label-view';
const viewOf = (ref: string) => ref.split(':')[0];

function entryOf(
  kind: CatalogKind,
  r: RegistryRecord<Doc>,
  featureViews: Map<string, FeatureView>,
): Omit<CatalogEntry, 'score' | 'matched' | 'duplicates'> {
  if (kind === 'feature-service') {
    const s = r.spec as FeatureService;
    // A service has no entities of its own: those of its views, so the entity filter finds it.
    const entities = [...new Set(s.features.flatMap((f) => featureViews.get(viewOf(f))?.entities ?? []))];
    return {
      kind,
      name: r.name,
      version: r.version,
      ...(s.description ? { description: s.description } : {}),
      ...(s.team ? { team: s.team } : {}),
      ...(s.owner ? { owner: s.owner } : {}),
      ...(entities.length ? { entities } : {}),
      ...(s.tags ? { tags: s.tags } : {}),
      features: s.features,
    };
  }
  const d = r.spec as Partial<FeatureView & LabelView & Entity & DataSource>;
  const fields = d.features ?? d.labels ?? d.joinKeys;
  return {
    kind,
    name: r.name,
    version: r.version,
    ...(d.description ? { description: d.description } : {}),
    ...(d.team ? { team: d.team } : {}),
    ...(d.owner ? { owner: d.owner } : {}),
    ...(d.entities ? { entities: d.entities } : {}),
    ...(d.tags ? { tags: d.tags } : {}),
    ...(fields
      ? {
          fields: fields.map((f) => ({
            name: f.name,
            type: f.type,
            ...('description' in f && f.description ? { description: f.description } : {}),
          })),
        }
      : {}),
  };
}

/**
 * Scores one entry for one search term: the name counts most, then feature names, then
 * entities, tags, team and owner, then words in descriptions.
 */
function scoreTerm(
  e: Omit<CatalogEntry, 'score' | 'matched' | 'duplicates'>,
  term: string,
): { score: number; matched: string[] } {
  const matched: string[] = [];
  let score = 0;
  const name = e.name.toLowerCase();
  if (name === term) score += 100;
  else if (name.startsWith(term)) score += 50;
  else if (name.includes(term)) score += 30;
  if (score) matched.push('name');
  const hit = (what: string, points: number, values: (string | undefined)[]) => {
    if (values.some((v) => v?.toLowerCase().includes(term))) {
      score += points;
      matched.push(what);
    }
  };
  hit('field', 20, [...(e.fields ?? []).map((f) => f.name), ...(e.features ?? [])]);
  hit('entity', 15, e.entities ?? []);
  hit(
    'tag',
    15,
    Object.entries(e.tags ?? {}).flatMap(([k, v]) => [k, v, `${k}:${v}`]),
  );
  hit('team', 10, [e.team]);
  hit('owner', 10, [e.owner]);
  hit('description', 8, [e.description, ...(e.fields ?? []).map((f) => f.description)]);
  return { score, matched };
}

/**
 * Searches every team's definitions. All terms of `q` must match somewhere; filters narrow by
 * kind, team, owner, entity and tag.
 */
export async function searchCatalog(meta: MetadataStore, query: CatalogQuery): Promise<CatalogEntry[]> {
  const kinds = query.kind ? [query.kind] : CATALOG_KINDS;
  const records = (
    await Promise.all(kinds.map(async (k) => (await meta.listLatest<Doc>(k)).map((r) => [k, r] as const)))
  ).flat();
  const featureViews = new Map(
    kinds.includes('feature-service')
      ? (await meta.listLatest<FeatureView>('feature-view')).map((r) => [r.name, r.spec] as const)
      : [],
  );
  const dupes = duplicateGroups(
    records.filter(([k]) => isView(k)) as [CatalogKind, RegistryRecord<FeatureView | LabelView>][],
  );
  const terms = (query.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const [tagKey, tagValue] = query.tag ? query.tag.split(':') : [];
  const out: CatalogEntry[] = [];
  for (const [kind, r] of records) {
    const e = entryOf(kind, r, featureViews);
    if (query.team && e.team !== query.team) continue;
    if (query.owner && e.owner !== query.owner) continue;
    if (query.entity && !(e.entities ?? (kind === 'entity' ? [e.name] : [])).includes(query.entity)) continue;
    if (tagKey && !(e.tags && tagKey in e.tags && (tagValue === undefined || e.tags[tagKey] === tagValue))) continue;
    let score = 0;
    const matched = new Set<string>();
    let all = true;
    for (const t of terms) {
      const s = scoreTerm(e, t);
      if (!s.score) all = false;
      score += s.score;
      s.matched.forEach((m) => matched.add(m));
    }
    if (!all) continue;
    out.push({ ...e, score, matched: [...matched], duplicates: dupes.get(`${kind}/${r.name}`) ?? [] });
  }
  out.sort((a, b) => b.score - a.score || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  return out.slice(0, query.limit ?? 100);
}

/** For every view, the other views of the same kind with the same fingerprint. */
function duplicateGroups(views: [CatalogKind, RegistryRecord<FeatureView | LabelView>][]): Map<string, CatalogRef[]> {
  const byPrint = new Map<string, CatalogRef[]>();
  for (const [kind, r] of views) {
    const key = `${kind}/${viewFingerprint(r.spec)}`;
    byPrint.set(key, [...(byPrint.get(key) ?? []), { kind, name: r.name }]);
  }
  const out = new Map<string, CatalogRef[]>();
  for (const group of byPrint.values()) {
    if (group.length < 2) continue;
    for (const ref of group)
      out.set(
        `${ref.kind}/${ref.name}`,
        group.filter((g) => g.name !== ref.name),
      );
  }
  return out;
}

/** Views of the same kind already registered under another name with the same definition. */
export async function findDuplicates(
  meta: MetadataStore,
  kind: 'feature-view' | 'label-view',
  view: FeatureView | LabelView,
): Promise<CatalogRef[]> {
  const print = viewFingerprint(view);
  return (await meta.listLatest<FeatureView | LabelView>(kind))
    .filter((r) => r.name !== view.name && viewFingerprint(r.spec) === print)
    .map((r) => ({ kind, name: r.name }));
}

type Consumers = Pick<Lineage, 'exampleSets' | 'models' | 'deployments'>;

/**
 * Example sets (latest versions) that pass `usesSet`, the model versions trained on them or
 * that pass `usesModel`, and the deployments serving those models.
 */
async function consumersOf(
  meta: MetadataStore,
  usesSet: (es: StoredExampleSet) => boolean,
  usesModel: (m: StoredModelVersion) => boolean = () => false,
): Promise<Consumers> {
  const exampleSets = (await meta.listLatest<StoredExampleSet>('example-set'))
    .filter((r) => usesSet(r.spec))
    .map((r) => ({ name: r.name, version: r.version }));
  const esNames = new Set(exampleSets.map((e) => e.name));
  const models = (await meta.listLatest<StoredModelVersion>('model'))
    .filter((r) => usesModel(r.spec) || (r.spec.exampleSet && esNames.has(r.spec.exampleSet.name)))
    .map((r) => ({ name: r.name, version: r.version }));
  const modelNames = new Set(models.map((m) => m.name));
  const deployments = (await meta.listLatest<Deployment>('deployment'))
    .filter((r) => modelNames.has(r.spec.model))
    .map((r) => ({ name: r.name, model: r.spec.model, version: r.spec.version }));
  return { exampleSets, models, deployments };
}

/**
 * Where a view's data comes from and who uses it: lake sources -> view -> feature services
 * naming it, example sets and model versions that read it -> deployments serving those versions.
 */
export async function lineageOf(
  meta: MetadataStore,
  kind: 'feature-view' | 'label-view',
  view: RegistryRecord<FeatureView | LabelView>,
): Promise<Lineage> {
  const sources = await Promise.all(
    (view.spec.sources ?? []).map(async (s) => ({
      name: s,
      path: (await meta.getLatest<DataSource>('data-source', s))?.spec.path ?? '(removed)',
    })),
  );
  const uses = (refs: { name: string }[] | undefined) => (refs ?? []).some((r) => r.name === view.name);
  const consumers = await consumersOf(
    meta,
    (es) => (kind === 'label-view' ? es.labelView.name === view.name : uses(es.featureViews)),
    (m) => uses(m.featureViews),
  );
  const featureServices =
    kind === 'feature-view'
      ? (await meta.listLatest<FeatureService>('feature-service'))
          .filter((r) => r.spec.features.some((f) => viewOf(f) === view.name))
          .map((r) => ({ name: r.name, version: r.version }))
      : [];
  return {
    view: { kind, name: view.name, version: view.version },
    sources,
    entities: view.spec.entities,
    ...consumers,
    featureServices,
  };
}

/**
 * What a feature service reads and who uses it: its feature views (with the features it takes
 * from each) -> the service -> example sets built from it -> models -> deployments.
 */
export async function featureServiceLineage(
  meta: MetadataStore,
  service: RegistryRecord<FeatureService>,
): Promise<FeatureServiceLineage> {
  const byView = new Map<string, string[]>();
  for (const ref of service.spec.features) {
    const [view, feature] = ref.split(':');
    const list = byView.get(view) ?? [];
    byView.set(view, list);
    // A bare view name means every feature of the view, resolved below.
    list.push(feature ?? '*');
  }
  const records = await Promise.all(
    [...byView.keys()].map((name) => meta.getLatest<FeatureView>('feature-view', name)),
  );
  const featureViews = [...byView].map(([name, wanted], i) => {
    const r = records[i];
    const all = wanted.includes('*') ? (r?.spec.features.map((f) => f.name) ?? []) : [];
    return { name, version: r?.version ?? null, features: [...new Set([...all, ...wanted.filter((f) => f !== '*')])] };
  });
  const entities = [...new Set(records.flatMap((r) => r?.spec.entities ?? []))];
  const consumers = await consumersOf(meta, (es) => es.featureService?.name === service.name);
  return {
    service: { kind: 'feature-service', name: service.name, version: service.version },
    featureViews,
    entities,
    ...consumers,
  };
}
