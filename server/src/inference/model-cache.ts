import {
  PlinthClient,
  problem,
  ProblemError,
  type Deployment,
  type ModelVersion,
  type PipelineInput,
} from '@plinth/schema';
import { PipelineSession, servingView, type ServingView } from '@plinth/kernel-lib';
import type { Logger } from 'pino';
import type { ObjectStore, OnlineStore } from '../stores/types';
import { getArtifact } from '../repository/artifacts';
import { MicroBatcher, type BatchOptions } from './batcher';
import type { InferenceMetrics } from './metrics';
import { replayReferenceExamples, type SanityResult } from './sanity';
import { scoreInstances } from './score';

/** One model version ready to serve: its session, what its inputs read, and its batcher. */
export interface LoadedModel {
  model: ModelVersion;
  session: PipelineSession;
  inputs: PipelineInput[];
  /** Names of the inputs read from the online store. */
  onlineInputNames: string[];
  views: Map<string, ServingView>;
  batcher: MicroBatcher;
}

/** A deployment as served: the version answering requests, and its canary and shadow if any. */
export interface ServedDeployment {
  deployment: Deployment;
  primary: LoadedModel;
  canary?: { model: LoadedModel; share: number };
  shadow?: LoadedModel;
}

/** What the tier found when asked to verify a version before a deploy switches to it. */
export interface VerifyResult {
  model: string;
  version: number;
  sanity: SanityResult;
  /** Entities the tier's online store holds for each view the version reads. */
  views: { view: string; entities: number }[];
}

const versionKey = (model: string, version: number) => `${model}@${version}`;
/** A version verified for an upcoming deploy stays loaded this long even before it serves. */
const STAGED_MS = 10 * 60_000;

/**
 * Keeps the inference tier's models in step with the control plane's deployments. It long-polls
 * the control plane (notified within milliseconds of a deploy) and also polls as a fallback;
 * a version is swapped in only once it has loaded, so requests never see a half-loaded model
 * and no restart is needed. Versions are shared between deployments and loaded once.
 */
export class ModelCache {
  private readonly served = new Map<string, ServedDeployment>();
  private readonly versions = new Map<string, { loading: Promise<LoadedModel>; usedAt: number }>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = false;
  /** The deployments' revision last applied from the watch ('none': nothing yet, so the first watch answers at once). */
  private revision = 'none';
  lastError: string | null = null;
  lastRefresh: number | null = null;

  constructor(
    private readonly client: PlinthClient,
    private readonly objects: ObjectStore,
    private readonly online: OnlineStore,
    private readonly metrics: InferenceMetrics,
    private readonly log: Logger,
    private readonly batchOptions: BatchOptions = {},
  ) {}

  get(name: string): ServedDeployment | undefined {
    return this.served.get(name);
  }

  /** The served deployment, looking once more at the control plane for one deployed a moment ago; else a 404. */
  async require(name: string): Promise<ServedDeployment> {
    let s = this.served.get(name);
    if (!s) {
      await this.refresh();
      s = this.served.get(name);
    }
    if (!s) throw new ProblemError(problem(404, 'Unknown deployment', `no deployment named '${name}' is loaded`));
    return s;
  }

  list(): ServedDeployment[] {
    return [...this.served.values()];
  }

  /** Follows deployments: a long-poll watch, and a poll every `pollMs` in case notifications are lost. */
  start(pollMs: number): void {
    const tick = async () => {
      await this.refresh();
      if (!this.stopped) this.timer = setTimeout(() => void tick(), pollMs);
    };
    void tick();
    void this.watch();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Resolves once every model's queued and running batches are done. */
  async drained(): Promise<void> {
    await Promise.all(
      [...this.versions.values()].map(async (v) => (await v.loading.catch(() => null))?.batcher.drained()),
    );
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.client
      .listDeployments()
      .then(({ items }) => this.apply(items))
      .catch((e: unknown) => {
        this.lastError = (e as Error).message;
        this.log.warn({ err: e }, 'cannot reach the control plane for deployments');
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async watch(): Promise<void> {
    while (!this.stopped) {
      try {
        const r = await this.client.watchDeployments(this.revision, 20);
        if (this.stopped) return;
        if (typeof r.revision !== 'string') throw new Error('the control plane does not support watching deployments');
        if (r.revision !== this.revision) {
          this.revision = r.revision;
          await this.apply(r.items);
        }
      } catch {
        // The control plane is away (restarting, or older): polling carries on meanwhile.
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  private async apply(items: Deployment[]): Promise<void> {
    const wanted = new Set(items.map((d) => d.name));
    for (const d of items) {
      const cur = this.served.get(d.name);
      if (cur && sameTraffic(cur.deployment, d)) continue;
      try {
        const [primary, canary, shadow] = await Promise.all([
          this.loadVersion(d.model, d.version),
          d.canary ? this.loadVersion(d.model, d.canary.version) : undefined,
          d.shadow ? this.loadVersion(d.model, d.shadow.version) : undefined,
        ]);
        // One assignment: a request sees the old traffic split or the new one, never a mix.
        this.served.set(d.name, {
          deployment: d,
          primary,
          ...(canary && d.canary ? { canary: { model: canary, share: d.canary.share } } : {}),
          ...(shadow ? { shadow } : {}),
        });
        this.log.info(
          { deployment: d.name, model: d.model, version: d.version, canary: d.canary, shadow: d.shadow },
          'deployment loaded',
        );
      } catch (e) {
        this.log.error({ err: e, deployment: d.name }, 'model failed to load; keeping the previous one');
      }
    }
    for (const name of this.served.keys()) if (!wanted.has(name)) this.served.delete(name);
    this.unloadUnused();
    this.lastError = null;
    this.lastRefresh = Date.now();
  }

  /** Loads (once) the version a deployment, canary, shadow or verification needs. */
  loadVersion(model: string, version: number): Promise<LoadedModel> {
    const key = versionKey(model, version);
    const cur = this.versions.get(key);
    if (cur) {
      cur.usedAt = Date.now();
      return cur.loading;
    }
    const loading = this.load(model, version);
    this.versions.set(key, { loading, usedAt: Date.now() });
    loading.catch(() => this.versions.delete(key));
    return loading;
  }

  /**
   * The deploy-time check, run where the version will serve: load it as serving would, replay
   * its reference examples, and count what the online store holds for each view it reads.
   * The version stays loaded, so the switch that follows is instant.
   */
  async verify(model: string, version: number): Promise<VerifyResult> {
    const m = await this.loadVersion(model, version);
    const sanity = await replayReferenceExamples(m.session, m.model.referenceExamples);
    const views = await Promise.all(
      [...m.views.keys()].map(async (view) => ({ view, entities: (await this.online.size(view)).entities })),
    );
    return { model, version, sanity, views };
  }

  private unloadUnused(): void {
    const used = new Set<string>();
    for (const s of this.served.values())
      for (const m of [s.primary, s.canary?.model, s.shadow])
        if (m) used.add(versionKey(m.model.name, m.model.version));
    for (const [key, v] of this.versions) {
      if (used.has(key) || Date.now() - v.usedAt < STAGED_MS) continue;
      this.versions.delete(key);
      void v.loading.then(async (m) => {
        await m.batcher.drained();
        await m.session.dispose();
      });
    }
    this.metrics.modelsLoaded.set(this.versions.size);
  }

  private async load(name: string, version: number): Promise<LoadedModel> {
    const model = await this.client.getModelVersion(name, version);
    const bytes = await getArtifact(this.objects, model.artifact.sha256);
    const session = await PipelineSession.create(bytes);
    const views = new Map<string, ServingView>();
    for (const input of model.pipeline.inputs) {
      if (input.source.kind !== 'online' || views.has(input.source.view)) continue;
      const fv = await this.client.getFeatureView(input.source.view);
      const entities = await Promise.all(fv.spec.entities.map(async (e) => (await this.client.getEntity(e)).spec));
      views.set(fv.name, servingView(fv.spec, entities));
    }
    const labels = { model: name, version: String(version) };
    const m: LoadedModel = {
      model,
      session,
      inputs: model.pipeline.inputs,
      onlineInputNames: model.pipeline.inputs.filter((i) => i.source.kind === 'online').map((i) => i.name),
      views,
      batcher: undefined as unknown as MicroBatcher,
    };
    m.batcher = new MicroBatcher(
      (instances) => scoreInstances(m, this.online, instances),
      (size) => this.metrics.batchSize.observe(labels, size),
      this.batchOptions,
    );
    this.metrics.modelsLoaded.set(this.versions.size);
    return m;
  }
}

function sameTraffic(a: Deployment, b: Deployment): boolean {
  return (
    a.model === b.model &&
    a.version === b.version &&
    a.canary?.version === b.canary?.version &&
    a.canary?.share === b.canary?.share &&
    a.shadow?.version === b.shadow?.version
  );
}
