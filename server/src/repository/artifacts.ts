import { problem, ProblemError } from '@plinth/schema';
import type { ObjectStore } from '../stores/types';
import { sha256 } from '../util/hash';

/** Artifacts are content-addressed: the key is the sha256 of the bytes, checked on write and read. */
export const artifactKey = (hash: string) => `artifacts/sha256/${hash.slice(0, 2)}/${hash}`;

export async function putArtifact(
  objects: ObjectStore,
  expected: string,
  bytes: Uint8Array,
): Promise<{ sha256: string; bytes: number; created: boolean }> {
  if (!/^[0-9a-f]{64}$/.test(expected)) {
    throw new ProblemError(
      problem(400, 'Invalid artifact', 'the path must end in the lower-case hex sha256 of the body', [
        { pointer: '/sha256', detail: 'not a sha256' },
      ]),
    );
  }
  if (bytes.length === 0) throw new ProblemError(problem(400, 'Invalid artifact', 'the body is empty'));
  const actual = sha256(bytes);
  if (actual !== expected) {
    throw new ProblemError(
      problem(400, 'Artifact hash mismatch', `the body's sha256 is ${actual}, not ${expected}`, [
        { pointer: '/sha256', detail: 'does not match the body' },
      ]),
    );
  }
  const key = artifactKey(actual);
  const exists = await objects.exists(key);
  if (!exists) await objects.put(key, bytes);
  return { sha256: actual, bytes: bytes.length, created: !exists };
}

/** Reads an artifact and verifies its hash, so a corrupted object is never served. */
export async function getArtifact(objects: ObjectStore, hash: string): Promise<Buffer> {
  const key = artifactKey(hash);
  if (!(await objects.exists(key)))
    throw new ProblemError(problem(404, 'Artifact missing', `artifact sha256:${hash} is not in the object store`));
  const bytes = await objects.get(key);
  const actual = sha256(bytes);
  if (actual !== hash)
    throw new ProblemError(problem(409, 'Artifact corrupted', `artifact sha256:${hash} now hashes to ${actual}`));
  return bytes;
}
