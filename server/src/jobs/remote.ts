import { PlinthClient, ProblemError, registryKinds, type Job } from '@plinth/schema';
import type { JobRecord, RegistryRecord } from '../stores/types';
import type { JobEnv, JobQueue } from './queue';

const pluralOf = new Map<string, string>(Object.entries(registryKinds).map(([plural, k]) => [k.kind, plural]));

/** The job queue of a control plane, over its HTTP API. */
export function remoteQueue(client: PlinthClient): JobQueue {
  return {
    lease: async (owner, kinds, leaseSeconds) => {
      const job = await client.request<Job | undefined>('POST', 'api/v1/jobs/lease', { owner, kinds, leaseSeconds });
      return (job ?? null) as JobRecord | null;
    },
    renew: async (id, owner, leaseSeconds) => {
      const r = await client.request<{ renewed: boolean }>('POST', `api/v1/jobs/${encodeURIComponent(id)}/lease`, {
        owner,
        leaseSeconds,
      });
      return r.renewed;
    },
    update: async (id, patch) => {
      await client.request('PATCH', `api/v1/jobs/${encodeURIComponent(id)}`, patch);
    },
    log: async (id, line) => {
      await client.request('POST', `api/v1/jobs/${encodeURIComponent(id)}/logs`, { lines: [line] });
    },
  };
}

/** Registry reads and example-set registration through the control plane's API. */
export function remoteMeta(client: PlinthClient): JobEnv['meta'] {
  return {
    async getLatest<T>(kind: string, name: string): Promise<RegistryRecord<T> | null> {
      const plural = pluralOf.get(kind);
      if (!plural) throw new Error(`a worker cannot read '${kind}' documents`);
      try {
        const r = await client.request<Omit<RegistryRecord<T>, 'kind' | 'specHash' | 'deletedAt'>>(
          'GET',
          `api/v1/${plural}/${encodeURIComponent(name)}`,
        );
        return { ...r, kind, specHash: '', deletedAt: null };
      } catch (e) {
        if (e instanceof ProblemError && e.status === 404) return null;
        throw e;
      }
    },
    /** Only what jobs pin by number: model versions and example-set versions (null when absent or deleted). */
    async getVersion<T>(kind: string, name: string, version: number): Promise<RegistryRecord<T> | null> {
      const path =
        kind === 'model'
          ? `api/v1/models/${encodeURIComponent(name)}/versions/${version}`
          : kind === 'example-set'
            ? `api/v1/example-sets/${encodeURIComponent(name)}?version=${version}`
            : null;
      if (!path) throw new Error(`a worker cannot read '${kind}' versions`);
      try {
        // Both routes answer the document itself: a superset of what the registry stores.
        const doc = await client.request<T & { createdAt?: string; createdBy?: string }>('GET', path);
        return {
          kind,
          name,
          version,
          spec: doc,
          specHash: '',
          createdAt: doc.createdAt ?? '',
          createdBy: doc.createdBy ?? '',
          deletedAt: null,
        };
      } catch (e) {
        if (e instanceof ProblemError && e.status === 404) return null;
        throw e;
      }
    },
    async putVersion<T>(kind: string, name: string, spec: T): Promise<{ record: RegistryRecord<T>; created: boolean }> {
      if (kind !== 'example-set') throw new Error(`a worker cannot write '${kind}' documents`);
      const r = await client.request<{ version: number; createdAt: string; createdBy: string }>(
        'POST',
        `api/v1/example-sets/${encodeURIComponent(name)}/versions`,
        spec,
      );
      return {
        record: {
          kind,
          name,
          version: r.version,
          spec,
          specHash: '',
          createdAt: r.createdAt,
          createdBy: r.createdBy,
          deletedAt: null,
        },
        created: true,
      };
    },
  };
}
