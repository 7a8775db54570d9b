import { PlinthClient, type Deployment, type ModelVersion, type PipelineInput } from '@plinth/schema';
import { PipelineSession, servingView, type ServingView } from '@plinth/kernel-lib';
import type { Logger } from 'pino';
import type { ObjectStore } from '../stores/types';
import { getArtifact } from '../repository/artifacts';

/** A deployment ready to serve: its pipeline session and what its inputs read. */
export interface LoadedModel {
  deployment: Deployment;
  model: ModelVersion;
  session: PipelineSession;
  inputs: PipelineInput[];
  views: Map<string, ServingView>;
}

/**
 * Keeps the inference tier's models in step with the control plane's deployments: polls the
 * deployment list and swaps a model in only once it has loaded, so requests never see a
 * half-loaded model and no restart is needed.
 */
export class ModelCache {
  private readonly models = new Map<string, LoadedModel>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  lastError: string | null = null;
  lastRefresh: number | null = null;

  constructor(
    private readonly client: PlinthClient,
    private readonly objects: ObjectStore,
    private readonly log: Logger,
  ) {}

  get(name: string): LoadedModel | undefined {
    return this.models.get(name);
  }

  list(): LoadedModel[] {
    return [...this.models.values()];
  }

  start(pollMs: number): void {
    const tick = async () => {
      await this.refresh();
      this.timer = setTimeout(() => void tick(), pollMs);
    };
    void tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    try {
      const { items } = await this.client.listDeployments();
      const wanted = new Set(items.map((d) => d.name));
      for (const d of items) {
        const cur = this.models.get(d.name);
        if (cur && cur.model.name === d.model && cur.model.version === d.version) continue;
        try {
          this.models.set(d.name, await this.load(d));
          this.log.info({ deployment: d.name, model: d.model, version: d.version }, 'model loaded');
        } catch (e) {
          this.log.error({ err: e, deployment: d.name }, 'model failed to load; keeping the previous one');
        }
      }
      for (const name of this.models.keys()) if (!wanted.has(name)) this.models.delete(name);
      this.lastError = null;
      this.lastRefresh = Date.now();
    } catch (e) {
      this.lastError = (e as Error).message;
      this.log.warn({ err: e }, 'cannot reach the control plane for deployments');
    }
  }

  private async load(d: Deployment): Promise<LoadedModel> {
    const model = await this.client.getModelVersion(d.model, d.version);
    const bytes = await getArtifact(this.objects, model.artifact.sha256);
    const session = await PipelineSession.create(bytes);
    const views = new Map<string, ServingView>();
    for (const input of model.pipeline.inputs) {
      if (input.source.kind !== 'online' || views.has(input.source.view)) continue;
      const fv = await this.client.getFeatureView(input.source.view);
      const entities = await Promise.all(fv.spec.entities.map(async (e) => (await this.client.getEntity(e)).spec));
      views.set(fv.name, servingView(fv.spec, entities));
    }
    return { deployment: d, model, session, inputs: model.pipeline.inputs, views };
  }
}
