import crypto from 'node:crypto';
import type { Deployment } from '@plinth/schema';
import type { MetadataStore } from '../stores/types';

/**
 * Tells the inference tier about deployment changes as they happen: a long poll answers as
 * soon as this control plane commits a change. The revision is derived from the stored
 * records, so a change made through another control-plane replica is seen by the next poll.
 */
export class DeploymentWatch {
  private waiters = new Set<() => void>();
  /** Set at shutdown: answers released then must close their connection (see the route). */
  closing = false;

  constructor(private readonly meta: MetadataStore) {}

  /** The current deployments and a revision that changes whenever any of them does. */
  async snapshot(): Promise<{ items: Deployment[]; revision: string }> {
    const records = await this.meta.listLatest<Deployment>('deployment');
    const revision = crypto
      .createHash('sha256')
      .update(records.map((r) => `${r.name}@${r.version}`).join(','))
      .digest('hex')
      .slice(0, 16);
    return { items: records.map((r) => r.spec), revision };
  }

  /** Answers when the revision differs from `since`, or after `waitMs` either way. */
  async wait(since: string, waitMs: number): Promise<{ items: Deployment[]; revision: string }> {
    const now = await this.snapshot();
    if (now.revision !== since || waitMs <= 0) return now;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.waiters.add(done);
    });
    return this.snapshot();
  }

  changed(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Releases every waiting poll (shutdown: nothing may hold the server open). */
  close(): void {
    this.closing = true;
    this.changed();
  }
}
