import { problem, ProblemError, type ModelVersion } from '@plinth/schema';
import { PipelineSession } from '@plinth/kernel-lib';
import type { Platform } from '../platform';
import { artifactKey, getArtifact } from './artifacts';
import { getModelVersion } from './models';

/** Sessions kept per artifact hash: loading a 500-tree graph costs far more than running it. */
const MAX_SESSIONS = 8;
interface Loaded {
  session: Promise<PipelineSession>;
  /** The object's version (size and mtime, or ETag) when its bytes were last verified. */
  stamp: string | null;
}
const sessions = new Map<string, Loaded>();

/** The object's version stamp, or null when the store cannot tell (then the bytes are re-hashed). */
async function stampOf(p: Platform, hash: string): Promise<string | null> {
  return (await p.objects.stat?.(artifactKey(hash)))?.version ?? null;
}

/**
 * An onnxruntime-node session for a version's artifact, cached by hash. The bytes are verified
 * against the hash when first read and again whenever the stored object changes (a cheap stat
 * per use), so a corrupted object never keeps serving (409).
 */
export async function sessionOf(p: Platform, version: ModelVersion): Promise<PipelineSession> {
  const hash = version.artifact.sha256;
  const cached = sessions.get(hash);
  if (cached) {
    const stamp = await stampOf(p, hash);
    if (stamp === null || stamp !== cached.stamp) {
      try {
        await getArtifact(p.objects, hash);
      } catch (e) {
        forgetPipeline(hash);
        throw e;
      }
      cached.stamp = stamp;
    }
    return cached.session;
  }
  const stamp = await stampOf(p, hash);
  const session = getArtifact(p.objects, hash).then((bytes) => PipelineSession.create(bytes));
  sessions.set(hash, { session, stamp });
  session.catch(() => sessions.delete(hash));
  if (sessions.size > MAX_SESSIONS) forgetPipeline(sessions.keys().next().value!);
  return session;
}

/**
 * Loads a published version (`3`, `latest` or an alias) in the control plane: the artifact is
 * read from the object store, its sha256 verified (409 when it no longer matches), and an
 * onnxruntime-node session created, the same way kernel-lib's `loadPipeline` does.
 */
export async function loadModelPipeline(
  p: Platform,
  name: string,
  ref?: string | number,
): Promise<{ version: ModelVersion; session: PipelineSession }> {
  const version = await getModelVersion(p, name, ref);
  return { version, session: await sessionOf(p, version) };
}

/** Drops the cached session of an artifact (evicted, corrupted or deleted). */
export function forgetPipeline(hash: string): void {
  const loaded = sessions.get(hash);
  sessions.delete(hash);
  void loaded?.session.then((s) => s.dispose()).catch(() => undefined);
}

/**
 * Runs a version on input columns (`{ age: [31, null], country: ['fr', 'de'] }`, null =
 * missing, replaced by the input's default when it declares one) and returns its outputs as JSON arrays. Unknown or missing inputs are a 400 naming them.
 */
export async function predictWithVersion(
  p: Platform,
  name: string,
  ref: string | number | undefined,
  inputs: Record<string, (number | string | boolean | null)[]>,
): Promise<{
  model: string;
  version: number;
  outputs: Record<string, (number | string | null | (number | string | null)[])[]>;
}> {
  const { version, session } = await loadModelPipeline(p, name, ref);
  const errors = [];
  const expected = version.pipeline.inputs;
  for (const i of expected)
    if (!(i.name in inputs)) errors.push({ pointer: `/inputs/${i.name}`, detail: 'is required' });
  for (const k of Object.keys(inputs))
    if (!expected.some((i) => i.name === k))
      errors.push({ pointer: `/inputs/${k}`, detail: `is not an input of ${name}@${version.version}` });
  const lengths = new Set(Object.values(inputs).map((c) => c.length));
  if (lengths.size > 1) errors.push({ pointer: '/inputs', detail: 'every input needs the same number of values' });
  const columns: Record<string, unknown[]> = {};
  for (const i of expected) {
    const col = inputs[i.name];
    if (!col) continue;
    const isString = i.type === 'string';
    columns[i.name] = col.map((v, r) => {
      // Missing values take the input's declared default (cold start), as the inference tier does.
      if (v === null) return i.default ?? (isString ? null : NaN);
      if (isString !== (typeof v === 'string'))
        errors.push({ pointer: `/inputs/${i.name}/${r}`, detail: `must be a ${isString ? 'string' : 'number'}` });
      return typeof v === 'boolean' ? Number(v) : v;
    });
  }
  if (errors.length)
    throw new ProblemError(problem(400, 'Invalid inputs', `inputs of ${name}@${version.version}`, errors));
  const out = await session.runTyped(columns as Parameters<PipelineSession['runTyped']>[0]);
  const outputs: Record<string, (number | string | null | (number | string | null)[])[]> = {};
  const json = (x: number | string) => (typeof x === 'number' && Number.isNaN(x) ? null : x);
  for (const [k, t] of Object.entries(out)) {
    const flat = Array.from(t.data as ArrayLike<number | string>, json);
    // [N, K] outputs (class probabilities, top-k items) come back one row per instance.
    const width = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const n = t.dims[0] ?? 0;
    outputs[k] = t.dims.length > 1 ? Array.from({ length: n }, (_, r) => flat.slice(r * width, (r + 1) * width)) : flat;
  }
  return { model: name, version: version.version, outputs };
}
