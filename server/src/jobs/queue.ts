import type { JobPatch, JobRecord, MetadataStore, ObjectStore, OnlineStore } from '../stores/types';

/** Where a job runner gets work: the metadata store in the control plane, or its HTTP API in a worker. */
export interface JobQueue {
  lease(owner: string, kinds: string[], leaseSeconds: number): Promise<JobRecord | null>;
  /** Keeps a long job's lease alive; false when it was lost. */
  renew(id: string, owner: string, leaseSeconds: number): Promise<boolean>;
  update(id: string, patch: JobPatch): Promise<void>;
  log(id: string, line: string): Promise<void>;
}

/**
 * What job handlers may touch. The control plane's Platform is one; a worker builds one whose
 * metadata reads and writes go through the control plane's API (only the control plane opens
 * the metadata store), while it reads the lake and writes the object and online stores itself.
 */
export interface JobEnv {
  config: { lakeDir: string };
  objects: ObjectStore;
  online: OnlineStore;
  /** `getVersion` reads the pinned model and example-set versions a batch inference scores. */
  meta: Pick<MetadataStore, 'getLatest' | 'getVersion' | 'putVersion'>;
}

export function localQueue(meta: MetadataStore): JobQueue {
  return {
    lease: (owner, kinds, leaseSeconds) => meta.leaseJob(owner, kinds, leaseSeconds),
    renew: (id, owner, leaseSeconds) => meta.renewLease(id, owner, leaseSeconds),
    update: async (id, patch) => {
      await meta.updateJob(id, patch);
    },
    log: (id, line) => meta.appendJobLog(id, line),
  };
}
