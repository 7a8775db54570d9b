import { problem, ProblemError, type ModelVersion } from '@plinth/schema';
import type { Platform } from '../platform';
import { VersionInUseError } from '../stores/metadata/model-store';
import { artifactKey } from './artifacts';
import { forgetPipeline } from './load';
import { getModelVersion, resolveModelVersion } from './models';

const inUse = (e: unknown) =>
  e instanceof VersionInUseError ? new ProblemError(problem(409, 'Version in use', e.message)) : e;

/**
 * Archives a version: it stays readable and loadable by number (reproducing old predictions),
 * but no alias or new deployment may point at it. Refused (409) while an alias or a running
 * deployment uses it, so archiving never breaks what is serving.
 */
export async function archiveVersion(
  p: Platform,
  name: string,
  version: number,
  reason: string | undefined,
  actor: string,
): Promise<ModelVersion> {
  await resolveModelVersion(p, name, version);
  try {
    await p.meta.models.archive(name, version, actor, reason);
  } catch (e) {
    throw inUse(e);
  }
  await p.meta.audit({ actor, action: 'archive:model', target: `model/${name}@${version}`, detail: { reason } });
  return getModelVersion(p, name, version);
}

export async function unarchiveVersion(
  p: Platform,
  name: string,
  version: number,
  actor: string,
): Promise<ModelVersion> {
  await resolveModelVersion(p, name, version);
  await p.meta.models.unarchive(name, version);
  await p.meta.audit({ actor, action: 'unarchive:model', target: `model/${name}@${version}`, detail: null });
  return getModelVersion(p, name, version);
}

/**
 * Deletes a version: refused (409, naming them) while an alias points at it or a running
 * deployment serves it. Its artifact bytes go only when no other live version of any model
 * uses the same content.
 */
export async function deleteVersion(p: Platform, name: string, version: number, actor: string): Promise<void> {
  const r = await resolveModelVersion(p, name, version);
  try {
    await p.meta.models.deleteVersion(name, version, actor);
  } catch (e) {
    throw inUse(e);
  }
  for (const hash of [r.spec.artifact.sha256, r.spec.manifest?.sha256])
    if (hash && !(await p.meta.models.contentInUse(hash))) {
      await p.objects.delete(artifactKey(hash));
      forgetPipeline(hash);
    }
  await p.meta.audit({ actor, action: 'delete:model', target: `model/${name}@${version}`, detail: null });
}
